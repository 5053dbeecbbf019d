"""The probes suite (``suites/test_probes_smoke.py``) works against a target URL with credentials and a query.

A small threaded HTTP server on 127.0.0.1, started by each test, answers 200 on the three probe paths only
when the request carries the URL's basic-auth credentials and its ``token`` query, and records the path and
query of every request. The suite runs through pytester against it, its probe spec read from the kit's
``manifests/base``; the Prometheus tests (this server exposes no metrics) and the probes-under-load test (a load
scenario is not what this checks) are deselected, and the tests that switch faults or start a service of their
own skip (no admin endpoint).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from servers import serving

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "suites" / "test_probes_smoke.py"
PROBE_PATHS = ("/health", "/health/live", "/health/ready")
USER, PASSWORD, TOKEN = "probe-user", "Pw8probe@Kx", "Tk8probeMz"  # the password goes URL-encoded: %40


@dataclass
class GuardedServer:
    """What the server saw: (path, query, authorized) per request; ``base`` is its URL without credentials."""

    base: str
    seen: list[tuple[str, str, bool]] = field(default_factory=list)

    def url(self, password: str = PASSWORD) -> str:
        scheme, _, host = self.base.partition("://")
        return f"{scheme}://{USER}:{password.replace('@', '%40')}@{host}/?token={TOKEN}"


@pytest.fixture
def guarded() -> Iterator[GuardedServer]:
    """The server on a free 127.0.0.1 port, stopped after the test."""
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            authorized = (self.headers.get("Authorization") == expected
                          and parse_qs(parts.query).get("token") == [TOKEN])
            state.seen.append((parts.path, parts.query, authorized))
            known = parts.path in PROBE_PATHS or parts.path == "/"
            status = 404 if not known else 200 if authorized else 401
            body = b'{"status": "ok"}' if status == 200 else b'{"error": "no"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler, "guarded-probe-server") as url:
        state = GuardedServer(url)
        # httpx imports its transports on first use: once here, so the in-process session below shares them
        assert httpx.get(state.base + "/", timeout=5).status_code == 401
        state.seen.clear()
        yield state


def _run_suite(pytester: pytest.Pytester, url: str) -> pytest.RunResult:
    return pytester.runpytest(str(SUITE), "-m", "probes", "-k", "not prometheus and not load_scenario",
                              "--artemis-target", url, "-p", "pytest_artemis.fixtures.probes",
                              "--artemis-artifacts", str(pytester.path / "artifacts"),
                              "--artemis-history", str(pytester.path / "history"), "-p", "no:cacheprovider")


def test_probes_send_the_credentials_and_keep_the_query_of_the_target_url(
        pytester: pytest.Pytester, guarded: GuardedServer) -> None:
    result = _run_suite(pytester, guarded.url())
    result.assert_outcomes(passed=3, skipped=8)  # the fault-switch tests need the reference service's admin
    probes = sorted({(path, query, ok) for path, query, ok in guarded.seen if path in PROBE_PATHS})
    assert probes == [(path, f"token={TOKEN}", True) for path in sorted(PROBE_PATHS)], guarded.seen
    assert all(ok for _, _, ok in guarded.seen), guarded.seen  # the session's first GET of the target too
    output = result.stdout.str()
    assert PASSWORD not in output and "Pw8probe%40Kx" not in output and TOKEN not in output


def test_probes_with_a_wrong_password_fail_and_show_neither_password_nor_token(
        pytester: pytest.Pytester, guarded: GuardedServer) -> None:
    wrong = "Wr8wrongQz"
    result = _run_suite(pytester, guarded.url(wrong))
    result.assert_outcomes(failed=3, skipped=8)
    assert guarded.seen and not any(ok for _, _, ok in guarded.seen), guarded.seen
    assert {path for path, _, _ in guarded.seen} >= set(PROBE_PATHS)
    output = result.stdout.str()
    refused = "*startupProbe GET /health (manifests/base/deployment.yaml:*): expected 200-399 within timeoutSeconds " \
        "2 s, got 401 in * ms*"
    result.stdout.fnmatch_lines([f"*probe = <Probe http://{USER}:***@127.0.0.1:*/?token=***>*", refused])
    assert wrong not in output and TOKEN not in output, [ln for ln in output.splitlines() if wrong in ln or TOKEN in ln]
