"""The stack the live monitoring checks run against: a target and a Prometheus scraping it (no pytest imports).

* :class:`Stack` - the target, a Prometheus client, whether both are private to the checks (only then may
  faults be switched), and the notes Prometheus left (rule files it skipped).
* :func:`private_stack` - a reference service and a Prometheus loading the gated rule files, started with
  the same services code the session fixtures use and always stopped.
* :func:`has_metrics` - whether a foreign target serves a Prometheus ``/metrics`` page.
* :class:`LiveCheckUnavailable` - a live check cannot run here; its message is the one line saying what
  is missing and how to provide it (the fixtures turn it into a skip).
* :func:`dashboard_files` - the dashboard JSON files under ``--artemis-dashboards``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from pytest_artemis.clients.prom import PromClient
from pytest_artemis.config import ArtemisConfig
from pytest_artemis.errors import ArtemisError, PrometheusUnavailableError
from pytest_artemis.redact import redact_url
from pytest_artemis.services.prometheus import PrometheusServer, find_binary
from pytest_artemis.services.target.control import AdminClient, Target, start_reference_service

__all__ = [
    "NO_FAULT_SWITCHES",
    "NO_METRICS",
    "LiveCheckUnavailable",
    "Stack",
    "dashboard_files",
    "has_metrics",
    "no_metrics_reason",
    "private_stack",
]

NO_METRICS = ("the target {url} has no Prometheus /metrics; give --artemis-prometheus URL of a Prometheus "
              "that already scrapes it")
NO_FAULT_SWITCHES = ("fault checks need the bundled reference service's admin switches and a Prometheus of "
                     "their own: run without --artemis-target and --artemis-prometheus")


class LiveCheckUnavailable(ArtemisError):
    """A live monitoring check cannot run against this session's services (the message says why and how)."""


@dataclass
class Stack:
    """What the live checks query and steer."""

    target: Target
    prom: PromClient
    private: bool  # the reference service and Prometheus were started for these checks alone
    notes: tuple[str, ...] = ()  # what the private Prometheus left out (rule files it skipped)

    @property
    def admin(self) -> AdminClient:
        """The fault switches; :class:`LiveCheckUnavailable` unless the stack is private."""
        if not self.private or self.target.admin is None:
            raise LiveCheckUnavailable(NO_FAULT_SWITCHES)
        return self.target.admin

    @property
    def can_switch_faults(self) -> bool:
        return self.private and self.target.admin is not None

    def explain(self) -> str:
        """The notes as a suffix for failure messages ('' when Prometheus loaded everything)."""
        return "".join(f"\n  note: {note}" for note in self.notes)


def dashboard_files(cfg: ArtemisConfig) -> list[Path]:
    """Every ``*.json`` file given with ``--artemis-dashboards`` or under a directory given there, sorted."""
    files: set[Path] = set()
    for root in cfg.dashboards:
        if root.is_file() and root.suffix == ".json":
            files.add(root)
        elif root.is_dir():
            files.update(p for p in root.rglob("*.json") if p.is_file())
    return sorted(files)


def has_metrics(url: str, timeout: float = 5.0) -> bool:
    """True when ``GET url/metrics`` answers 200 with at least one sample in the Prometheus text format."""
    try:
        response = httpx.get(url.rstrip("/") + "/metrics", timeout=timeout)
    except httpx.HTTPError:
        return False
    if response.status_code != 200:
        return False
    try:
        return any(family.samples for family in text_string_to_metric_families(response.text))
    except (ValueError, TypeError, IndexError):
        return False


def no_metrics_reason(url: str) -> str:
    """The one line a check without a Prometheus to ask skips with."""
    return NO_METRICS.format(url=redact_url(url))


@contextmanager
def private_stack(cfg: ArtemisConfig, log_dir: Path, base_env: Mapping[str, str]) -> Iterator[Stack]:
    """A reference service and a Prometheus scraping it with ``cfg.rules`` loaded; both stopped on exit.

    Without a Prometheus binary: :class:`LiveCheckUnavailable` with the install line. A service that does
    not start raises its :class:`~pytest_artemis.errors.ServiceStartError`.
    """
    try:
        binary = find_binary(cfg.prometheus_bin)
    except PrometheusUnavailableError as err:
        raise LiveCheckUnavailable(str(err)) from None
    target = start_reference_service(log_dir, base_env=base_env, name="monitoring")
    try:
        server = PrometheusServer(target.scrape_url, binary=binary, log_dir=log_dir, rule_paths=cfg.rules,
                                  promtool=cfg.promtool_bin, metrics_token=target.metrics_token).start()
        try:
            client = server.client()
            try:
                yield Stack(target, client, private=True, notes=tuple(server.notes))
            finally:
                client.close()
        finally:
            server.stop()
    finally:
        target.stop()
