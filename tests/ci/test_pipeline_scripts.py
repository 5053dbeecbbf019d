"""The scripts the pipeline runs: shellcheck on ci/*.sh, ci/stage.sh deploy and rollback against a stand-in
kubectl (a failed rollout or a failed gate afterwards returns the Deployment to the revision the deploy
replaced), the kind overlay and cluster agreeing on the port, and the job summary of verdict files."""

from __future__ import annotations

import json
import re
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ci_support import BIN, ROOT, WORKFLOW, clean_env, run, tool

STAGE = ROOT / "ci" / "stage.sh"
OLD = "ghcr.io/acme/reference-service:previous"
DIGEST = "sha256:" + "ab" * 32

# A stand-in for kubectl: `kustomize` goes to the real one; the Deployment's image and revision history live in
# a JSON file; `rollout status` fails while the image's name says "broken".
FAKE_KUBECTL = r'''#!PYTHON
import json, os, re, subprocess, sys
args = sys.argv[1:]
state_dir = os.environ["FAKE_KUBE"]
with open(os.path.join(state_dir, "calls"), "a") as log:
    log.write(json.dumps(args) + "\n")
if args and args[0] == "kustomize":
    sys.exit(subprocess.call([os.environ["REAL_KUBECTL"], *args]))
path = os.path.join(state_dir, "deployment.json")
state = json.load(open(path)) if os.path.exists(path) else {"revision": None, "history": {}}
def save():
    json.dump(state, open(path, "w"))
words = [a for a in args if not a.startswith("-")]
if "-n" in args:
    words.remove(args[args.index("-n") + 1])
if words[:3] == ["get", "deployment", "artemis"]:
    if state["revision"] is None:
        print('Error from server (NotFound): deployments.apps "artemis" not found', file=sys.stderr)
        sys.exit(1)
    print(state["revision"], end="")
elif words[:1] == ["apply"]:
    source = args[args.index("-f") + 1]
    text = sys.stdin.read() if source == "-" else open(source).read()
    images = re.findall(r"^\s+image: (\S+)", text, re.M)
    if images and images[0] != state["history"].get(str(state["revision"])):
        state["revision"] = (state["revision"] or 0) + 1
        state["history"][str(state["revision"])] = images[0]
        save()
    print("applied")
elif words[:2] == ["rollout", "status"]:
    image = state["history"].get(str(state["revision"]), "")
    if "broken" in image:
        print('error: deployment "artemis" exceeded its progress deadline', file=sys.stderr)
        sys.exit(1)
    print('deployment "artemis" successfully rolled out')
elif words[:2] == ["rollout", "undo"]:
    target = [a.split("=", 1)[1] for a in args if a.startswith("--to-revision=")][0]
    state["revision"] += 1
    state["history"][str(state["revision"])] = state["history"][target]
    save()
    print("deployment.apps/artemis rolled back")
elif words[:2] == ["get", "secret"]:
    sys.exit(1)  # not there yet
elif words[:1] == ["create"]:
    print("ok")
else:
    print("fake kubectl: unexpected " + " ".join(args), file=sys.stderr)
    sys.exit(2)
'''


