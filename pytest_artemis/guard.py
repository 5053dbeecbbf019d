"""The production guard: one check in front of every piece of code that sends generated traffic or
switches faults on a target (load scenarios, chaos, live monitoring traffic, rollout traffic).

Called before the first request; refused with :class:`~pytest_artemis.errors.TrafficRefusedError`, whose
message is the one line the refused test fails with.
"""

from __future__ import annotations

from pytest_artemis.errors import TrafficRefusedError

__all__ = ["ensure_traffic_allowed"]


def ensure_traffic_allowed(environment: str, allowed: bool, what: str) -> None:
    """Raise :class:`TrafficRefusedError` when ``what`` (e.g. "load", "fault switches") would hit production.

    ``allowed`` is ``--artemis-allow-production-load``.
    """
    if environment == "production" and not allowed:
        raise TrafficRefusedError(f"{what} refused: --artemis-environment is production; "
                                  "pass --artemis-allow-production-load to allow it")
