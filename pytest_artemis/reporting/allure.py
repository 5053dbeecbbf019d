"""Allure per test: labels, steps, figures, findings and artifacts of the running test.

Active only when allure-pytest writes results (``--alluredir``) and the session uses the plugin. Epic = the
gate family's title (the theme's words), feature = the scenario or check area, story = the object or endpoint,
severity from the findings, tags from the markers and the failing check ids; one step per judged figure
(figure, limit, verdict); the findings (typed, from the record's own shape) as text and JSON; the Prometheus
queries a check used; every artifact (charts, Locust CSV and HTML, time series), text ones redacted. The
session's files (environment, categories, trends, redaction of what allure-pytest wrote) are
:mod:`pytest_artemis.reporting.allure_session`'s.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

from pytest_artemis.checks.registry import REGISTRY
from pytest_artemis.families import BY_NAME
from pytest_artemis.findings import SEVERITY_RANK, Finding, format_findings
from pytest_artemis.record import USER_PROPERTY, attached_findings
from pytest_artemis.redact import redact, redact_data

__all__ = ["NODEID_LABEL", "alluredir", "publish_item"]

_SEVERITY = {"critical": "CRITICAL", "warning": "NORMAL", "info": "MINOR"}


def alluredir(config: Any) -> Path | None:
    """The allure results directory of the session, or None when Allure is off."""
    value = getattr(config.option, "allure_report_dir", None)
    return Path(value) if value else None


def publish_item(item: Any, gate: str) -> None:
    """Label the running test and attach what it recorded so far: epic = the gate family in the theme's words,
    feature = the scenario or check area, story = the object or endpoint, severity from the findings, tags from
    the markers; one step per judged figure (figure, limit, verdict)."""
    import allure

    findings = attached_findings(item.user_properties)
    family = BY_NAME.get(gate)
    allure.dynamic.epic(family.title if family is not None else gate)
    allure.dynamic.feature(_feature(findings, gate))
    problems = [f for f in findings if f.problem]
    story = next((f.obj for f in problems + findings if f.obj), "")
    if story:
        allure.dynamic.story(redact(story))
    allure.dynamic.label(NODEID_LABEL, redact(item.nodeid))
    tags = sorted({m.name for m in item.iter_markers() if m.name not in ("parametrize", "usefixtures")})
    if tags:
        allure.dynamic.tag(*tags)
    judged = problems or [f for f in findings if f.status in ("pass", "fail")]
    worst: str | None = max((f.severity for f in judged), key=lambda s: SEVERITY_RANK[s]) if judged else None
    if worst is not None:
        allure.dynamic.severity(getattr(allure.severity_level, _SEVERITY[worst]))
    for f in findings:
        if f.measured:
            name = " ".join(p for p in (f.scenario, f.endpoint, f.figure) if p)
            limit = f" ({f.comparison} {f.shown_limit()})" if f.limit is not None else ""
            allure.dynamic.parameter(redact(name), redact(f"{f.shown_value()}{limit} {f.status}"))
            if f.status in ("pass", "fail", "inconclusive"):
                _step(f"{name}: {f.shown_value()}{limit}: {f.status}", f.status, f.message)
    if problems:
        allure.dynamic.tag(*sorted({f.check for f in problems}))
        allure.attach(redact(format_findings(problems)), name="findings", attachment_type=allure.attachment_type.TEXT)
    if findings:
        allure.attach(json.dumps(redact_data([f.as_dict() for f in findings]), indent=2, default=str),
                      name="results", attachment_type=allure.attachment_type.JSON)
    queries = [f.details for f in findings if isinstance(f.details, dict) and "query" in f.details]
    if queries:
        allure.attach(json.dumps(redact_data(queries), indent=2, default=str), name="prometheus queries",
                      attachment_type=allure.attachment_type.JSON)
    for name, payload in item.user_properties:
        artifact = payload.get("artifact") if name == USER_PROPERTY else None
        if artifact and Path(artifact["path"]).is_file():
            _attach_artifact(Path(artifact["path"]), redact(artifact["name"]))


#: The label that ties an Allure result to the record's test (the session files read it back).
NODEID_LABEL = "artemis_nodeid"


def _feature(findings: list[Finding], gate: str) -> str:
    scenario = next((f.scenario for f in findings if f.scenario), "")
    if scenario:
        return f"scenario {scenario}"
    areas = {REGISTRY[f.check].area for f in findings if f.check in REGISTRY}
    return ", ".join(sorted(areas)) or gate


def _step(title: str, status: str, message: str) -> None:
    """One Allure step whose status is the figure's verdict (a failed step carries the finding's message)."""
    import allure

    try:
        with allure.step(redact(title)):
            if status == "fail":
                raise AssertionError(redact(message))
            if status == "inconclusive":
                raise RuntimeError(redact(message))
    except (AssertionError, RuntimeError):
        pass


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
