"""An HTTP emulation of the Kubernetes API on 127.0.0.1, enough for the cluster fixtures (and honest about it).

What it does as a real API server does: server-set fields (``uid``, ``resourceVersion``, ``generation`` bumped
on spec changes only, ``creationTimestamp``, ``managedFields``); 404, 409 (exists, stale ``resourceVersion``,
apply conflicts with another field manager unless ``force``) and 415 answers with ``Status`` bodies; label
selectors (``k=v``, ``k!=v``, ``k``); namespaced objects only in existing namespaces, deleted with them;
server-side apply (``application/apply-patch+yaml``, ``fieldManager`` required) that creates or updates;
``GET .../pods/NAME/log`` with ``tailLines``, ``container``, ``previous``, ``timestamps`` and ``sinceTime``; ``/version``.
What it leaves out: watches, discovery, strategic merge, field-level ownership (a conflict is a different
manager changing an owned object's spec), admission, authentication (any bearer token is accepted).
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from pytest_artemis.clients.kube import KINDS

PLURAL_KIND = {plural: kind for kind, (plural, _) in KINDS.items()} | {"events": "Event"}
Key = tuple[str, str, str, str]  # (group/version, plural, namespace or "", name)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def body(self) -> dict[str, Any]:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message,
                "reason": self.reason, "code": self.code}


def matches(labels: dict[str, str], selector: str) -> bool:
    """A label selector of equality terms: ``k=v``, ``k==v``, ``k!=v`` and ``k`` (exists)."""
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term not in labels:
            return False
    return True


class Store:
    """The objects, with the server's own bookkeeping."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.objects: dict[Key, dict[str, Any]] = {}
        #: (namespace, pod, container, previous) -> lines, each text or (RFC 3339 time it was written, text)
        self.logs: dict[tuple[str, str, str, bool], list[Any]] = {}
        self._rv = itertools.count(1000)
        self.requests: list[str] = []

    def next_rv(self) -> str:
        return str(next(self._rv))

    def get(self, key: Key) -> dict[str, Any]:
        with self.lock:
            if key not in self.objects:
                raise ApiError(404, "NotFound", f'{key[1]} "{key[3]}" not found')
            return self.objects[key]

    def items(self, gv: str, plural: str, namespace: str = "", selector: str = "") -> Iterator[dict[str, Any]]:
        with self.lock:
            found = [o for k, o in self.objects.items() if k[0] == gv and k[1] == plural
                     and (not namespace or k[2] == namespace)]
        return (o for o in found if matches(o["metadata"].get("labels") or {}, selector))

    def create(self, key: Key, obj: dict[str, Any], manager: str = "", operation: str = "Update") -> dict[str, Any]:
        with self.lock:
            if key in self.objects:
                raise ApiError(409, "AlreadyExists", f'{key[1]} "{key[3]}" already exists')
            if key[2] and ("v1", "namespaces", "", key[2]) not in self.objects:
                raise ApiError(404, "NotFound", f'namespaces "{key[2]}" not found')
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            meta.update(name=key[3], uid=str(uuid.uuid4()), resourceVersion=self.next_rv(), creationTimestamp=now())
            if key[2]:
                meta["namespace"] = key[2]
            if "spec" in obj:
                meta["generation"] = 1
            obj["apiVersion"] = obj.get("apiVersion") or ("v1" if key[0] == "v1" else key[0])
            obj["kind"] = obj.get("kind") or PLURAL_KIND[key[1]]
            if manager:
                meta["managedFields"] = [{"manager": manager, "operation": operation, "time": now()}]
            self.objects[key] = obj
            return obj

    def replace(self, key: Key, obj: dict[str, Any], manager: str = "", operation: str = "Update",
                check_rv: bool = True) -> dict[str, Any]:
        """A whole-object update (PUT): status kept, spec change bumps ``generation``."""
        with self.lock:
            old = self.get(key)
            sent_rv = (obj.get("metadata") or {}).get("resourceVersion")
            if check_rv and sent_rv and sent_rv != old["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {key[1]} "{key[3]}": the object '
                               "has been modified; please apply your changes to the latest version and try again")
            new = copy.deepcopy(obj)
            meta = new.setdefault("metadata", {})
            for name in ("name", "namespace", "uid", "creationTimestamp", "generation", "ownerReferences"):
                if name in old["metadata"]:
                    meta[name] = old["metadata"][name]
            if "status" in old:
                new["status"] = old["status"]
            if "spec" in new and new.get("spec") != old.get("spec"):
                meta["generation"] = int(old["metadata"].get("generation", 0)) + 1
            fields = [f for f in old["metadata"].get("managedFields", []) if f["manager"] != manager]
            meta["managedFields"] = fields + ([{"manager": manager, "operation": operation, "time": now()}]
                                              if manager else [])
            meta["resourceVersion"] = self.next_rv()
            self.objects[key] = new
            return new

    def apply(self, key: Key, applied: dict[str, Any], manager: str, force: bool) -> dict[str, Any]:
        with self.lock:
            if key not in self.objects:
                return self.create(key, applied, manager, "Apply")
            old = self.objects[key]
            others = [f["manager"] for f in old["metadata"].get("managedFields", []) if f["manager"] != manager]
            changed = {k for k in applied if k not in ("apiVersion", "kind", "metadata") and applied[k] != old.get(k)}
            if others and changed and not force:
                raise ApiError(409, "Conflict", f"Apply failed with {len(changed)} conflict(s): conflict with "
                               f'"{others[0]}": .{min(changed)}')
            new = copy.deepcopy(old)
            new.update({k: v for k, v in applied.items() if k != "metadata"})
            for part in ("labels", "annotations"):
                merged = {**(old["metadata"].get(part) or {}), **((applied.get("metadata") or {}).get(part) or {})}
                if merged:
                    new["metadata"][part] = merged
            new["metadata"].pop("resourceVersion", None)
            return self.replace(key, new, manager, "Apply", check_rv=False)

    def set_status(self, key: Key, status: dict[str, Any]) -> None:
        with self.lock:
            obj = self.objects.get(key)
            if obj is not None and obj.get("status") != status:
                obj["status"] = copy.deepcopy(status)
                obj["metadata"]["resourceVersion"] = self.next_rv()

    def delete(self, key: Key) -> dict[str, Any]:
        with self.lock:
            obj = self.get(key)
            del self.objects[key]
            if key[:2] == ("v1", "namespaces"):
                for other in [k for k in self.objects if k[2] == key[3]]:
                    del self.objects[other]
            return obj


