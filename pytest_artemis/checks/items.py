"""The pytest items of the static gates (manifests, rules, dashboards): run checks, record findings, fail once.

A :class:`GateItem` computes findings (a ``run`` callable, or :meth:`GateItem.check` in a subclass),
drops the ids in ``--artemis-ignore-check``, attaches all of them to itself for the verdict file, and
fails when any reaches ``--artemis-fail-on``, listing them all grouped by object. A
:class:`BrokenFileItem` is the single failing item of a file that cannot be read or parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from pytest_artemis.checks.registry import REGISTRY
from pytest_artemis.errors import ArtemisError
from pytest_artemis.findings import SEVERITY_RANK, Finding, at_or_above, format_findings
from pytest_artemis.record import attach
from pytest_artemis.redact import redact
from pytest_artemis.stash import config_of, session_dir_of

__all__ = ["BrokenFileItem", "GateFailure", "GateItem", "GateSkip", "config_of"]


class GateFailure(AssertionError):
    """Findings at or above the fail-on severity; the message lists them all, grouped by object."""

    def __init__(self, findings: list[Finding], threshold: str, header: str = "") -> None:
        count = len(at_or_above(findings, threshold))
        lead = f"{header}: " if header else ""
        super().__init__(f"{lead}{count} finding(s) at or above {threshold} (--artemis-fail-on):\n"
                         + format_findings(findings))
        self.findings = findings


class GateSkip(Exception):
    """The item cannot run here (e.g. a tool is missing); reported as a skip with this reason."""


class GateItem(pytest.Item):
    """One gate check run over one file (or one part of it)."""

    def __init__(
        self,
        *,
        marker: str,
        run: Callable[[], Iterable[Finding]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._run = run
        self.add_marker(marker)

    def check(self) -> Iterable[Finding]:
        """The findings of this item (measured figures included); subclasses without ``run`` override it."""
        if self._run is None:
            raise TypeError(f"{type(self).__name__} needs a run callable or its own check()")
        return self._run()

    def header(self) -> str:
        """What the failure message names first (the object or file); empty for the item's own id."""
        return ""

    def evidence(self) -> dict[str, str]:
        """What a person needs to see when this item fails (file name -> text), kept as artifacts; none here."""
        return {}

    def _keep_evidence(self) -> None:
        evidence = self.evidence()
        if not evidence:
            return
        directory = session_dir_of(self).path / "evidence"
        directory.mkdir(parents=True, exist_ok=True)
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in redact(self.nodeid))[-100:]
        for name, text in evidence.items():
            path = directory / f"{stem}--{name}"
            path.write_text(redact(text), encoding="utf-8")
            attach(self, artifact=(name, path))

    def runtest(self) -> None:
        cfg = config_of(self)
        try:
            found = self.check()
        except GateSkip as err:
            pytest.skip(str(err))
        findings = sorted((f for f in found if f.check not in cfg.ignore_check),
                          key=lambda f: (-SEVERITY_RANK[f.severity], f.check, f.name, f.container))
        attach(self, findings=findings)
        if at_or_above(findings, cfg.fail_on):
            self._keep_evidence()
            raise GateFailure([f for f in findings if f.problem], cfg.fail_on, self.header())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, (GateFailure, ArtemisError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.path.name}::{self.name}"


class BrokenFileItem(GateItem):
    """The one failing item of a file that cannot be read or parsed (the session goes on)."""

    def __init__(self, *, error: ArtemisError, check_id: str, file: str, marker: str, **kwargs: Any) -> None:
        registered = REGISTRY[check_id]
        finding = Finding(check=check_id, severity=registered.severity, message=str(error), file=file,
                          fix=registered.fix)
        super().__init__(run=lambda: [finding], marker=marker, **kwargs)

