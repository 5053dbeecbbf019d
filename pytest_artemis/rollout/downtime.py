"""Zero downtime during a rollout (no pytest): steady requests at the Service, counted and judged.

* :class:`SteadyTraffic` - a light request loop (one GET every ``interval`` on a fresh connection, as a client
  behind a Service's load balancer sees it) that runs in a thread while a rollout happens.
* :class:`Downtime` - what it saw: requests sent, failed (no answer, or a status outside 200-399), the
  availability, the longest run of failures and the failure reasons.
The judgement (check ``rollout-zero-downtime``) is :func:`pytest_artemis.rollout.checks.zero_downtime`.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Self

from pytest_artemis.errors import TargetUnreachableError
from pytest_artemis.probes.live import Probe, ProbeSampler, Samples, succeeded, wait_until_ok

__all__ = ["MIN_REQUESTS", "Downtime", "SteadyTraffic"]

#: Fewer requests than this during a rollout cannot show whether it dropped any.
MIN_REQUESTS = 20


@dataclass(frozen=True)
class Downtime:
    """The requests a rollout saw: counts, availability, the longest outage and why requests failed."""

    url: str
    sent: int
    failed: int
    seconds: float
    longest_outage: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def availability(self) -> float | None:
        """Per cent of requests answered with 200-399 (None: nothing was sent)."""
        return round(100.0 * (self.sent - self.failed) / self.sent, 3) if self.sent else None

    @classmethod
    def of(cls, url: str, samples: Samples) -> Downtime:
        sent = samples.sent
        reasons: Counter[str] = Counter()
        longest, outage_start = 0.0, None
        for at, answer in sent:
            if succeeded(answer.status):
                if outage_start is not None:
                    longest, outage_start = max(longest, at - outage_start), None
                continue
            reasons[answer.error or f"HTTP {answer.status}"] += 1
            outage_start = at if outage_start is None else outage_start
        if outage_start is not None and sent:
            longest = max(longest, sent[-1][0] + sent[-1][1].seconds - outage_start)
        seconds = sent[-1][0] + sent[-1][1].seconds - sent[0][0] if sent else 0.0
        return cls(url, len(sent), sum(reasons.values()), round(seconds, 3), round(longest, 3), dict(reasons))

    def shown(self) -> str:
        why = ", ".join(f"{n}x {reason}" for reason, n in sorted(self.reasons.items(), key=lambda kv: -kv[1]))
        return (f"{self.failed} of {self.sent} requests to {self.url} failed in {self.seconds:.1f}s"
                + (f" ({why}; longest outage {self.longest_outage * 1000:,.0f} ms)" if self.failed else ""))


class SteadyTraffic:
    """GETs ``path`` every ``interval`` seconds in a thread until :meth:`stop`; :attr:`result` then holds it.

    Entering waits (up to ``warmup`` seconds) for a first successful answer, so the rollout starts from a
    service known to serve; :meth:`stop` keeps sending for ``linger`` seconds more, as old pods still
    terminate when the Deployment reads complete.
    """

    def __init__(self, url: str, path: str = "/", *, interval: float = 0.05, timeout: float = 2.0,
                 warmup: float = 10.0, linger: float = 1.0) -> None:
        self.probe = Probe(url)
        self.path = path
        self.warmup, self.linger = warmup, linger
        self.sampler = ProbeSampler(self.probe, {"traffic": (path, timeout)}, interval=interval)
        self.result: Downtime | None = None

    def __enter__(self) -> Self:
        answer, _ = wait_until_ok(self.probe, self.path, time.monotonic() + self.warmup, interval=0.1, timeout=2.0)
        if answer is None or not succeeded(answer.status):
            self.probe.close()
            raise TargetUnreachableError(f"{self.probe.shown(self.path)} does not serve before the rollout: "
                                         f"{answer.shown() if answer else 'no answer'} (waited {self.warmup:g}s)")
        self.sampler.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> Downtime:
        if self.result is None:
            time.sleep(self.linger)
            self.sampler.stop()
            self.probe.close()
            self.result = Downtime.of(self.probe.shown(self.path), self.sampler.samples["traffic"])
        return self.result
