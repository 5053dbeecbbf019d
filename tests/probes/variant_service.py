"""A reference-service variant for the probe tests: a test fixture, not a change of the bundled service.

The bundled reference service has no switch for two probe faults the probes gate must catch, so this variant
wraps the unchanged application with them (what a switch in ``services/target`` would add):

* ``ARTEMIS_VARIANT_SLOW_PATHS=/health/ready`` (comma-separated) with ``ARTEMIS_VARIANT_PROBE_LATENCY_MS=2300``
  - a latency fault on these probe paths (the service's own ``latency_ms`` slows ``/api`` only): a readiness
  probe doing expensive dependency checks, while the API stays fast;
* ``ARTEMIS_VARIANT_LIVENESS_FOLLOWS_DEPENDENCIES=1`` - ``/health/live`` answers 503 while a dependency is
  down, as a liveness probe wired to the readiness checks does.

``python variant_service.py --port N`` serves it with the real server's SIGTERM drain; :func:`start_variant`
starts it as a managed child with an admin token and returns a ``Target`` like the session's own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SLOW_PATHS = "ARTEMIS_VARIANT_SLOW_PATHS"
PROBE_LATENCY_MS = "ARTEMIS_VARIANT_PROBE_LATENCY_MS"
LIVENESS_FOLLOWS = "ARTEMIS_VARIANT_LIVENESS_FOLLOWS_DEPENDENCIES"
HERE = Path(__file__).resolve()


class VariantApp:
    """The reference application with the variant's probe faults in front of it."""

    def __init__(self, app: Any, slow_paths: frozenset[str], latency_ms: float, liveness_follows: bool) -> None:
        self.app, self.runtime = app, app.runtime
        self.slow_paths, self.latency_ms, self.liveness_follows = slow_paths, latency_ms, liveness_follows

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            faults = self.runtime.faults
            if scope["path"] in self.slow_paths and self.latency_ms > 0:
                await asyncio.sleep(self.latency_ms / 1000)
            if self.liveness_follows and scope["path"] == "/health/live" and faults.dependencies_down:
                from starlette.responses import JSONResponse

                body = {"status": "dead", "reasons": [f"dependency {d} down" for d in faults.dependencies_down]}
                await JSONResponse(body, status_code=503)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from pytest_artemis.services.target.app import create_app
    from pytest_artemis.services.target.faults import Settings
    from pytest_artemis.services.target.server import DrainingServer

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    app = create_app(settings)
    slow = frozenset(p.strip() for p in os.environ.get(SLOW_PATHS, "").split(",") if p.strip())
    latency = float(os.environ.get(PROBE_LATENCY_MS, "0") or 0)
    follows = os.environ.get(LIVENESS_FOLLOWS, "") in ("1", "true", "yes")
    config = uvicorn.Config(VariantApp(app, slow, latency, follows), host="127.0.0.1", port=args.port, access_log=False,
                            log_level="info", lifespan="on", timeout_graceful_shutdown=5)
    server = DrainingServer(config, app.runtime)
    server.run()
    return 0 if server.started else 1


def start_variant(log_dir: Path, *, env: Mapping[str, str] | None = None, faults: Mapping[str, Any] | None = None,
                  name: str = "variant") -> Any:
    """Start the variant on a free loopback port (as ``start_reference_service`` starts the real one)."""
    from pytest_artemis.services.processes import ManagedProcess, free_port, http_ok
    from pytest_artemis.services.target.control import SERVICE_ENV, AdminClient, Target, service_env
    from pytest_artemis.services.target.faults import ENV_PREFIX

    port, token = free_port(), secrets.token_urlsafe(16)
    child_env = {k: v for k, v in os.environ.items() if k not in SERVICE_ENV and not k.startswith(ENV_PREFIX)}
    child_env.update({"ARTEMIS_ADMIN_TOKEN": token, "ARTEMIS_DRAIN_SECONDS": "0.2", "PYTHONUNBUFFERED": "1"})
    child_env.update(env or {})
    child_env.update(service_env(faults))
    log_path = Path(log_dir) / f"{name}-{port}.log"
    process = ManagedProcess(f"reference service variant {name}", [sys.executable, str(HERE), "--port", str(port)],
                             log_path=log_path, env=child_env, stop_timeout=5.0)
    url = f"http://127.0.0.1:{port}"
    process.start()
    try:
        process.wait_ready(http_ok(url + "/health/live"), timeout=20)
    except BaseException:
        process.stop()
        raise
    admin = AdminClient(url, token, name=process.name, explain=process.diagnosis)
    return Target(url=url, managed=True, admin=admin, admin_token=token, log_path=log_path, process=process)


if __name__ == "__main__":
    sys.exit(main())
