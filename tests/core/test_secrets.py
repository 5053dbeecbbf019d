"""A target URL's secrets (password in its userinfo, plain or URL-encoded; ``token``, ``api_key`` and ``sig``
query values) never show in anything the plugin writes or prints.

The end-to-end test starts the reference service on 127.0.0.1, names it with every secret form in
``--artemis-target`` and runs a session through pytester (a smoke load gate; probes tests that record the
URL, attach a file naming it, carry it in their test id, fail and skip naming it) with a verdict file,
Allure results and a junit report; then every file the session wrote (and every file name) and its
terminal output are searched for each secret. The username may show. What pytest itself writes of the
user's own text (the failing test's traceback on the terminal and in junit.xml) is the user's and is left
out; Allure's copy of it is rewritten by the plugin at session end. The unit tests check
:func:`~pytest_artemis.redact.redact` on each form, ``attach`` and the Allure post-processing.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote
from xml.etree import ElementTree

import psutil
import pytest

from pytest_artemis.findings import Finding
from pytest_artemis.record import attach
from pytest_artemis.redact import MASK, redact, redact_data, split_credentials
from pytest_artemis.reporting.allure_session import redact_results
from pytest_artemis.services.target.control import Target

USER = "artemis-user"
#: Each secret's distinctive parts: a form that shows any of them (encoded, decoded, cut) is a leak.
PLAIN_PASSWORD = "Pw7plainQx"
CODED_PASSWORD = "Pw7cod@d/Zy"  # URL-encoded in the URL: Pw7cod%40d%2FZy
TOKEN, API_KEY, SIG = "Tk7tokenVb", "Ak7apikeyNm", "Sg7sig+Hj/Lq="  # sig URL-encoded: Sg7sig%2BHj%2FLq%3D

SESSION = '''
import os

import pytest
from pytest_artemis.load.probes import http_get


@pytest.mark.load
def test_load_gate_holds(load_exercise):
    load_exercise.assert_gates()


@pytest.mark.probes
def test_readiness_is_recorded_with_the_url(target_url, artemis_record, artemis_artifacts):
    status, _ = http_get(target_url, "/health/ready", 5.0)
    artemis_record.measurement("readiness status", status, limit=200, comparison="==", passed=status == 200,
                               message=f"GET {target_url}/health/ready answered {status}", url=target_url)
    note = artemis_artifacts / "user-note.txt"  # the user's own file; Allure's copy of it is the plugin's
    note.write_text(f"probed {target_url}")
    artemis_record.artifact("probe note", note)
    assert status == 200


@pytest.mark.probes
@pytest.mark.parametrize("url", [os.environ["SECRETS_TEST_URL"]])
def test_parametrized_with_the_url(url, artemis_record, artemis_artifacts):
    artemis_record.measurement("url length", len(url), "chars", limit=1000, comparison="<", passed=True)


@pytest.mark.probes
def test_fails_naming_the_url(target_url, artemis_record):
    artemis_record.measurement("fitness", 0, limit=1, comparison=">=", passed=False,
                               message=f"{target_url} is not fit")
    assert False, f"target {target_url} is not fit for release"


@pytest.mark.probes
def test_skips_naming_the_url(target_url):
    pytest.skip(f"not today on {target_url}")
'''


def _secret_parts() -> dict[str, bytes]:
    """What must never be written: every password and secret query part, and the basic-auth tokens."""
    parts = {"plain password": PLAIN_PASSWORD, "encoded password (part 1)": "Pw7cod",
             "encoded password (part 2)": "d/Zy", "encoded password (part 2, encoded)": "d%2FZy",
             "token": TOKEN, "api_key": API_KEY, "sig (part 1)": "Sg7sig", "sig (part 2)": "Hj/Lq",
             "sig (part 2, encoded)": "Hj%2FLq"}
    for password in (PLAIN_PASSWORD, CODED_PASSWORD):
        parts[f"basic auth of {password[:6]}"] = base64.b64encode(f"{USER}:{password}".encode()).decode()
    return {name: value.encode() for name, value in parts.items()}


def _url(base: str, password: str) -> str:
    """``base`` with ``USER:password`` (URL-encoded) and the token, api_key and sig queries."""
    scheme, _, host = base.partition("://")
    query = f"token={TOKEN}&api_key={API_KEY}&sig={quote(SIG, safe='')}"
    return f"{scheme}://{USER}:{quote(password, safe='')}@{host}/?{query}"


def _leaks(text: bytes) -> list[str]:
    return [name for name, secret in _secret_parts().items() if secret in text]


def _pytests_own_failure_text(output: str) -> str:
    """The terminal output without pytest's traceback and summary line of ``test_fails_naming_the_url``."""
    lines = output.splitlines()
    kept: list[str] = []
    skipping = False
    for line in lines:
        if re.match(r"^_{3,} test_fails_naming_the_url _{3,}$", line):
            skipping = True
            continue
        if skipping and re.match(r"^(_{3,}|={3,}) ", line):
            skipping = False
        if not skipping and not line.startswith("FAILED test_session.py::test_fails_naming_the_url"):
            kept.append(line)
    return "\n".join(kept)