class Cluster:
    """ci/stage.sh against the stand-in kubectl, with its reports and state in a temporary directory."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.kube = tmp / "kube"
        self.kube.mkdir()
        kubectl = tmp / "kubectl"
        kubectl.write_text(FAKE_KUBECTL.replace("PYTHON", sys.executable), encoding="utf-8")
        kubectl.chmod(kubectl.stat().st_mode | stat.S_IXUSR)
        (tmp / "kubeconfig").write_text("apiVersion: v1\nkind: Config\n", encoding="utf-8")
        self.env = clean_env(KUBECTL=str(kubectl), REAL_KUBECTL=tool("kubectl"), FAKE_KUBE=str(self.kube),
                             STAGE_SETUP="no", STAGE_REPORTS=str(tmp / "reports"), ARTEMIS_CI_STATE=str(tmp / "state"),
                             KUBECONFIG=str(tmp / "kubeconfig"))

    def given(self, *images: str) -> None:
        """The Deployment as it was before the pipeline ran: one revision per image."""
        history = {str(i + 1): image for i, image in enumerate(images)}
        state = {"revision": len(images) or None, "history": history}
        (self.kube / "deployment.json").write_text(json.dumps(state), encoding="utf-8")

    def stage(self, *args: str) -> Any:
        return run(["bash", str(STAGE), *args], env=self.env, cwd=self.tmp, timeout=120)

    @property
    def image(self) -> str | None:
        state = json.loads((self.kube / "deployment.json").read_text(encoding="utf-8"))
        return state["history"].get(str(state["revision"]))

    @property
    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in (self.kube / "calls").read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def cluster(tmp_path: Path) -> Cluster:
    return Cluster(tmp_path)


def test_shellcheck_passes_on_every_ci_script() -> None:
    scripts = sorted(str(p) for p in (ROOT / "ci").glob("*.sh")) + [str(ROOT / ".ci" / "run")]
    done = run([tool("shellcheck"), "--shell=bash", "--severity=style", *scripts], timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ci_run_runs_the_readmes_test_command() -> None:
    lines = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[-1] == "exec ./ci/test.sh"


def test_deploy_applies_the_overlay_with_the_image_digest_and_remembers_the_revision_it_replaced(
        cluster: Cluster) -> None:
    cluster.given("ghcr.io/acme/reference-service:first", OLD)
    done = cluster.stage("deploy", "staging", f"ghcr.io/acme/reference-service@{DIGEST}")
    assert done.returncode == 0, done.stderr
    rendered = (cluster.tmp / "reports" / "deploy" / "staging" / "rendered.yaml").read_text(encoding="utf-8")
    assert f"image: ghcr.io/acme/reference-service@{DIGEST}" in rendered
    namespaces = set(re.findall(r"^  namespace: (\S+)$", rendered, re.MULTILINE))
    assert namespaces == {"artemis-staging"}
    assert (cluster.tmp / "state" / "previous-revision-staging").read_text(encoding="utf-8").strip() == "2"
    assert cluster.image == f"ghcr.io/acme/reference-service@{DIGEST}"
    assert ["-n", "artemis-staging", "rollout", "status", "deployment/artemis", "--timeout=10m"] in cluster.calls


def test_a_failed_rollout_fails_the_deploy_and_the_rollback_restores_the_revision_it_replaced(
        cluster: Cluster) -> None:
    cluster.given(OLD)
    done = cluster.stage("deploy", "production", "ghcr.io/acme/reference-service:broken")
    assert done.returncode != 0
    assert cluster.image == "ghcr.io/acme/reference-service:broken"
    back = cluster.stage("rollback", "production")
    assert back.returncode == 0, back.stderr
    assert ["-n", "artemis-production", "rollout", "undo", "deployment/artemis", "--to-revision=1"] in cluster.calls
    assert cluster.image == OLD


def test_a_gate_failing_after_a_good_rollout_rolls_back_too(cluster: Cluster) -> None:
    cluster.given(OLD)
    assert cluster.stage("deploy", "staging", "ghcr.io/acme/reference-service:fails-its-gates").returncode == 0
    # ... the post-deploy gate fails; the workflow's rollback step (if: failure()) runs:
    back = cluster.stage("rollback", "staging")
    assert back.returncode == 0, back.stderr
    assert cluster.image == OLD
    assert "back on revision 1" in back.stderr


def test_a_first_deploy_has_nothing_to_roll_back_to_and_says_so(cluster: Cluster) -> None:
    assert cluster.stage("deploy", "staging", "ghcr.io/acme/reference-service:v1").returncode == 0
    back = cluster.stage("rollback", "staging")
    assert back.returncode == 1
    assert "did not exist before this deploy" in back.stderr


def test_a_rollback_without_a_deploy_refuses(cluster: Cluster) -> None:
    back = cluster.stage("rollback", "production")
    assert back.returncode == 1 and "nothing to roll back" in back.stderr
    assert not (cluster.kube / "calls").exists()


@pytest.mark.parametrize("image", ["ghcr.io/acme/reference-service", "localhost:5000/reference-service",
                                   "ghcr.io/acme/reference-service:v1@" + DIGEST])
def test_deploy_wants_an_image_with_a_tag_or_a_digest(cluster: Cluster, image: str) -> None:
    done = cluster.stage("deploy", "staging", image)
    assert done.returncode == 1 and image in done.stderr
    assert not (cluster.kube / "calls").exists()


def test_the_kind_deploy_brings_its_namespace_and_secret(cluster: Cluster) -> None:
    done = cluster.stage("deploy", "kind", "ghcr.io/artemis/reference-service:kind-abc")
    assert done.returncode == 0, done.stderr
    created = [c for c in cluster.calls if c[:1] == ["create"] or "create" in c[2:3]]
    assert any("namespace" in c for c in created)
    assert any("secret" in c and "artemis-secrets" in c for c in created)
    assert cluster.image == "ghcr.io/artemis/reference-service:kind-abc"


def test_the_kubeconfig_stage_writes_the_secret_to_a_private_file(cluster: Cluster) -> None:
    cluster.env["KUBECONFIG_DATA"] = "apiVersion: v1\nkind: Config\n"
    cluster.env["GITHUB_ENV"] = str(cluster.tmp / "github_env")
    done = cluster.stage("kubeconfig", "staging")
    assert done.returncode == 0, done.stderr
    written = cluster.tmp / "state" / "kubeconfig-staging"
    assert written.read_text(encoding="utf-8").strip() == "apiVersion: v1\nkind: Config"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert (cluster.tmp / "github_env").read_text(encoding="utf-8") == f"KUBECONFIG={written}\n"
    assert "apiVersion" not in done.stdout + done.stderr
    cluster.env["KUBECONFIG_DATA"] = ""
    missing = cluster.stage("kubeconfig", "production")
    assert missing.returncode == 1 and "configure the production environment" in missing.stderr


def test_the_kind_overlay_cluster_and_workflow_agree_on_port_and_namespace() -> None:
    rendered = run([tool("kubectl"), "kustomize", str(ROOT / "ci" / "kind")], timeout=60)
    assert rendered.returncode == 0, rendered.stderr
    objects = [o for o in yaml.safe_load_all(rendered.stdout) if o]
    (service,) = [o for o in objects if o["kind"] == "Service"]
    assert service["spec"]["type"] == "NodePort"
    (port,) = service["spec"]["ports"]
    assert {o["metadata"]["namespace"] for o in objects} == {"artemis-kind"}
    cluster = yaml.safe_load((ROOT / "ci" / "kind" / "cluster.yaml").read_text(encoding="utf-8"))
    (mapping,) = cluster["nodes"][0]["extraPortMappings"]
    assert mapping["containerPort"] == port["nodePort"]
    url = f"http://{mapping['listenAddress']}:{mapping['hostPort']}"
    assert f'KIND_URL="{url}"' in STAGE.read_text(encoding="utf-8")
    kind_job = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["kind"]
    assert kind_job["env"]["TARGET_URL"] == url
    assert all("--artemis-namespace=artemis-kind" in s["run"] for s in kind_job["steps"] if "-m " in s.get("run", ""))
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    assert any(p["metadata"]["name"] == "artemis-runner-ingress" for p in policies)


def _verdict(tmp: Path, name: str, **data: Any) -> Path:
    path = tmp / name / "verdict.json"
    path.parent.mkdir()
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_the_job_summary_shows_each_verdict_its_gates_and_what_did_not_pass(tmp_path: Path) -> None:
    go = _verdict(tmp_path, "static", status="complete", verdict="GO", defcon={"level": 5, "name": "FADE OUT"},
                  gates={"manifests": {"passed": 29, "failed": 0, "error": 0, "skipped": 0, "verdict": "GO"}},
                  tests=[{"nodeid": "a", "outcome": "passed"}])
    nogo = _verdict(tmp_path, "staging-smoke", status="complete", verdict="NO-GO",
                    defcon={"level": 2, "name": "FAST PACE"},
                    gates={"probes": {"passed": 1, "failed": 1, "error": 0, "skipped": 0, "verdict": "NO-GO"}},
                    tests=[{"nodeid": "suites/test_probes_smoke.py::test_ready", "outcome": "failed",
                            "message": "GET /health/ready | 503\nexpected 200"}])
    killed = _verdict(tmp_path, "kind-spike", status="running", verdict="GO", defcon={"level": 1})
    done = run([sys.executable, str(ROOT / "ci" / "summary.py"), str(go), str(nogo), str(killed),
                str(tmp_path / "missing" / "verdict.json")], timeout=60)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "### static: GO, DEFCON 5 (FADE OUT)" in out
    assert "| manifests | 29 | 0 | 0 | 0 | GO |" in out
    assert "### staging-smoke: NO-GO, DEFCON 2 (FAST PACE)" in out
    assert "- `suites/test_probes_smoke.py::test_ready` failed: GET /health/ready \\| 503 expected 200" in out
    assert "### kind-spike: NO-GO" in out and "did not finish (status running)" in out
    assert "### missing: NO-GO" in out


def test_the_stage_list_names_every_stage() -> None:
    done = run(["bash", str(STAGE), "list"], env=clean_env(), timeout=30)
    assert done.returncode == 0
    body = STAGE.read_text(encoding="utf-8").split('case "$stage" in', 1)[1]
    stages = {s for label in re.findall(r"^  ([a-z][a-z| -]*)\)$", body, re.MULTILINE) for s in re.split(r"\s*\|\s*", label)}
    stages -= {"list", "help", "-h", "--help"}
    listed = set(re.findall(r"^  ([a-z-]+)", done.stdout, re.MULTILINE)) | set(re.findall(r"\| ([a-z-]+)", done.stdout))
    assert stages <= listed, sorted(stages - listed)
    unknown = run(["bash", str(STAGE), "no-such-stage"], env=clean_env(), timeout=30)
    assert unknown.returncode == 1 and "unknown stage" in unknown.stderr


def test_the_linters_come_from_the_project_environment() -> None:
    for name in ("actionlint", "shellcheck", "hadolint", "twine", "kubectl"):
        assert Path(tool(name)).parent == BIN, f"{name} should come from the dev extra in {BIN}"
