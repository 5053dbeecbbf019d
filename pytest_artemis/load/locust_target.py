"""Inside the Locust child processes only: the target's credentials on every request, no secret in Locust's output.

Imported by :mod:`pytest_artemis.load.child` after Locust (it imports Locust's HTTP sessions).

* :func:`apply_target` - the runner hands the full target URL (``http://user:pass@host/?token=x``) to the
  children in an environment variable, never in a file. This registers its secrets for redaction, and
  patches Locust's two sessions (``FastHttpSession`` of ``FastHttpUser``, ``HttpSession`` of ``HttpUser``):
  a session whose base URL is the target's host sends the credentials as an ``Authorization`` header
  and keeps the target's query on every relative path (:func:`pytest_artemis.redact.join`). Sessions for
  other hosts get neither. Returns the host Locust is given: no credentials, no query.
* :func:`redact_locust` - Locust's statistics (request names and errors: its CSV, HTML report and the
  workers' reports to the master), its table of task exceptions and every log line keep only
  :func:`pytest_artemis.redact.redact`-ed text, so a URL with a token in an error message shows ``token=***``.
  An unnamed ``HttpSession`` request is named by the path as given (without the target's query).
* :func:`connect_failure` - the error of a request that never reached the target (refused, reset,
  unreachable, DNS), or None when the target answered (any HTTP status, even 5xx, means it is up).
"""

from __future__ import annotations

import errno
import logging
import socket
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from locust import runners as locust_runners
from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession
from locust.stats import RequestStats, StatsError

from pytest_artemis.redact import join, redact, split_credentials

__all__ = ["RedactingFormatter", "apply_target", "connect_failure", "redact_locust"]

_CONNECT_ERRNOS = frozenset({errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EHOSTUNREACH,
                             errno.ENETUNREACH, errno.EPIPE})


def _is_absolute(path: str) -> bool:
    return path[:7].lower() == "http://" or path[:8].lower() == "https://"


def _patch_session(cls: type, host: str, headers: dict[str, str], query: str, fast: bool) -> None:
    if getattr(cls, "_artemis_patched", False):
        return
    original_init = cls.__init__  # type: ignore[misc]
    original_build = cls._build_url  # type: ignore[attr-defined]

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self._artemis_query = ""
        if str(self.base_url or "").rstrip("/") != host:
            return  # another host: none of the target's credentials
        if "Authorization" in headers:
            if fast:
                self.auth_header = headers["Authorization"]
            else:
                self.headers.update(headers)
        self._artemis_query = query

    def _build_url(self: Any, path: str) -> str:
        query = getattr(self, "_artemis_query", "")
        if query and not _is_absolute(path):
            return join(f"{str(self.base_url).rstrip('/')}?{query}", path)
        return str(original_build(self, path))

    cls.__init__ = __init__  # type: ignore[misc]
    cls._build_url = _build_url  # type: ignore[attr-defined]
    cls._artemis_patched = True  # type: ignore[attr-defined]
    if fast:
        return
    original_request = cls.request  # type: ignore[attr-defined]

    def request(self: Any, method: Any, url: Any, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        # HttpSession names an unnamed request by the path it sent, which now carries the target's query:
        # name it by the path as given instead, as FastHttpSession does
        ours = bool(getattr(self, "_artemis_query", ""))
        if ours and not name and not self.request_name and not _is_absolute(str(url)):
            name = str(url)
        return original_request(self, method, url, name, *args, **kwargs)

    cls.request = request  # type: ignore[attr-defined]


def apply_target(url: str) -> str:
    """Send ``url``'s credentials and query with every request to its host; return the host for Locust."""
    base, headers = split_credentials(url)  # registers the password and secret query values for redact()
    parts = urlsplit(base)
    host = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    if headers or parts.query:
        _patch_session(FastHttpSession, host, headers, parts.query, fast=True)
        _patch_session(HttpSession, host, headers, parts.query, fast=False)
    return host


class RedactingFormatter(logging.Formatter):
    """A log formatter whose every line went through :func:`redact`."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def redact_locust() -> None:
    """Keep secrets out of Locust's error statistics, its exception table and the log of this process."""
    if getattr(RequestStats, "_artemis_redacted", False):
        return
    log_request, log_error = RequestStats.log_request, RequestStats.log_error

    def redacted_log_request(self: RequestStats, method: str, name: str, response_time: int,
                             content_length: int) -> None:
        log_request(self, method, redact(str(name)), response_time, content_length)

    def redacted_log_error(self: RequestStats, method: str, name: str, error: Exception | str | None) -> None:
        log_error(self, method, redact(str(name)), None if error is None else redact(StatsError.parse_error(error)))

    log_exception = locust_runners.Runner.log_exception

    def redacted_log_exception(self: Any, node_id: str, msg: str, formatted_tb: str) -> None:
        log_exception(self, node_id, redact(str(msg)), redact(str(formatted_tb)))

    RequestStats.log_request = redacted_log_request  # type: ignore[method-assign]
    RequestStats.log_error = redacted_log_error  # type: ignore[method-assign]
    locust_runners.Runner.log_exception = redacted_log_exception  # type: ignore[method-assign]
    RequestStats._artemis_redacted = True  # type: ignore[attr-defined]
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter(handler.formatter._fmt if handler.formatter else None))


def _connect_error(err: BaseException) -> bool:
    if isinstance(err, (ConnectionError, socket.gaierror)):
        return True
    if isinstance(err, OSError) and err.errno in _CONNECT_ERRNOS:
        return True
    try:
        from requests.exceptions import ConnectionError as RequestsConnectionError
    except ImportError:  # pragma: no cover - Locust depends on requests
        return False
    return isinstance(err, RequestsConnectionError)


def connect_failure(exception: BaseException | None, response: Any = None) -> BaseException | None:
    """The connection error behind a failed request (also under a catch_response failure), else None."""
    if exception is None:
        return None
    for err in (exception, getattr(response, "error", None)):
        if isinstance(err, BaseException) and _connect_error(err):
            return err
    return None
