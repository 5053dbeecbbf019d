"""Who may reach what on the reference service: the bearer tokens of ``/admin`` and ``/metrics``, and the metrics port.

* :func:`check_token` - ``None`` when a request carries the expected token; else the 401 (no credential) or
  403 (wrong credential) response. Accepted: ``Authorization: Bearer <token>``, and for ``/metrics`` also
  HTTP basic auth with the token as password (any user name): what Prometheus' ``basic_auth.password_file``
  sends, the form the kit's scrape config uses (see manifests/monitoring/prometheus.yml).
* :func:`wrong_port` - with ``ARTEMIS_METRICS_PORT`` set, the metrics port serves ``/metrics`` only and the
  main port everything but ``/metrics``; the other requests get 404, before anything counts them.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from starlette.responses import JSONResponse, Response
from starlette.types import Scope

__all__ = ["METRICS_PATH", "check_token", "wrong_port"]

METRICS_PATH = "/metrics"


def _credential(header: str, allow_basic: bool) -> str | None:
    """The token an ``Authorization`` header carries (bearer, or basic-auth password), None when it has none."""
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if not value:
        return None
    if scheme.lower() == "bearer":
        return value
    if allow_basic and scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""  # a credential, just not a readable one: rejected as wrong
        return decoded.partition(":")[2]
    return None


def check_token(header: str, expected: str | None, *, realm: str, disabled: str | None = None,
                allow_basic: bool = False) -> Response | None:
    """None when ``header`` carries ``expected``; else the response refusing the request.

    No credential: 401 with ``WWW-Authenticate: Bearer realm=...``. A wrong one: 403. With ``expected`` None
    and ``disabled`` given, every request gets 403 with that message (the endpoint is switched off).
    """
    given = _credential(header, allow_basic)
    if given is None:
        return JSONResponse({"error": "bearer token required"}, status_code=401,
                            headers={"WWW-Authenticate": f'Bearer realm="{realm}"'})
    if expected is None:
        return JSONResponse({"error": disabled or "endpoint disabled"}, status_code=403)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return JSONResponse({"error": "bearer token rejected"}, status_code=403)
    return None


def wrong_port(scope: Scope, metrics_port: int | None) -> Response | None:
    """The 404 for a request on the wrong port when /metrics has a port of its own; None otherwise."""
    if metrics_port is None:
        return None
    server = scope.get("server")
    if not server or len(server) < 2 or server[1] is None:
        return None  # no local address known (a test client): serve everything
    on_metrics_port = int(server[1]) == metrics_port
    wants_metrics = scope.get("path") == METRICS_PATH
    if on_metrics_port == wants_metrics:
        return None
    why = f"/metrics is served on port {metrics_port}" if wants_metrics else "this port serves /metrics only"
    return JSONResponse({"error": f"not found: {why}"}, status_code=404)
