"""Static gates: the check registry, findings, and one sub-package per area (manifests, rules, dashboards)."""

from __future__ import annotations

from pytest_artemis.checks.registry import REGISTRY, Check, check, checks_for
from pytest_artemis.findings import Finding, Severity, at_or_above, format_findings

__all__ = ["REGISTRY", "Check", "Finding", "Severity", "at_or_above", "check", "checks_for", "format_findings"]