def _stop_locust_children(under: Path) -> list[int]:
    """Kill Locust children whose run directory lies under ``under`` (left over only by a failed run)."""
    left = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info.get("cmdline") or [])
        if "pytest_artemis.load.child" in cmdline and str(under) in cmdline:
            left.append(process.pid)
            process.kill()
    return left


# --------------------------------------------------------------------------- end to end


@pytest.mark.parametrize("password", [PLAIN_PASSWORD, CODED_PASSWORD], ids=["plain password", "url-encoded password"])
def test_no_secret_of_the_target_url_reaches_any_file_or_the_terminal(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, reference: Target, password: str) -> None:
    url = _url(reference.url, password)
    monkeypatch.setenv("SECRETS_TEST_URL", url)  # a parametrize value (and so a test id) of the session
    pytester.makepyfile(test_session=SESSION)
    try:
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--artemis-target", url, "--artemis-profile", "smoke",
            "--artemis-load-path", "/api/v1/missions", "--artemis-verdict", "v.json", "--alluredir", "allure",
            "--junitxml", "junit.xml", timeout=240)
    finally:
        left = _stop_locust_children(pytester.path)
    assert not left, f"Locust children left running: {left}"
    result.assert_outcomes(passed=3, failed=1, skipped=1)
    verdict = json.loads((pytester.path / "v.json").read_text())
    assert verdict["status"] == "complete" and verdict["gates"]["load"]["verdict"] == "GO", verdict["gates"]
    assert verdict["config"]["target"].startswith(f"http://{USER}:***@127.0.0.1:")

    # the user's files, pytester's copy of the terminal, and pytest's own junit report (checked below)
    users_own = {"test_session.py", "user-note.txt", "stdout", "stderr", "junit.xml"}
    written = [p for p in sorted(pytester.path.rglob("*")) if p.is_file() and p.name not in users_own]
    assert any(p.name.endswith("-result.json") for p in written) and any(".artemis" in p.parts for p in written)
    assert any(p.name.startswith("locust") for p in written), "the load run wrote its Locust reports"
    attached = [p for p in (pytester.path / "allure").glob("*-attachment.txt") if p.read_text().startswith("probed")]
    assert [p.read_text() for p in attached] == [redact(f"probed {url}")]  # the user's note, attached redacted
    leaked = {str(p.relative_to(pytester.path)): found for p in written if (found := _leaks(p.read_bytes()))}
    assert leaked == {}, f"secrets in files: {leaked}"
    named = [str(p) for p in pytester.path.rglob("*") if _leaks(str(p.relative_to(pytester.path)).encode())]
    assert named == [], "secrets in file or directory names (a test id holding the URL)"

    properties = [p.get("value", "") for p in ElementTree.parse(pytester.path / "junit.xml").iter("property")
                  if p.get("name") == "artemis"]  # what the plugin attached to the tests' user_properties
    assert properties and _leaks("\n".join(properties).encode()) == [], properties

    output = result.stdout.str() + result.stderr.str()
    assert "ARTEMIS MISSION STATUS" in output
    masked = f"http://{USER}:***@127.0.0.1:*/?token=***&api_key=***&sig=***"
    result.stdout.fnmatch_lines([f"*test_parametrized_with_the_url?{masked}] (passed)", f"*{masked} is not fit"])
    shown = _pytests_own_failure_text(output)
    assert _leaks(shown.encode()) == [], [line for line in shown.splitlines() if _leaks(line.encode())]

    failed = next(t for t in verdict["tests"] if t["nodeid"].endswith("test_fails_naming_the_url"))
    assert failed["message"].startswith(f"AssertionError: target http://{USER}:***@127.0.0.1:")
    assert "token=***" in failed["message"] and "api_key=***" in failed["message"]


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize(("text", "expected"), [
    (f"http://{USER}:{PLAIN_PASSWORD}@h:1/x", f"http://{USER}:***@h:1/x"),
    (f"GET http://h/ready?token={TOKEN} failed", "GET http://h/ready?token=*** failed"),
    (f"http://h/?page=2&api_key={API_KEY}&x=1", "http://h/?page=2&api_key=***&x=1"),
    (f"http://h/file?sig={quote(SIG, safe='')}", "http://h/file?sig=***"),
    (f"http://{USER}:{quote(CODED_PASSWORD, safe='')}@h/", f"http://{USER}:***@h/"),
    (f"http://{USER}:Pw7raw@at@h:1/", f"http://{USER}:***@h:1/"),  # an unencoded @ in the password
    ("https://h/cb#access_token=Ax7fragQ", "https://h/cb#access_token=***"),
    ("'Authorization': 'Basic YXJ0ZW1pczpwdw=='", "'Authorization': 'Basic ***'"),
    ("Authorization: Bearer eyJhbGciOi.x", "Authorization: Bearer ***"),
    (f"test_x[http://h/?sig={SIG}]", "test_x[http://h/?sig=***]"),
], ids=["password in userinfo", "token", "api_key", "sig", "url-encoded password", "unencoded @ in password",
        "token in a fragment", "basic auth header", "bearer header", "url in a test id"])
