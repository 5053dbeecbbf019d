"""Allure at session end: environment page, categories in the military voice, figure trends, redaction.

``environment.properties`` carries the verdict, DEFCON, commit, target (credentials removed), image tags, the
Kubernetes and Prometheus versions, profile, environment and the generator's CPU count. Each result is put in a
category from the record's typed outcome (its findings and the error's class, never the message text): a
``artemis-category: SLUG`` line is added to the result's trace and ``categories.json`` matches that line.
``history/`` gets the history store's figures per scenario (``artemis-trends.json``) and Allure's own
``history-trend.json`` built from them, so the report shows trends across runs. Finally :func:`redact_results`
redacts what allure-pytest wrote on its own this session.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from pytest_artemis import theme
from pytest_artemis.record import SessionRecord, TestOutcome
from pytest_artemis.redact import redact, redact_data
from pytest_artemis.reporting.allure import NODEID_LABEL

__all__ = ["CATEGORIES", "category_of", "redact_results", "write_session_files"]

#: slug -> category name, in the order Allure tries them.
CATEGORIES: dict[str, str] = {
    "slo-breach": "Mission Failure: SLO breach",
    "threat": "Threat Detected: policy or security finding",
    "comms-down": "Comms Down: infrastructure unreachable",
    "invalid-exercise": "Invalid Exercise: generator saturated or no data",
    "friendly-fire": "Friendly Fire: test defect",
}
_COMMS = ("ServiceError", "ServiceStartError", "TargetUnreachableError", "PrometheusError",
          "PrometheusUnavailableError", "ConnectError", "ConnectionError")
_INVALID = ("RunInvalidError", "GeneratorSaturatedError", "InconclusiveError")


def category_of(test: TestOutcome) -> str | None:
    """The category slug of a failed or errored test, from its findings and its error's class; None otherwise."""
    if test.outcome not in ("failed", "error"):
        return None
    error = test.message.split(":", 1)[0].rsplit(".", 1)[-1].strip()
    if error in _INVALID or any(f.status == "inconclusive" for f in test.findings):
        return "invalid-exercise"
    if error in _COMMS:
        return "comms-down"
    if any(f.status == "fail" and f.measured for f in test.findings):
        return "slo-breach"
    if any(f.problem for f in test.findings):
        return "threat"
    return "friendly-fire"


def write_session_files(directory: Path, record: SessionRecord) -> None:
    """environment.properties, categories.json, the trends under history/, category lines, then redaction."""
    directory.mkdir(parents=True, exist_ok=True)
    text = "\n".join(f"{k}={_escape(redact(str(v)))}" for k, v in _environment(record).items()) + "\n"
    (directory / "environment.properties").write_text(text, encoding="utf-8")
    categories = [{"name": name, "matchedStatuses": ["failed", "broken"],
                   "traceRegex": f"(?s).*artemis-category: {slug}\\b.*"} for slug, name in CATEGORIES.items()]
    (directory / "categories.json").write_text(json.dumps(categories, indent=2), encoding="utf-8")
    _mark_categories(directory, record)
    _write_trends(directory, record)
    redact_results(directory, since=record.started - 1.0)  # what allure-pytest wrote on its own this session


def _environment(record: SessionRecord) -> dict[str, Any]:
    level, cfg = record.defcon, record.config
    props: dict[str, Any] = {
        "Mission.Verdict": record.verdict,
        "Mission.DEFCON": f"{level} ({theme.DEFCON_NAMES[level]})",
        "Mission.Status": record.status,
        "Commit": _commit(Path(str(cfg.get("rootdir") or "."))),
        "Target": cfg.get("target") or "bundled reference service",
        "Profile": cfg.get("profile"),
        "Environment": cfg.get("environment"),
        "Kubernetes.Version": cfg.get("k8s_version"),
        "Prometheus.Version": _prometheus_version(cfg),
        "Generator.CPUs": os.cpu_count(),
    }
    images = _image_tags(cfg.get("manifests") or [])
    if images:
        props["Images"] = ", ".join(images)
    for summary in record.summaries().values():
        props[f"Gate.{summary.gate}"] = (f"{summary.verdict}: {summary.passed} passed, {summary.failed} failed, "
                                         f"{summary.error} error, {summary.skipped} skipped")
    for key, value in cfg.items():
        if value not in (None, [], "") and key not in ("from_cli", "given"):
            props[f"Config.{key}"] = value
    return {k: v for k, v in props.items() if v not in (None, "")}


def _commit(root: Path) -> str:
    for name in ("GITHUB_SHA", "CI_COMMIT_SHA"):
        if os.environ.get(name):
            return os.environ[name]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5,
                              check=False)
        if done.returncode == 0:
            return done.stdout.strip()
    return "unknown (not a git checkout)"


def _prometheus_version(cfg: dict[str, Any]) -> str:
    if cfg.get("prometheus"):
        return "external"
    binary = cfg.get("prometheus_bin") or shutil.which("prometheus")
    if not binary:
        return ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=5, check=False)
        first = (done.stdout or done.stderr).splitlines()
        return first[0].strip() if first else ""
    return ""


