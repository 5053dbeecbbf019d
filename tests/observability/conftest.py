"""A plain HTTP server on 127.0.0.1 for the observability tests: it answers what it is given and remembers
every request, so a test can count what reached a target."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest
from servers import serving


@dataclass
class PlainServer:
    """200 on / (and on any path given in ``pages``), 404 elsewhere; ``requests`` lists "METHOD path"."""

    url: str
    pages: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        return [r.split(" ", 1)[1] for r in self.requests]


def _serve(server: PlainServer) -> Callable[[BaseHTTPRequestHandler], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        server.requests.append(f"{handler.command} {handler.path}")
        page = server.pages.get(handler.path, "plain\n" if handler.path == "/" else None)
        body = (page if page is not None else "not found\n").encode()
        handler.send_response(200 if page is not None else 404)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return answer


@pytest.fixture
def plain_server() -> Iterator[PlainServer]:
    """A plain HTTP server (no /metrics, no admin endpoint) started for the test; stopped after it."""
    state = PlainServer(url="")
    answer = _serve(state)

    class Handler(BaseHTTPRequestHandler):
        do_GET = do_PUT = do_POST = do_DELETE = answer  # the http.server API

        def log_message(self, format: str, *args: object) -> None:  # keep the test output quiet
            pass

    with serving(Handler, "plain-http-server") as state.url:
        yield state
