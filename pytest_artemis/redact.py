"""Secrets out of everything the plugin shows or writes, and URLs that carry credentials.

:func:`redact` is the one redaction applied at every exit (verdict file, Allure, terminal, mission
report, artifacts, the plugin's own error messages): passwords in URLs (``user:pass@``) and secret query
parameters (``token``, ``api_key``, ``sig`` ... in a query or a fragment) and ``Authorization`` header values
become ``***``, and so does every secret registered with :func:`register_secret` or :func:`register_url` (the
credentials of the session's target, whatever form they are shown in: decoded, URL-encoded, as basic auth).
:func:`split_credentials` turns ``http://user:pass@host/?token=x`` into a clean base URL, the query to keep
and an ``Authorization`` header; :func:`join` adds a path to a base URL without losing its query.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

__all__ = [
    "MASK",
    "SECRET_PARAMS",
    "join",
    "redact",
    "redact_data",
    "redact_url",
    "register_secret",
    "register_url",
    "split_credentials",
]

MASK = "***"

#: Query parameter names whose values are secrets (compared lower-case, '-' read as '_').
SECRET_PARAMS: frozenset[str] = frozenset({
    "token", "access_token", "id_token", "refresh_token", "auth", "auth_token", "api_key", "apikey", "key",
    "secret", "client_secret", "password", "passwd", "pwd", "sig", "signature", "x_amz_signature",
    "x_amz_security_token", "x_amz_credential", "session", "sessionid", "code", "jwt", "bearer",
})

#: ``scheme://user:password@``; the password runs to the authority's last ``@`` (an unencoded ``@`` in it).
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/\s:@?#]*):(?P<password>[^/\s?#]*)@")
#: A query (or fragment) parameter; its value ends where a test id's ``]`` or a quote closes the URL.
_PARAM = re.compile(r"(?P<lead>[?&;#])(?P<name>[A-Za-z0-9_.-]+)=(?P<value>[^&#\s'\"<>\]]*)")
_BEARER = re.compile(r"(?P<lead>\b[Bb]earer\s+)(?P<value>[A-Za-z0-9._~+/=-]{8,})")
#: ``Authorization: Basic x``, ``'Authorization': 'Basic x'``, ``authorization=x`` (header dumps, dict reprs).
_AUTHORIZATION = re.compile(r"(?P<lead>\b(?:[Pp]roxy-)?[Aa]uthorization['\"]?\s*[:=]\s*['\"]?(?:[A-Za-z]+\s+)?)"
                            r"(?!(?:Basic|Bearer|Digest|Token|Negotiate)\b)"  # a scheme alone is no secret
                            r"(?P<value>[A-Za-z0-9._~+/=-]{3,})(?![A-Za-z0-9._~+/=*-]|\s+\*)")
_REGISTERED: set[str] = set()
_LONGEST_FIRST: list[str] = []  # _REGISTERED, longest first (a whole secret before a part of it)
#: Text without any of these shows no secret the patterns mask (the fast path of :func:`redact`).
_MAYBE = re.compile(r"://|[?&;#][A-Za-z0-9_.-]+=|[Bb]earer|[Aa]uthorization")


def register_secret(secret: str) -> None:
    """Redact ``secret`` (and its URL-encoded and basic-auth forms) wherever it appears from now on."""
    if len(secret) >= 3:
        forms = {secret, quote(secret, safe=""), unquote(secret)}
        _REGISTERED.update(forms | {json.dumps(f, ensure_ascii=False)[1:-1] for f in forms})  # as JSON shows it
        _LONGEST_FIRST[:] = sorted(_REGISTERED, key=len, reverse=True)


def register_url(url: str) -> None:
    """Register the secrets ``url`` carries: its password (decoded and encoded), the basic-auth token they make,
    and its secret query values; :func:`split_credentials` does this for every URL it splits. Never raises."""
    with contextlib.suppress(ValueError):  # a malformed port: the regular expressions still mask the URL's forms
        split_credentials(url)


def _is_secret_param(name: str) -> bool:
    return name.lower().replace("-", "_") in SECRET_PARAMS


def redact(text: str) -> str:
    """``text`` with every secret it shows replaced by ``***``."""
    if not text:
        return text
    out = text
    for secret in _LONGEST_FIRST:  # first: whole, before a pattern masks a part
        if secret in out:
            out = out.replace(secret, MASK)
    if ("=" not in out and "://" not in out and "earer" not in out and "uthorization" not in out) \
            or not _MAYBE.search(out):  # the substring tests first: each is one fast scan
        return out
    out = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", out)
    out = _PARAM.sub(lambda m: f"{m['lead']}{m['name']}={MASK}" if _is_secret_param(m["name"]) and m["value"]
                     and m["value"] != MASK else m.group(0), out)
    out = _AUTHORIZATION.sub(lambda m: f"{m['lead']}{MASK}", out)
    return _BEARER.sub(lambda m: f"{m['lead']}{MASK}", out)


def redact_url(url: str) -> str:
    """A URL with its password and secret query values replaced by ``***``."""
    return redact(url)


def redact_data(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings) with :func:`redact` applied to every string in it."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)) if isinstance(k, str) else k: redact_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v) for v in value]
    return value


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """(URL without user:password, headers to send): basic-auth credentials become an Authorization header.

    The query stays on the returned URL (it may carry the token the service wants); registered for redaction.
    """
    parts = urlsplit(url)
    headers: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if _is_secret_param(name) and value:
            register_secret(value)
    if parts.username is None and parts.password is None:
        return url, headers
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    if password:
        register_secret(password)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    register_secret(token)
    headers["Authorization"] = f"Basic {token}"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)), headers


def join(base: str, path: str) -> str:
    """``base`` + ``path`` keeping the base's query: ``join("http://h/x?token=1", "/health")`` is
    ``http://h/x/health?token=1``; a query in ``path`` is added to the base's."""
    parts = urlsplit(base)
    path_part, _, path_query = path.partition("?")
    joined_path = parts.path.rstrip("/") + "/" + path_part.lstrip("/") if path_part else parts.path
    query = "&".join(q for q in (parts.query, path_query) if q)
    return urlunsplit((parts.scheme, parts.netloc, joined_path, query, ""))