def _image_tags(paths: list[str]) -> list[str]:
    """``name:tag`` (or ``@digest``) of the ``images:`` of every kustomization under the manifest paths."""
    out: set[str] = set()
    for root in map(Path, paths):
        files = [root] if root.is_file() else sorted(root.rglob("kustomization.y*ml")) if root.is_dir() else []
        for file in files:
            with contextlib.suppress(OSError, yaml.YAMLError):
                doc = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
                for image in doc.get("images") or [] if isinstance(doc, dict) else []:
                    if isinstance(image, dict) and image.get("name"):
                        ref = image.get("digest") and f"@{image['digest']}" or f":{image.get('newTag', 'latest')}"
                        out.add(f"{image.get('newName') or image['name']}{ref}")
    return sorted(out)


def _results(directory: Path) -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for path in sorted(directory.glob("*-result.json")):
        with contextlib.suppress(OSError, ValueError):
            out.append((path, json.loads(path.read_text(encoding="utf-8"))))
    return out


def _mark_categories(directory: Path, record: SessionRecord) -> None:
    """Add ``artemis-category: SLUG`` to the trace of each failed or broken result the record can place."""
    by_nodeid = {redact(t.nodeid): t for t in record.tests.values()}
    for path, result in _results(directory):
        nodeid = next((label.get("value") for label in result.get("labels", []) if label.get("name") == NODEID_LABEL),
                      None)
        test = by_nodeid.get(str(nodeid)) if nodeid else _by_name(result, record)
        slug = category_of(test) if test is not None else None
        if slug is None or result.get("status") not in ("failed", "broken"):
            continue
        details = result.setdefault("statusDetails", {})
        details["trace"] = f"artemis-category: {slug}\n" + str(details.get("trace") or "")
        path.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


def _by_name(result: dict[str, Any], record: SessionRecord) -> TestOutcome | None:
    """A result without the label (an error in setup): the test whose id ends with the result's name."""
    name = str(result.get("name") or "")
    found = [t for t in record.tests.values() if name and t.nodeid.endswith("::" + name)]
    return found[0] if len(found) == 1 else None


def _write_trends(directory: Path, record: SessionRecord) -> None:
    """The history store's runs per scenario into history/: figures and Allure's pass/fail trend from them."""
    history = Path(str(record.config.get("history") or ""))
    if not history.is_dir():
        return
    trends: dict[str, list[dict[str, Any]]] = {}
    for file in sorted(history.glob("*.json")):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            runs = json.loads(file.read_text(encoding="utf-8")).get("runs", [])
            trends[file.stem] = [{k: r.get(k) for k in ("time", "green", "p95_ms", "p99_ms", "rps",
                                                         "error_rate_percent", "requests")} for r in runs[-20:]]
    if not trends:
        return
    target = directory / "history"
    target.mkdir(exist_ok=True)
    (target / "artemis-trends.json").write_text(json.dumps(redact_data(trends), indent=2), encoding="utf-8")
    times = sorted({r["time"] for runs in trends.values() for r in runs if r.get("time")})[-20:]
    trend = []
    for order, moment in enumerate(reversed(times), start=1):
        runs = [r for rs in trends.values() for r in rs if r.get("time") == moment]
        passed = sum(1 for r in runs if r.get("green"))
        trend.append({"buildOrder": len(times) - order + 1, "reportName": "artemis history",
                      "data": {"passed": passed, "failed": len(runs) - passed, "broken": 0, "skipped": 0,
                               "unknown": 0, "total": len(runs)}})
    (target / "history-trend.json").write_text(json.dumps(trend, indent=2), encoding="utf-8")


def redact_results(directory: Path, since: float = 0.0) -> list[Path]:
    """Redact in place what allure-pytest wrote into ``directory`` (files modified at or after ``since``).

    allure-pytest copies the exception message and traceback of a failing test into the result's
    ``statusDetails``, parametrize values into ``parameters`` and captured output into attachments, none of it
    through the plugin. JSON files (results, containers) are parsed and redacted value by value, so an escaped
    form cannot hide a secret; other UTF-8 files as text; binary attachments are left alone. Returns the files
    rewritten (atomically).
    """
    rewritten: list[Path] = []
    for path in sorted(directory.iterdir()):
        try:
            if not path.is_file() or path.stat().st_mtime < since:
                continue
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        cleaned = redact(text)
        if path.suffix == ".json":
            try:
                data = json.loads(text)
            except ValueError:
                pass
            else:
                cleaned_data = redact_data(data)
                cleaned = text if cleaned_data == data else json.dumps(cleaned_data, ensure_ascii=False)
        if cleaned == text:
            continue
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(cleaned, encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            continue
        rewritten.append(path)
    return rewritten


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("=", "\\=").replace(":", "\\:")
