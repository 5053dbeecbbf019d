"""Rollout analysis in the style of progressive-delivery controllers, without one installed (no pytest).

:func:`analyze` runs each :class:`Metric`'s PromQL ``count`` times, ``interval`` seconds apart, and judges every
value against the metric's condition (``value comparison limit``). A metric fails once more than
``failure_limit`` measurements broke the condition; it is **inconclusive** when fewer than ``min_samples``
measurements gave a number (no data, NaN, a query error): inconclusive is never a pass. The analysis is
``Failed`` when a metric failed, else ``Inconclusive`` when a metric was, else ``Successful``. Every
measurement is a :class:`~pytest_artemis.findings.Finding` of the check ``rollout-analysis``.

:func:`default_metrics` are the seed's baselines through the ``artemis:*`` recording rules
(``manifests/monitoring/rules``): error rate and p95 latency of the workload's job.
"""

from __future__ import annotations

import math
import operator
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pytest_artemis.errors import PrometheusError
from pytest_artemis.findings import Finding

__all__ = ["COMPARISONS", "AnalysisResult", "Metric", "Phase", "Querier", "analyze", "default_metrics"]

Phase = Literal["Successful", "Failed", "Inconclusive"]
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}


class Querier(Protocol):
    """What the analysis needs of a Prometheus client (:class:`~pytest_artemis.clients.prom.PromClient`)."""

    def query_value(self, expr: str, default: float | None = None) -> float | None: ...


@dataclass(frozen=True)
class Metric:
    """One analysed query: it holds while ``value comparison limit``."""

    name: str
    query: str
    comparison: str
    limit: float
    unit: str = ""
    failure_limit: int = 0
    min_samples: int = 3

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ValueError(f"metric {self.name}: comparison {self.comparison!r} is not one of "
                             + ", ".join(COMPARISONS))


@dataclass(frozen=True)
class AnalysisResult:
    phase: Phase
    message: str
    findings: list[Finding] = field(default_factory=list)
    metrics: dict[str, Phase] = field(default_factory=dict)

    @property
    def successful(self) -> bool:
        return self.phase == "Successful"


def default_metrics(baseline: Any, job: str = "artemis") -> list[Metric]:
    """Error rate and p95 of ``job`` against the baseline in force (a :class:`~pytest_artemis.baselines.Baseline`)."""
    return [
        Metric("error rate", f'artemis:error_rate_percent{{job="{job}"}}', "<=",
               float(baseline.error_rate_percent), "%"),
        Metric("p95 latency", f'artemis:response_time_p95_ms{{job="{job}"}}', "<=", float(baseline.p95_ms), "ms"),
    ]


def _measure(prom: Querier, metric: Metric) -> tuple[float | None, str]:
    try:
        value = prom.query_value(metric.query)
    except PrometheusError as err:
        return None, str(err)
    if value is None:
        return None, "no data"
    if math.isnan(value):
        return None, "NaN"
    return float(value), ""


def analyze(prom: Querier, metrics: Iterable[Metric], *, count: int = 5, interval: float = 5.0,
            deployment: str = "", namespace: str = "", sleep: Callable[[float], None] = time.sleep
            ) -> AnalysisResult:
    """Measure every metric ``count`` times, ``interval`` seconds apart (stopping early once one failed)."""
    metrics = list(metrics)
    findings: list[Finding] = []
    failures = dict.fromkeys((m.name for m in metrics), 0)
    valid = dict.fromkeys((m.name for m in metrics), 0)
    failed: list[str] = []
    for round_ in range(1, count + 1):
        for metric in metrics:
            value, problem = _measure(prom, metric)
            if value is None:
                status = "inconclusive"
                text = f"{metric.name} measurement {round_}/{count}: {problem} for {metric.query}"
            else:
                valid[metric.name] += 1
                held = COMPARISONS[metric.comparison](value, metric.limit)
                status = "pass" if held else "fail"
                failures[metric.name] += 0 if held else 1
                text = (f"{metric.name} measurement {round_}/{count}: {value:g} {metric.unit} (limit "
                        f"{metric.comparison} {metric.limit:g} {metric.unit})").replace(" %", "%")
            findings.append(Finding(
                check="rollout-analysis", severity="critical", message=text, kind="Deployment" if deployment else "",
                name=deployment, namespace=namespace, figure=f"{metric.name} #{round_}", value=value,
                limit=metric.limit, unit=metric.unit, comparison=metric.comparison, status=status,  # type: ignore[arg-type]
                fix="look at the new revision's errors and latency; the rollback gate undoes it",
                details={"query": metric.query, "round": round_}))
            if failures[metric.name] > metric.failure_limit and metric.name not in failed:
                failed.append(metric.name)
        if failed:
            break
        if round_ < count:
            sleep(interval)
    phases: dict[str, Phase] = {}
    for metric in metrics:
        if metric.name in failed:
            phases[metric.name] = "Failed"
        elif valid[metric.name] < metric.min_samples:
            phases[metric.name] = "Inconclusive"
        else:
            phases[metric.name] = "Successful"
    phase: Phase = ("Failed" if "Failed" in phases.values() else
                    "Inconclusive" if "Inconclusive" in phases.values() else "Successful")
    detail = ", ".join(f"{name} {p} ({valid[name]} samples, {failures[name]} failed)" for name, p in phases.items())
    return AnalysisResult(phase, f"analysis {phase}: {detail}", findings, phases)
