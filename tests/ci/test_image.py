"""ci/Containerfile against the kit's Deployment: multi-stage from a base pinned by digest, non-root UID 1000,
only /tmp written (read-only root filesystem), the manifests' ports, a HEALTHCHECK on the liveness probe's
path, OCI labels; hadolint passes on it."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from typing import Any

import yaml
from ci_support import ROOT, WORKFLOW, run, tool

CONTAINERFILE = ROOT / "ci" / "Containerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Containerfile, continuation lines joined, comments left out."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in CONTAINERFILE.read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        word, _, rest = pending.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        pending = ""
    return out


def runtime() -> list[tuple[str, str]]:
    """The instructions of the last stage (the image that ships)."""
    steps = instructions()
    last = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last:]


def one(stage: list[tuple[str, str]], word: str) -> str:
    found = [args for w, args in stage if w == word]
    assert len(found) == 1, f"expected one {word}, found {found}"
    return found[0]


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, args in stage:
        if word == "ENV":
            env.update(dict(pair.split("=", 1) for pair in shlex.split(args)))
    return env


def kit() -> dict[str, Any]:
    rendered = run([tool("kubectl"), "kustomize", str(ROOT / "manifests" / "base")], timeout=60)
    assert rendered.returncode == 0, rendered.stderr
    return {o["kind"]: o for o in yaml.safe_load_all(rendered.stdout) if o and o["kind"] in ("Deployment",
                                                                                             "ConfigMap")}


def base_image() -> str:
    (arg,) = [args for word, args in instructions() if word == "ARG" and args.startswith("BASE=")]
    return arg.split("=", 1)[1]


def test_hadolint_passes() -> None:
    done = run([tool("hadolint"), "--format", "json", str(CONTAINERFILE)], timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == []


def test_it_is_multi_stage_from_one_base_pinned_by_digest_that_the_workflow_runs_on_too() -> None:
    froms = [args for word, args in instructions() if word == "FROM"]
    assert len(froms) >= 2 and all(f.startswith("${BASE} AS ") for f in froms)
    assert froms[-1].endswith(" AS runtime")
    assert re.fullmatch(r"python:3\.\d+-slim@sha256:[0-9a-f]{64}", base_image())
    containers = {job["container"]["image"] for job in yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))[
        "jobs"].values() if "container" in job}
    assert containers == {base_image()}


def test_the_runtime_stage_has_no_build_tools() -> None:
    stage = runtime()
    assert not [args for word, args in stage if word == "RUN" and ("pip install" in args or "uv " in args)]
    copies = [args for word, args in stage if word == "COPY"]
    assert copies == ["--from=build /opt/venv /opt/venv"]


def test_uv_is_the_version_pyproject_pins() -> None:
    pin = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["uv"]["required-version"]
    assert f"ARG UV_VERSION={pin.lstrip('=')}" in CONTAINERFILE.read_text(encoding="utf-8")


def test_it_runs_as_the_uid_and_gid_of_the_kits_security_context() -> None:
    pod = kit()["Deployment"]["spec"]["template"]["spec"]
    assert one(runtime(), "USER") == f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}"
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_it_writes_only_to_tmp_as_the_read_only_root_filesystem_allows() -> None:
    pod = kit()["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/tmp"]
    env = env_of(runtime())
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert all(env[k].startswith("/tmp") for k in ("HOME", "TMPDIR", "MPLCONFIGDIR"))
    assert one(runtime(), "WORKDIR") == "/tmp"
    build_env = env_of(instructions()[:len(instructions()) - len(runtime())])
    assert build_env["UV_COMPILE_BYTECODE"] == "1", "byte code compiled at build time, never written at run time"


def test_it_exposes_the_manifests_ports_and_listens_where_the_kit_expects() -> None:
    objects = kit()
    (container,) = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert set(one(runtime(), "EXPOSE").split()) == {str(p) for p in ports.values()}
    entrypoint = json.loads(one(runtime(), "ENTRYPOINT"))
    assert entrypoint[entrypoint.index("--port") + 1] == str(ports["http"])
    assert entrypoint[entrypoint.index("--host") + 1] == "0.0.0.0"
    assert objects["ConfigMap"]["data"]["ARTEMIS_METRICS_PORT"] == str(ports["metrics"])


def test_the_healthcheck_asks_the_liveness_probes_path_on_the_http_port() -> None:
    (container,) = kit()["Deployment"]["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    probe = container["livenessProbe"]["httpGet"]
    healthcheck = one(runtime(), "HEALTHCHECK")
    urls = re.findall(r"http://127\.0\.0\.1:(\d+)(/[\w/]*)", healthcheck)
    assert urls == [(str(ports[probe["port"]]), probe["path"])]
    assert "CMD" in healthcheck and "--interval=" in healthcheck and "--timeout=" in healthcheck


def test_it_carries_the_oci_labels() -> None:
    labels = " ".join(args for word, args in runtime() if word == "LABEL")
    for key in ("title", "description", "source", "licenses", "version", "revision"):
        assert f"org.opencontainers.image.{key}=" in labels, key