def parse_path(path: str) -> tuple[str, str, str, str, str]:
    """(group/version, plural, namespace, name, subresource) of an API path."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        gv, rest = "v1", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        gv, rest = f"{parts[1]}/{parts[2]}", parts[3:]
    else:
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or rest[0] not in PLURAL_KIND or len(rest) > 3:
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
    return gv, rest[0], namespace, rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else ""


class Handler(BaseHTTPRequestHandler):
    server: ApiServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            return yaml.safe_load(raw) if raw else None
        except yaml.YAMLError as err:
            raise ApiError(400, "BadRequest", f"the body cannot be decoded: {err}") from None

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        store = self.server.store
        store.requests.append(f"{method} {url.path}")
        try:
            if url.path == "/version":
                self._send(200, self.server.version)
                return
            gv, plural, namespace, name, sub = parse_path(url.path)
            key = (gv, plural, namespace, name)
            if sub == "log" and plural == "pods" and method == "GET":
                self._logs(key, query)
            elif sub:
                raise ApiError(404, "NotFound", f"subresource {sub} is not emulated")
            elif method == "GET" and name:
                self._send(200, store.get(key))
            elif method == "GET":
                items = list(store.items(gv, plural, namespace, query.get("labelSelector", "")))
                self._send(200, {"apiVersion": "v1" if gv == "v1" else gv, "kind": PLURAL_KIND[plural] + "List",
                                 "metadata": {"resourceVersion": store.next_rv()}, "items": items})
            elif method == "POST" and not name:
                body = self._body() or {}
                key = (gv, plural, namespace, (body.get("metadata") or {}).get("name", ""))
                self._send(201, store.create(key, body, query.get("fieldManager", ""), "Update"))
            elif method == "PUT" and name:
                self._send(200, store.replace(key, self._body() or {}, query.get("fieldManager", "")))
            elif method == "PATCH" and name:
                self._patch(key, query)
            elif method == "DELETE" and name:
                store.delete(key)
                self._send(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
            else:
                raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on {url.path}")
        except ApiError as err:
            self._send(err.code, err.body())

    def _patch(self, key: Key, query: dict[str, str]) -> None:
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("application/apply-patch"):
            raise ApiError(415, "UnsupportedMediaType", f"the patch type {content_type} is not emulated "
                           "(only server-side apply)")
        manager = query.get("fieldManager", "")
        if not manager:
            raise ApiError(400, "BadRequest", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required "
                           "value: is required for apply patch")
        body = self._body() or {}
        if (body.get("metadata") or {}).get("name") != key[3]:
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        code = 200 if key in self.server.store.objects else 201
        self._send(code, self.server.store.apply(key, body, manager, query.get("force") == "true"))

    def _logs(self, key: Key, query: dict[str, str]) -> None:
        pod = self.server.store.get(key)
        containers = [c["name"] for c in pod["spec"]["containers"]]
        container = query.get("container") or containers[0]
        previous = query.get("previous") == "true"
        lines = self.server.store.logs.get((key[2], key[3], container, previous))
        if lines is None and previous:
            raise ApiError(400, "BadRequest", f'previous terminated container "{container}" in pod "{key[3]}" '
                           "not found")
        entries = [e if isinstance(e, tuple) else (now(), e) for e in lines or []]  # (RFC 3339 time, text)
        since = query.get("sinceTime")
        if since:  # whole seconds, as the API counts them
            entries = [e for e in entries if e[0][:19] >= since.removesuffix("Z")[:19]]
        tail = int(query.get("tailLines", "0") or 0)
        chosen = entries[-tail:] if tail else entries
        stamps = query.get("timestamps") == "true"
        self._send(200, "".join((f"{t} " if stamps else "") + text + "\n" for t, text in chosen), "text/plain")

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, store: Store) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.store = store
        self.version = {"major": "1", "minor": "34", "gitVersion": "v1.34.0-artemis-emulator", "gitCommit": "0" * 40,
                        "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.24",
                        "compiler": "gc", "platform": "linux/amd64"}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def write_kubeconfig(self, path: Path, context: str = "emulator") -> Path:
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": {"token": "emulator-token"}}],
            "contexts": [{"name": context, "context": {"cluster": "emulator", "user": "tester"}}],
        }), encoding="utf-8")
        return path
