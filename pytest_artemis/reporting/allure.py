"""Allure reporting: labels, measurements and findings per test, and the mission's environment page.

Active only when allure-pytest writes results (``--alluredir``). Per test, the gate family becomes the
Allure feature under the epic "Artemis Command Center", and what the test recorded (measurements,
findings, artifacts) is attached. At session end ``environment.properties`` carries the verdict, the
DEFCON level and the config in force, and ``categories.json`` sorts failures into the theme's words.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

from pytest_artemis import theme
from pytest_artemis.record import USER_PROPERTY, SessionRecord

__all__ = ["alluredir", "publish_item", "write_session_files"]


def alluredir(config: Any) -> Path | None:
    """The allure results directory of the session, or None when Allure is off."""
    value = getattr(config.option, "allure_report_dir", None)
    return Path(value) if value else None


def publish_item(item: Any, gate: str) -> None:
    """Label the running test and attach what it recorded so far."""
    import allure

    allure.dynamic.epic(theme.TITLE)
    allure.dynamic.feature(theme.GATE_TITLES.get(gate, gate))
    payloads = [p for name, p in item.user_properties if name == USER_PROPERTY]
    measurements = [p["measurement"] for p in payloads if "measurement" in p]
    findings = [f for p in payloads for f in p.get("findings", [])]
    if measurements:
        for m in measurements:
            allure.dynamic.parameter(m["name"], f"{m['value']} {m['unit']}".strip())
        allure.attach(json.dumps(measurements, indent=2, default=str), name="measurements",
                      attachment_type=allure.attachment_type.JSON)
    if findings:
        if any(f.get("severity") == "critical" for f in findings):
            allure.dynamic.severity(allure.severity_level.CRITICAL)
        lines = [f"[{f['severity']}] {f['check']}: {f.get('file', '')} {f.get('kind', '')}/{f.get('name', '')}: "
                 f"{f['message']}" for f in findings]
        allure.attach("\n".join(lines), name="findings", attachment_type=allure.attachment_type.TEXT)
    for p in payloads:
        artifact = p.get("artifact")
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
    for gate, summary in record.summaries().items():
        props[f"Gate.{gate}"] = (f"{summary.verdict}: {summary.passed} passed, {summary.failed} failed, "
                                 f"{summary.error} error, {summary.skipped} skipped")
    for key, value in record.config.items():
        if value not in (None, [], ""):
            props[f"Config.{key}"] = str(value)
    text = "\n".join(f"{k}={_escape(v)}" for k, v in props.items()) + "\n"
    (directory / "environment.properties").write_text(text, encoding="utf-8")
    categories = [
        {"name": "Load generator saturated (figures not trusted)", "messageRegex": ".*load generator saturated.*",
         "matchedStatuses": ["broken", "failed"]},
        {"name": f"{theme.term('Error Rate')} over baseline", "messageRegex": ".*error rate.*",
         "matchedStatuses": ["failed"]},
        {"name": "Latency over baseline", "messageRegex": ".*p(50|95|99).*", "matchedStatuses": ["failed"]},
        {"name": "Policy findings", "messageRegex": ".*(critical|warning).*", "matchedStatuses": ["failed"]},
        {"name": "Infrastructure problems", "matchedStatuses": ["broken"]},
    ]
    (directory / "categories.json").write_text(json.dumps(categories, indent=2), encoding="utf-8")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("=", "\\=").replace(":", "\\:")
