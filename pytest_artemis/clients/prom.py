"""A typed Prometheus HTTP API client on prometheus-api-client, raising the project's own errors (no pytest).

* :meth:`PromClient.query` - instant query -> list of :class:`Sample` (a scalar or string result is one
  sample without labels); :meth:`PromClient.query_value` - the one value of an expression, or ``None``.
* :meth:`PromClient.query_range` - range query -> list of :class:`Series`.
* :meth:`PromClient.wait_for` - poll until ``predicate(value)``; the timeout message shows the last value.
* :meth:`PromClient.alert_state` / :meth:`PromClient.wait_for_alert` - ``inactive``, ``pending`` or ``firing``.
* :meth:`PromClient.rules`, :meth:`PromClient.targets`, :meth:`PromClient.ready`.

A rejected query raises :class:`PrometheusQueryError` with the PromQL and the server's message; a server that
cannot be reached raises :class:`PrometheusUnavailableError` with one line naming Prometheus, its URL, the
request and what failed (``connection refused``), raised ``from None`` so no requests/urllib3 chain follows.
A client of a Prometheus the session started gets ``explain`` (its process' ``diagnosis``): the message then
says how that process ended and shows the last lines of its log. The methods hide themselves from pytest's
traceback for these errors, so a failed test shows its own line and the message.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from pytest_artemis.errors import PrometheusError, PrometheusQueryError, PrometheusUnavailableError
from pytest_artemis.redact import redact_url
from pytest_artemis.services.failures import Explain, unreachable_message

__all__ = ["ALERT_STATES", "AlertState", "PromClient", "Rule", "Sample", "ScrapeTarget", "Series"]

AlertState = Literal["inactive", "pending", "firing"]
ALERT_STATES: tuple[str, ...] = ("inactive", "pending", "firing")
_STATUS = re.compile(r"HTTP Status Code (\d+) \((.*)\)$", re.DOTALL)
#: pytest leaves the client's frames out of a traceback that ends in one of our Prometheus errors.
_HIDE = operator.methodcaller("errisinstance", PrometheusError)


@dataclass(frozen=True)
class Sample:
    """One value of an instant vector (or the scalar result, with no labels)."""

    labels: dict[str, str]
    value: float
    timestamp: float


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels and ``(timestamp, value)`` points."""

    labels: dict[str, str]
    points: list[tuple[float, float]]

    @property
    def values(self) -> list[float]:
        return [v for _, v in self.points]


@dataclass(frozen=True)
class Rule:
    group: str
    name: str
    type: str  # "alerting" or "recording"
    query: str
    health: str
    last_error: str = ""
    state: str = ""  # alerting rules: inactive / pending / firing
    alerts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ScrapeTarget:
    job: str
    url: str
    health: str  # "up", "down" or "unknown"
    last_error: str
    labels: dict[str, str]


def _float(raw: Any) -> float:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return math.nan


def _server_reason(err: PrometheusApiClientException) -> str:
    """The server's own message out of prometheus-api-client's 'HTTP Status Code N (b'...')' text."""
    text = str(err)
    match = _STATUS.match(text)
    if not match:
        return text
    status, raw = match.groups()
    try:
        body = ast.literal_eval(raw)
        data = json.loads(body.decode() if isinstance(body, bytes) else body)
        return f"{data.get('errorType', 'error')}: {data.get('error', '')} (HTTP {status})"
    except (ValueError, SyntaxError, AttributeError):
        return f"HTTP {status}: {raw[:300]}"


