"""What every load check shares: the finding of a registered check, the comparison of a figure with its limit
and the minimum of requests a percentile or an error rate needs to be judged at all."""

from __future__ import annotations

from typing import Any

from pytest_artemis.checks.registry import REGISTRY
from pytest_artemis.findings import Finding
from pytest_artemis.load.results import Summary

__all__ = ["MIN_REQUESTS", "compare", "enough", "result", "too_few"]

#: Fewer requests than this make a percentile or error rate inconclusive, never a pass.
MIN_REQUESTS = 20


def result(check_id: str, figure: str, value: float | None, limit: float | None, unit: str,
           comparison: str, message: str, *, status: str | None = None, scenario: str = "", endpoint: str = "",
           **details: Any) -> Finding:
    """The finding of a registered load check (severity and fix from the registry); status from the comparison."""
    registered = REGISTRY[check_id]
    if status is None:
        if value is None or limit is None:
            status = "inconclusive"
        else:
            status = "pass" if (value <= limit if comparison == "<=" else value >= limit) else "fail"
    return Finding(check=check_id, severity=registered.severity, message=message, fix=registered.fix,
                   scenario=scenario, endpoint=endpoint, figure=figure,
                   value=None if value is None else round(value, 3) if isinstance(value, float) else value,
                   limit=None if limit is None else round(limit, 3) if isinstance(limit, float) else limit,
                   unit=unit, comparison=comparison, status=status,  # type: ignore[arg-type]
                   details=details)


def compare(check_id: str, figure: str, value: float | None, limit: float, unit: str, comparison: str, what: str,
             where: str = "", tolerance: float = 0.0, base: float | None = None, no_data: str = "no data",
             **details: Any) -> Finding:
    if value is None:
        return result(check_id, figure, None, limit, unit, comparison, f"{what}: {no_data}{where}; inconclusive",
                      **details)
    passed = value <= limit if comparison == "<=" else value >= limit
    sign = {"<=": (">", "<="), ">=": ("<", ">=")}[comparison][1 if passed else 0]
    head = f"{what} {value:,.1f} {unit} {sign} "
    if tolerance and base is not None:
        head += f"baseline {base:,.1f} {unit} (+{tolerance:g}% tolerance: {limit:,.1f} {unit})"
    else:
        head += f"limit {limit:,.1f} {unit}"
    return result(check_id, figure, value, limit, unit, comparison, head + where, **details)


def enough(summary: Summary | None, minimum: int = MIN_REQUESTS) -> bool:
    return summary is not None and summary.requests >= minimum


def too_few(summary: Summary | None, minimum: int = MIN_REQUESTS) -> str:
    seen = summary.requests if summary is not None else 0
    return f"{seen} requests, {minimum} needed to judge"