def test_redact_masks_each_secret_form(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redact_keeps_the_username_host_path_and_harmless_query_and_is_idempotent() -> None:
    url = f"http://{USER}:{PLAIN_PASSWORD}@127.0.0.1:8080/api/v1/missions?limit=5&token={TOKEN}"
    assert redact(url) == f"http://{USER}:***@127.0.0.1:8080/api/v1/missions?limit=5&token=***"
    assert redact(redact(url)) == redact(url)
    for prose in ("basic authentication is off; key figures: p95", "send Authorization: Bearer <token>"):
        assert redact(prose) == prose


def test_what_a_test_attaches_is_redacted_before_it_reaches_user_properties() -> None:
    item = SimpleNamespace(user_properties=[])
    url = f"http://{USER}:{PLAIN_PASSWORD}@h:1/?token={TOKEN}"
    finding = Finding(check="c", severity="critical", message=f"GET {url} failed", details={"url": url})
    attach(item, findings=[finding], artifact=(f"log of {url}", "/tmp/x.log"))
    text = json.dumps(item.user_properties)  # what xdist ships and --junitxml writes
    assert PLAIN_PASSWORD not in text and TOKEN not in text and f"{USER}:***@h:1/?token=***" in text


def test_a_split_url_s_secrets_are_masked_in_every_form_they_can_be_shown_in() -> None:
    password, token = "Pw7split@x/Qq", "Tk7splitRr"
    base, headers = split_credentials(f"http://{USER}:{quote(password, safe='')}@h:1/?token={token}")
    basic = base64.b64encode(f"{USER}:{password}".encode()).decode()
    assert base == f"http://h:1/?token={token}" and headers == {"Authorization": f"Basic {basic}"}
    for shown in (password, quote(password, safe=""), token, basic, f"{{'token': '{token}'}}"):
        assert password not in redact(shown) and token not in redact(shown) and basic not in redact(shown), shown
    assert redact_data({"url": base, "headers": headers}) == {"url": "http://h:1/?token=***",
                                                                "headers": {"Authorization": f"Basic {MASK}"}}


def test_allure_result_files_written_by_allure_pytest_are_redacted_in_place(tmp_path: Path) -> None:
    url = f"http://{USER}:{PLAIN_PASSWORD}@h:1/?token={TOKEN}"
    result = {"name": "t", "statusDetails": {"message": f"AssertionError: {url}", "trace": f"E  {url}"},
              "parameters": [{"name": "url", "value": repr(url)}]}
    (tmp_path / "a-result.json").write_text(json.dumps(result), encoding="utf-8")
    (tmp_path / "b-attachment.txt").write_text(f"captured: {url}\n", encoding="utf-8")
    png = b"\x89PNG\r\n\x1a\n" + PLAIN_PASSWORD.encode()  # binary attachments are left as they are
    (tmp_path / "c-attachment.png").write_bytes(png)
    redact_results(tmp_path)
    cleaned = json.loads((tmp_path / "a-result.json").read_text())
    assert cleaned["statusDetails"]["message"] == f"AssertionError: http://{USER}:***@h:1/?token=***"
    assert PLAIN_PASSWORD not in (tmp_path / "a-result.json").read_text()
    assert (tmp_path / "b-attachment.txt").read_text() == f"captured: http://{USER}:***@h:1/?token=***\n"
    assert (tmp_path / "c-attachment.png").read_bytes() == png