class PromClient:
    """Queries one Prometheus server."""

    def __init__(self, url: str, timeout: float = 10.0, explain: Explain | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.explain = explain
        self._api = PrometheusConnect(self.url, disable_ssl=False, retry=Retry(total=0), timeout=timeout)

    def __repr__(self) -> str:
        return f"PromClient({redact_url(self.url)!r})"

    # ------------------------------------------------------------------ transport

    def _unavailable(self, err: Exception, path: str) -> PrometheusUnavailableError:
        return PrometheusUnavailableError(unreachable_message("Prometheus", self.url, f"GET {path}", err,
                                                              timeout=self.timeout, explain=self.explain))

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        __tracebackhide__ = _HIDE
        try:
            response = self._api._session.get(f"{self.url}{path}", params=params, timeout=self.timeout)
        except requests.RequestException as err:
            raise self._unavailable(err, path) from None
        try:
            payload = response.json()
        except ValueError:
            raise PrometheusError(f"Prometheus at {redact_url(self.url)}: GET {path} answered "
                                  f"{response.status_code} without JSON: {response.text.strip()[:200]!r}") from None
        if response.status_code != 200 or payload.get("status") != "success":
            raise PrometheusError(f"GET {path}: {payload.get('errorType')}: {payload.get('error')}")
        return payload["data"]

    def ready(self) -> bool:
        """True when the server answers ``/-/ready`` with 200."""
        try:
            return bool(self._api._session.get(f"{self.url}/-/ready", timeout=self.timeout).status_code == 200)
        except requests.RequestException:
            return False

    # ------------------------------------------------------------------ queries

    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        """Instant query: every sample of the result (a scalar or string is one sample without labels)."""
        __tracebackhide__ = _HIDE
        params = {"time": f"{at:.3f}"} if at is not None else None
        try:
            result = self._api.custom_query(expr, params=params)
        except PrometheusApiClientException as err:
            raise PrometheusQueryError(expr, _server_reason(err)) from None
        except requests.RequestException as err:
            raise self._unavailable(err, "/api/v1/query") from None
        if result and isinstance(result, list) and not isinstance(result[0], dict):  # scalar / string
            return [Sample({}, _float(result[1]), float(result[0]))]
        return [Sample(dict(item.get("metric", {})), _float(item["value"][1]), float(item["value"][0]))
                for item in result or []]

    def query_value(self, expr: str, default: float | None = None) -> float | None:
        """The single value of ``expr``; ``default`` when the result is empty; an error for several series."""
        __tracebackhide__ = _HIDE
        samples = self.query(expr)
        if not samples:
            return default
        if len(samples) > 1:
            shown = ", ".join(str(s.labels) for s in samples[:3])
            raise PrometheusQueryError(expr, f"expected one series, got {len(samples)} ({shown} ...); aggregate it")
        return samples[0].value

    def query_range(self, expr: str, start: float, end: float | None = None, step: float = 1.0) -> list[Series]:
        """Range query over ``[start, end]`` (unix seconds; ``end`` defaults to now) at ``step`` seconds."""
        __tracebackhide__ = _HIDE
        end = time.time() if end is None else end
        try:  # the library rounds to whole seconds: widen the window outwards so no edge sample is lost
            result = self._api.custom_query_range(
                expr, start_time=datetime.fromtimestamp(math.floor(start), UTC),
                end_time=datetime.fromtimestamp(math.ceil(end), UTC), step=f"{step:g}s")
        except PrometheusApiClientException as err:
            raise PrometheusQueryError(expr, _server_reason(err)) from None
        except requests.RequestException as err:
            raise self._unavailable(err, "/api/v1/query_range") from None
        return [Series(dict(item.get("metric", {})), [(float(t), _float(v)) for t, v in item.get("values", [])])
                for item in result or []]

    def wait_for(self, expr: str, predicate: Callable[[float | None], bool] = lambda v: v is not None,
                 timeout: float = 30.0, interval: float = 0.25, description: str = "") -> float | None:
        """Poll :meth:`query_value` until ``predicate(value)`` holds; return that value.

        On timeout raise :class:`PrometheusError` naming the expression, what was awaited and the last value.
        A predicate written for numbers (``lambda v: v > 0``) simply does not hold while there is no data.
        """
        __tracebackhide__ = _HIDE
        deadline = time.monotonic() + timeout
        last: float | None = None
        while True:
            last = self.query_value(expr)
            try:
                held = predicate(last)
            except TypeError:
                if last is not None:
                    raise
                held = False
            if held:
                return last
            if time.monotonic() >= deadline:
                what = description or getattr(predicate, "__doc__", None) or "the predicate"
                raise PrometheusError(f"timed out after {timeout:g} s waiting for {what} on PromQL {expr!r}; "
                                      f"last value seen: {'no data' if last is None else f'{last:g}'}")
            time.sleep(interval)

    # ------------------------------------------------------------------ rules, alerts, targets

    def rules(self, kind: Literal["alert", "record"] | None = None) -> list[Rule]:
        """Every loaded rule with its group, health and (alerting rules) state."""
        __tracebackhide__ = _HIDE
        data = self._get("/api/v1/rules", {"type": kind} if kind else None)
        return [Rule(group=g.get("name", ""), name=r.get("name", ""), type=r.get("type", ""),
                     query=r.get("query", ""), health=r.get("health", ""), last_error=r.get("lastError", ""),
                     state=r.get("state", ""), alerts=list(r.get("alerts", [])))
                for g in data.get("groups", []) for r in g.get("rules", [])]

    def alert_state(self, name: str) -> AlertState:
        """``inactive``, ``pending`` or ``firing`` for the alerting rule ``name`` (firing wins over pending)."""
        __tracebackhide__ = _HIDE
        rules = [r for r in self.rules("alert") if r.name == name]
        if not rules:
            known = sorted({r.name for r in self.rules("alert")})
            raise PrometheusError(f"no alerting rule named {name!r} is loaded on {redact_url(self.url)}; "
                                  f"loaded: {', '.join(known) or 'none'}")
        states = {r.state for r in rules}
        for state in ("firing", "pending"):
            if state in states:
                return state  # type: ignore[return-value]
        return "inactive"

    def wait_for_alert(self, name: str, state: AlertState = "firing", timeout: float = 30.0,
                       interval: float = 0.5) -> AlertState:
        """Poll :meth:`alert_state` until it is ``state``; the timeout message shows the last state seen."""
        __tracebackhide__ = _HIDE
        deadline = time.monotonic() + timeout
        while True:
            seen = self.alert_state(name)
            if seen == state:
                return seen
            if time.monotonic() >= deadline:
                raise PrometheusError(f"timed out after {timeout:g} s waiting for alert {name!r} to be {state}; "
                                      f"last state seen: {seen}")
            time.sleep(interval)

    def targets(self) -> list[ScrapeTarget]:
        """The active scrape targets with their health and last scrape error."""
        __tracebackhide__ = _HIDE
        data = self._get("/api/v1/targets", {"state": "active"})
        return [ScrapeTarget(job=t.get("labels", {}).get("job", t.get("scrapePool", "")), url=t.get("scrapeUrl", ""),
                             health=t.get("health", "unknown"), last_error=t.get("lastError", ""),
                             labels=dict(t.get("labels", {})))
                for t in data.get("activeTargets", [])]

    def close(self) -> None:
        self._api.close()
