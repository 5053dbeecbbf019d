"""Allure reporting: labels, figures and findings per test, and the mission's environment page.

Active only when allure-pytest writes results (``--alluredir``) and the session uses the plugin. Per
test, the gate family's title becomes the Allure feature under the epic "Artemis Command Center", every
measured figure a parameter, the failing check ids tags, and the findings (typed, from the record's own
shape) are attached as JSON and as text. At session end ``environment.properties`` carries the verdict,
the DEFCON level and the config in force, and ``categories.json`` sorts results by status: failed gates
(NO-GO) and runs that could not be judged (invalid, inconclusive: Allure's "broken"). Everything written
passes through :func:`~pytest_artemis.redact.redact`.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

from pytest_artemis import theme
from pytest_artemis.families import BY_NAME
from pytest_artemis.findings import SEVERITY_RANK, format_findings
from pytest_artemis.record import USER_PROPERTY, SessionRecord, attached_findings
from pytest_artemis.redact import redact, redact_data

__all__ = ["alluredir", "publish_item", "write_session_files"]

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
            mime = mimetypes.guess_type(artifact["path"])[0] or "application/octet-stream"
            allure.attach.file(artifact["path"], name=artifact["name"], attachment_type=mime)


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


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("=", "\\=").replace(":", "\\:")
