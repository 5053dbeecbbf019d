"""Allure reporting: labels, figures and findings per test, and the mission's environment page.

Active only when allure-pytest writes results (``--alluredir``) and the session uses the plugin. Per
test, the gate family's title becomes the Allure feature under the epic "Artemis Command Center", every
measured figure a parameter, the failing check ids tags, and the findings (typed, from the record's own
shape) are attached as JSON and as text. At session end ``environment.properties`` carries the verdict,
the DEFCON level and the config in force, and ``categories.json`` sorts results by status: failed gates
(NO-GO) and runs that could not be judged (invalid, inconclusive: Allure's "broken"). Everything written
passes through :func:`~pytest_artemis.redact.redact`: attached text artifacts are attached as redacted
text, and at session end :func:`redact_results` redacts what allure-pytest wrote itself this session (a
failing test's message and traceback, parametrize values, captured output).
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import os
from pathlib import Path
from typing import Any

from pytest_artemis import theme
from pytest_artemis.families import BY_NAME
from pytest_artemis.findings import SEVERITY_RANK, format_findings
from pytest_artemis.record import USER_PROPERTY, SessionRecord, attached_findings
from pytest_artemis.redact import redact, redact_data

__all__ = ["alluredir", "publish_item", "redact_results", "write_session_files"]

_SEVERITY = {"critical": "CRITICAL", "warning": "NORMAL", "info": "MINOR"}


def alluredir(config: Any) -> Path | None:
    """The allure results directory of the session, or None when Allure is off."""
    value = getattr(config.option, "allure_report_dir", None)
    return Path(value) if value else None


def publish_item(item: Any, gate: str) -> None:
    """Label the running test and attach what it recorded so far."""
    import allure

    allure.dynamic.epic(theme.TITLE)
    allure.dynamic.feature(BY_NAME[gate].title if gate in BY_NAME else gate)
    findings = attached_findings(item.user_properties)
    for f in findings:
        if f.measured:
            name = " ".join(p for p in (f.scenario, f.endpoint, f.figure) if p)
            limit = f" ({f.comparison} {f.shown_limit()})" if f.limit is not None else ""
            allure.dynamic.parameter(redact(name), redact(f"{f.shown_value()}{limit} {f.status}"))
    problems = [f for f in findings if f.problem]
    if problems:
        worst = max(problems, key=lambda f: SEVERITY_RANK[f.severity]).severity
        allure.dynamic.severity(getattr(allure.severity_level, _SEVERITY[worst]))
        allure.dynamic.tag(*sorted({f.check for f in problems}))
        allure.attach(redact(format_findings(problems)), name="findings", attachment_type=allure.attachment_type.TEXT)
    if findings:
        allure.attach(json.dumps(redact_data([f.as_dict() for f in findings]), indent=2, default=str),
                      name="results", attachment_type=allure.attachment_type.JSON)
    for name, payload in item.user_properties:
        artifact = payload.get("artifact") if name == USER_PROPERTY else None
        if artifact and Path(artifact["path"]).is_file():
            _attach_artifact(Path(artifact["path"]), redact(artifact["name"]))


def _attach_artifact(path: Path, name: str) -> None:
    """Attach a file: a text file (UTF-8) as its redacted text, any other as it is."""
    import allure

    mime = mimetypes.guess_type(str(path))[0] or "application/octet-stream"
    extension = path.suffix.lstrip(".") or None
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:  # binary (a chart): no text to show a secret in
        allure.attach.file(str(path), name=name, attachment_type=mime, extension=extension)
        return
    except OSError:
        return
    if mime == "application/octet-stream":
        mime = "text/plain"
    allure.attach(redact(text), name=name, attachment_type=mime, extension=extension)


def write_session_files(directory: Path, record: SessionRecord) -> None:
    """Write environment.properties and categories.json into the allure results directory."""
    directory.mkdir(parents=True, exist_ok=True)
    level = record.defcon
    props = {
        "Mission.Verdict": record.verdict,
        "Mission.DEFCON": f"{level} ({theme.DEFCON_NAMES[level]})",
        "Mission.Status": record.status,
    }
    for summary in record.summaries().values():
        props[f"Gate.{summary.gate}"] = (f"{summary.verdict}: {summary.passed} passed, {summary.failed} failed, "
                                         f"{summary.error} error, {summary.skipped} skipped")
    for key, value in record.config.items():
        if value not in (None, [], ""):
            props[f"Config.{key}"] = str(value)
    text = "\n".join(f"{k}={_escape(redact(v))}" for k, v in props.items()) + "\n"
    (directory / "environment.properties").write_text(text, encoding="utf-8")
    categories = [
        {"name": "Gates broken (NO-GO)", "matchedStatuses": ["failed"]},
        {"name": "Not judged: invalid run, inconclusive gate or infrastructure problem (NO-GO)",
         "matchedStatuses": ["broken"]},
    ]
    (directory / "categories.json").write_text(json.dumps(categories, indent=2), encoding="utf-8")
    redact_results(directory, since=record.started - 1.0)  # what allure-pytest wrote on its own this session


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
