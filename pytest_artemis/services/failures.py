"""What a client says when a service stops answering: one line, then (for a service we started) its log tail.

HTTP libraries report a refused connection as a chain of wrapped exceptions whose text repeats the URL,
object reprs and retry counts (requests -> urllib3 -> socket). :func:`transport_reason` boils such a chain
down to what happened (``connection refused``, ``no answer within 2 s``), and :func:`unreachable_message`
builds the message the clients raise with ``from None``:

``Prometheus at http://127.0.0.1:9090 cannot be reached (GET /api/v1/query: connection refused):
prometheus (pid 4242) was killed by SIGKILL; log: .../prometheus-9090.log`` followed by the last lines of
that log. The explanation comes from a callable (``ManagedProcess.diagnosis``) that the code which started
the service hands to its client; a service we did not start has none.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pytest_artemis.redact import redact, redact_url

__all__ = ["Explain", "transport_reason", "unreachable_message"]

#: Returns how the service's process is doing and the tail of its log ('' when there is nothing to say).
Explain = Callable[[], str]

_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")
_OBJECT = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>:?\s*")
_TIMEOUT_NAMES = ("Timeout", "TimeoutError", "ReadTimeout", "ConnectTimeout", "ReadTimeoutError",
                  "ConnectTimeoutError", "PoolTimeout", "WriteTimeout")


def _chain(err: BaseException) -> list[BaseException]:
    """``err`` and what it wraps: ``__cause__``/``__context__``, urllib3's ``reason``, an exception in ``args``."""
    found: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and all(current is not seen for seen in found) and len(found) < 20:
        found.append(current)
        wrapped = getattr(current, "reason", None)
        if not isinstance(wrapped, BaseException):
            wrapped = current.__cause__ or current.__context__
        if wrapped is None and current.args and isinstance(current.args[0], BaseException):
            wrapped = current.args[0]
        current = wrapped
    return found


def transport_reason(err: BaseException, timeout: float | None = None) -> str:
    """What went wrong in a few words: ``connection refused``, ``no answer within 2 s``, ``connection reset``."""
    chain = _chain(err)
    if any(type(e).__name__ in _TIMEOUT_NAMES or isinstance(e, TimeoutError) for e in chain):
        return f"no answer within {timeout:g} s" if timeout is not None else "timed out"
    for item in reversed(chain):
        if isinstance(item, OSError) and item.strerror:
            return item.strerror[:1].lower() + item.strerror[1:]
    for item in chain:
        match = _ERRNO.search(str(item))
        if match:
            text = match.group(1).strip()
            return text[:1].lower() + text[1:]
    deepest = chain[-1]
    text = _OBJECT.sub("", str(deepest)).strip() or type(deepest).__name__
    return f"{type(deepest).__name__}: {text}"[:200] if text != type(deepest).__name__ else text


def unreachable_message(service: str, url: str, action: str, err: BaseException, *,
                        timeout: float | None = None, explain: Explain | None = None) -> str:
    """``<service> at <url> cannot be reached (<action>: <reason>)`` plus ``: <explanation>`` when there is one."""
    message = f"{service} at {redact_url(url)} cannot be reached ({action}: {transport_reason(err, timeout)})"
    detail = ""
    if explain is not None:
        try:
            detail = explain()
        except Exception as problem:  # noqa: BLE001 - an explanation must never hide the error it explains
            detail = f"(no diagnosis: {type(problem).__name__}: {problem})"
    return redact(message + (f": {detail}" if detail else ""))
