"""Which source judges the series of a gated file, and the one notice of a gate about files it could not judge.

The unknown-series checks of the rule and dashboard gates only run against a source that can know the
names (see :mod:`~pytest_artemis.checks.rules.inventory`): an inventory the user gives, the live Prometheus
of ``--artemis-prometheus`` (its ``/api/v1/label/__name__/values``, fetched once per session with a short
timeout, the way online linters do it), or the kit's inventory for the kit's own files. A file with none of
these is not judged; the gate says so once (:meth:`SeriesSources.notice`). No pytest imports.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pytest_artemis.checks.rules.inventory import Inventory, given_inventory, is_kit_file, kit_inventory, recorded_names
from pytest_artemis.config import ArtemisConfig
from pytest_artemis.findings import Finding
from pytest_artemis.redact import join, redact, redact_url, split_credentials

__all__ = [
    "HOW_TO_GIVE",
    "LABEL_VALUES_PATH",
    "LIVE_TIMEOUT_SECONDS",
    "LiveNames",
    "SeriesSources",
    "fetch_metric_names",
]

LABEL_VALUES_PATH = "/api/v1/label/__name__/values"
LIVE_TIMEOUT_SECONDS = 5.0
HOW_TO_GIVE = ("give --artemis-metric-inventory FILE (one name a line, or a saved /metrics page) or "
               "--artemis-prometheus URL (a Prometheus that scrapes what the files read)")


@dataclass(frozen=True)
class LiveNames:
    """The metric names of a live Prometheus, or why there are none."""

    url: str  # redacted
    names: frozenset[str] = frozenset()
    error: str = ""

    @property
    def reachable(self) -> bool:
        return not self.error


def fetch_metric_names(url: str, timeout: float = LIVE_TIMEOUT_SECONDS) -> LiveNames:
    """GET ``url``'s ``/api/v1/label/__name__/values``; never raises (the error is kept, redacted, in one line).

    Credentials in the URL (``user:pass@``) are sent as basic auth, its query (a token) is kept.
    """
    base, headers = split_credentials(url)
    shown = redact_url(url)
    request = urllib.request.Request(join(base, LABEL_VALUES_PATH), headers={"Accept": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read()
    except TimeoutError:
        return LiveNames(shown, error=f"no answer within {timeout:g} s")
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return LiveNames(shown, error=redact(str(reason).splitlines()[0] if str(reason) else type(err).__name__))
    try:
        payload = json.loads(body)
    except ValueError:
        return LiveNames(shown, error=f"GET {LABEL_VALUES_PATH} answered {status} without JSON")
    data = payload.get("data") if isinstance(payload, dict) else None
    if status != 200 or not isinstance(payload, dict) or payload.get("status") != "success" or not isinstance(data, list):
        said = payload.get("error", "no name list") if isinstance(payload, dict) else "no name list"
        return LiveNames(shown, error=f"GET {LABEL_VALUES_PATH} answered {status}: " + redact(str(said)[:200]))
    if not data:
        return LiveNames(shown, error="it holds no metric names yet (nothing scraped)")
    return LiveNames(shown, frozenset(str(n) for n in data))


@dataclass
class SeriesSources:
    """The series sources of one session: built once, the live names fetched at most once."""

    cfg: ArtemisConfig
    _live: LiveNames | None = field(default=None, init=False)
    _records: frozenset[str] | None = field(default=None, init=False)
    _given: Inventory | None = field(default=None, init=False)
    _given_read: bool = field(default=False, init=False)

    def live(self) -> LiveNames | None:
        """The names of ``--artemis-prometheus`` (fetched on first use), None without that option."""
        if self.cfg.prometheus is None:
            return None
        if self._live is None:
            self._live = fetch_metric_names(self.cfg.prometheus)
        return self._live

    def given(self) -> Inventory | None:
        if not self._given_read:
            self._given = given_inventory(self.cfg)
            self._given_read = True
        return self._given

    def records(self) -> frozenset[str]:
        if self._records is None:
            self._records = recorded_names(p.resolve() for p in self.cfg.rules)
        return self._records

    def has_source(self, path: Path) -> bool:
        """True when a source is configured for ``path`` (known at collection, before any fetch)."""
        return self.cfg.prometheus is not None or self.given() is not None or is_kit_file(self.cfg, path)

    def for_file(self, path: Path) -> Inventory | None:
        """The inventory that judges the series of ``path``, None when no source can (the check does not run)."""
        parts: list[Inventory] = []
        given = self.given()
        if given is not None:
            parts.append(given)
        if is_kit_file(self.cfg, path):
            parts.append(kit_inventory(self.cfg))
        live = self.live()
        if live is not None and live.reachable:
            parts.append(Inventory(live.names, frozenset(), (f"the names of Prometheus at {live.url}",)))
        if not parts:
            return None
        merged = parts[0]
        for part in parts[1:]:
            merged = merged.merged(part)
        return merged.with_records(self.records())

    def needs_notice(self, files: Sequence[Path]) -> bool:
        """True when the gate has something to say about its series sources (collection time)."""
        return self.cfg.prometheus is not None or any(not self.has_source(p) for p in files)

    def notice(self, check_id: str, files: Sequence[Path], noun: str, gate: str) -> list[Finding]:
        """The gate's one word on its series: which files no source could judge, and whether Prometheus answered.

        ``noun`` names one file ("rule file", "dashboard"), ``gate`` the gate ("rules gate"). Findings of
        severity info: they fail nothing. A Prometheus that answered is a recorded figure (its name count).
        """
        rest = [p for p in files if self.given() is None and not is_kit_file(self.cfg, p)]
        live = self.live()
        found: list[Finding] = []

        def count(n: int) -> str:
            return f"{n} {noun}{'' if n == 1 else 's'}"

        def say(message: str, fix: str) -> None:
            found.append(Finding(check=check_id, severity="info", message=message, name=gate, fix=fix))

        if live is None:
            if rest:
                say(f"series not checked for {count(len(rest))}: no inventory or Prometheus given", HOW_TO_GIVE)
        elif not live.reachable:
            tail = f"series not checked for {count(len(rest))}" if rest else "series checked against the inventory only"
            say(f"Prometheus at {live.url} unreachable ({live.error}): {tail}; the gate goes on",
                f"check that {live.url}{LABEL_VALUES_PATH} answers, or give --artemis-metric-inventory FILE")
        else:
            found.append(Finding(
                check=check_id, severity="info", name=gate, figure="known_series_names", value=len(live.names),
                unit="names", status="info",
                message=f"series of {count(len(files))} checked against the {len(live.names)} metric names of "
                        f"Prometheus at {live.url}"))
        return found
