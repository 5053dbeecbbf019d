"""The parsers of the ``--artemis-*`` option values: each turns one raw string into a value or raises
``ValueError`` saying what it accepts (:mod:`pytest_artemis.config` names the option and its source)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "parse_bool",
    "parse_check_id",
    "parse_choice",
    "parse_context",
    "parse_executable",
    "parse_image",
    "parse_k8s_version",
    "parse_keep",
    "parse_load_param",
    "parse_name",
    "parse_path",
    "parse_port",
    "parse_readable_file",
    "parse_request_path",
    "parse_restart_limit",
    "parse_seconds",
    "parse_url",
    "parse_workers",
]

_K8S_VERSION = re.compile(r"^v?1\.\d{1,2}(\.\d+)?$")
_CHECK_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def parse_url(value: str) -> str:
    """An absolute http(s) URL with a host, returned without a trailing slash."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("an absolute http:// or https:// URL with a host, e.g. http://127.0.0.1:8000")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError as err:
        raise ValueError("a URL with a numeric port between 1 and 65535") from err
    return value.strip().rstrip("/")


def parse_choice(choices: Sequence[str]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = value.strip().lower()
        if value not in choices:
            raise ValueError("one of " + ", ".join(choices))
        return value

    parse.__doc__ = "one of " + ", ".join(choices)
    return parse


def parse_readable_file(value: str) -> Path:
    """A path to a readable file."""
    path = Path(value).expanduser()
    if not path.is_file() or not os.access(path, os.R_OK):
        raise ValueError(f"a readable file; {path} does not exist or cannot be read")
    return path


def parse_path(value: str) -> Path:
    """A file system path (it need not exist yet)."""
    if not value.strip():
        raise ValueError("a non-empty path")
    return Path(value).expanduser()


def parse_executable(value: str) -> Path:
    """A path to an executable file."""
    path = Path(value).expanduser()
    if not path.is_file() or not os.access(path, os.X_OK):
        raise ValueError(f"an executable file; {path} is not one")
    return path


def parse_name(value: str) -> str:
    """A Kubernetes name: lower-case letters, digits and '-' (RFC 1123 label, at most 63 characters)."""
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", value.strip()):
        raise ValueError("a Kubernetes name (RFC 1123 label: a-z, 0-9 and '-', at most 63 characters)")
    return value.strip()


def parse_context(value: str) -> str:
    """A kubeconfig context name."""
    if not value.strip():
        raise ValueError("a non-empty kubeconfig context name")
    return value.strip()


def parse_image(value: str) -> str:
    """A container image reference (``registry/name:tag`` or ``name@sha256:...``)."""
    text = value.strip()
    if not re.fullmatch(r"[a-z0-9][a-z0-9._/:-]*(@sha256:[0-9a-f]{64})?", text) or text.endswith((":", "/")):
        raise ValueError("a container image reference such as ghcr.io/artemis/reference-service:0.1.0")
    return text


def parse_k8s_version(value: str) -> str:
    """A Kubernetes minor version such as 1.30 (or v1.30.2)."""
    if not _K8S_VERSION.match(value.strip()):
        raise ValueError("a Kubernetes version such as 1.30")
    major_minor = value.strip().lstrip("v").split(".")
    return ".".join(major_minor[:2])


def _whole(value: str, low: int, high: int, what: str) -> int:
    """``value`` as a whole number from ``low`` to ``high``, else a ValueError saying ``what`` it accepts."""
    try:
        number = int(value)
    except ValueError as err:
        raise ValueError(what) from err
    if not low <= number <= high:
        raise ValueError(what)
    return number


def parse_check_id(value: str) -> str:
    """A check id in kebab-case, e.g. probe-readiness-missing."""
    if not _CHECK_ID.match(value.strip()):
        raise ValueError("a check id in kebab-case, e.g. probe-readiness-missing")
    return value.strip()


def parse_port(value: str) -> int:
    """A TCP port from 1 to 65535."""
    return _whole(value, 1, 65535, "a TCP port from 1 to 65535")


def parse_workers(value: str) -> int:
    """A whole number of Locust workers from 0 (local mode) to 64."""
    return _whole(value, 0, 64, "a whole number from 0 (local mode) to 64")


def parse_load_param(value: str) -> str:
    """A load scenario parameter KEY=VALUE, e.g. users=50 (keys and ranges: pytest_artemis.load.scenarios)."""
    key, sep, raw = value.partition("=")
    if not sep or not key.strip() or not raw.strip():
        raise ValueError("KEY=VALUE, e.g. users=50")
    return value.strip()


def parse_keep(value: str) -> int:
    """A whole number of session directories to keep, from 1 to 1000."""
    return _whole(value, 1, 1000, "a whole number from 1 to 1000")


def parse_request_path(value: str) -> str:
    """A request path starting with /, e.g. /health/ready."""
    if not value.strip().startswith("/") or any(c.isspace() for c in value.strip()):
        raise ValueError("a request path starting with /, e.g. /health/ready")
    return value.strip()


def parse_seconds(value: str) -> float:
    """A number of seconds above 0 and at most 86400, e.g. 300 or 2.5."""
    try:
        number = float(value)
    except ValueError as err:
        raise ValueError("a number of seconds above 0 and at most 86400, e.g. 300") from err
    if not 0 < number <= 86400:
        raise ValueError("a number of seconds above 0 and at most 86400, e.g. 300")
    return number


def parse_restart_limit(value: str) -> int:
    """A whole number of container restarts from 0 to 100."""
    return _whole(value, 0, 100, "a whole number of restarts from 0 to 100")


def parse_bool(value: str) -> bool:
    """true/false, yes/no, 1/0, on/off."""
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("true or false")


# --------------------------------------------------------------------------- option table
