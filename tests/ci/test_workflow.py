"""The delivery pipeline checks itself: actionlint on .github/workflows/deploy.yaml, then what matters in it
(every stage a job, every gate marker selected somewhere, production after staging, rollback after a failed
post-deploy gate, least privilege, pinned actions, no plain-text secret, commands that also run locally)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from _pytest.mark.expression import Expression
from ci_support import ROOT, WORKFLOW, run, tool

from pytest_artemis.families import FAMILY_MARKER, markers

TEXT = WORKFLOW.read_text(encoding="utf-8")
WF: dict[Any, Any] = yaml.safe_load(TEXT)
JOBS: dict[str, dict[str, Any]] = WF["jobs"]
STAGE_SH = (ROOT / "ci" / "stage.sh").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")

# The stages, as jobs: 1 test & quality, 2 security, 3 build, 4 gates, 5 staged deployment (6, the
# post-deployment validation, is steps of the gate and deploy jobs).
STAGES = ("test", "security", "build", "static-gates", "live-gates", "kind", "staging", "production")
DEPLOYS = ("staging", "production")


def steps(job: str) -> list[dict[str, Any]]:
    return JOBS[job]["steps"]


def step_run(step: dict[str, Any]) -> str:
    return " ".join(str(step.get("run", "")).split())


def index_of(job: str, text: str) -> int:
    found = [i for i, s in enumerate(steps(job)) if text in step_run(s)]
    assert len(found) == 1, f"{job}: expected one step running {text!r}, found {len(found)}"
    return found[0]


def uses(job: str, action: str) -> list[dict[str, Any]]:
    return [s for s in steps(job) if str(s.get("uses", "")).startswith(action + "@")]


def selections() -> Iterator[tuple[str, str]]:
    """(job, -m expression) of every gate run in the workflow."""
    for name, job in JOBS.items():
        for step in job.get("steps", []):
            words = shlex.split(step_run(step))
            for i, word in enumerate(words[:-1]):
                if word == "-m":
                    yield name, words[i + 1]


def stage_names() -> set[str]:
    """The stages ci/stage.sh's case statement knows."""
    body = STAGE_SH.split('case "$stage" in', 1)[1]
    return {name for label in re.findall(r"^  ([a-z][a-z| -]*)\)$", body, re.MULTILINE) for name in re.split(r"\s*\|\s*",
                                                                                                   label)}


def test_actionlint_passes_on_the_workflow_with_shellcheck_on_every_run_script() -> None:
    done = run([tool("actionlint"), "-no-color", "-oneline", "-shellcheck", tool("shellcheck"), str(WORKFLOW)],
               cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_it_is_the_one_pipeline_and_the_readme_says_so() -> None:
    workflows = sorted(p.name for p in WORKFLOW.parent.iterdir() if p.suffix in (".yml", ".yaml"))
    assert workflows == ["deploy.yaml"]
    assert not (ROOT / "ci" / "pipeline.yml").exists()
    assert "pipeline.yml" not in README
    assert "`.github/workflows/deploy.yaml`" in README


def test_every_stage_of_the_pipeline_is_a_job() -> None:
    assert set(STAGES) <= set(JOBS), f"missing jobs: {sorted(set(STAGES) - set(JOBS))}"


def test_the_quality_job_runs_the_tests_with_coverage_and_a_threshold_ruff_mypy_and_the_wheel() -> None:
    for stage in ("tests", "lint", "wheel"):
        index_of("test", f"./ci/stage.sh {stage}")
    tests = STAGE_SH.split("\n  tests)\n", 1)[1].split(";;", 1)[0]
    assert "--cov=pytest_artemis" in tests and "--cov-fail-under=" in tests and "--cov-report=xml:" in tests
    lint = STAGE_SH.split("\n  lint)\n", 1)[1].split(";;", 1)[0]
    assert "ruff check" in lint and "mypy" in lint
    wheel = STAGE_SH.split("\n  wheel)\n", 1)[1].split(";;", 1)[0]
    assert "python -m build" in wheel and "twine check --strict" in wheel


def test_security_scans_the_image_and_the_config_uploads_sarif_and_lints_the_dockerfile() -> None:
    trivy = uses("security", "aquasecurity/trivy-action")
    sarif = {s["with"]["scan-type"]: s["with"]["output"] for s in trivy if s["with"].get("format") == "sarif"}
    assert set(sarif) == {"image", "config"}
    config_refs = {s["with"]["scan-ref"] for s in trivy if s["with"]["scan-type"] == "config"}
    (scanned,) = config_refs
    render = step_run(steps("security")[index_of("security", "./ci/stage.sh render")])
    assert f"./ci/stage.sh render {scanned}" in render and f"ci/Containerfile {scanned}/" in render
    gates = {s["with"]["scan-type"] for s in trivy if s["with"].get("exit-code") == "1"}
    assert gates == {"image", "config"}, "both scans must also fail the job on HIGH/CRITICAL findings"
    uploaded = {s["with"]["sarif_file"] for s in uses("security", "github/codeql-action/upload-sarif")}
    assert set(sarif.values()) <= uploaded
    assert any("hadolint" in step_run(s) and "sarif" in step_run(s) for s in steps("security"))
    assert any(f for f in uploaded if "hadolint" in f)
    index_of("security", "./ci/stage.sh pipeline-lint")  # hadolint as a gate
    assert "hadolint ci/Containerfile" in STAGE_SH
    assert JOBS["security"]["permissions"].get("security-events") == "write"


def test_the_image_is_built_for_amd64_and_arm64_pushed_as_the_commit_sha_and_its_digest_passed_on() -> None:
    (build,) = uses("build", "docker/build-push-action")
    assert set(build["with"]["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert build["with"]["tags"].endswith(":${{ github.sha }}")
    assert "github.event_name == 'push'" in build["with"]["push"]
    assert uses("build", "docker/setup-buildx-action") and uses("build", "docker/setup-qemu-action")
    assert JOBS["build"]["outputs"]["digest"] == f"${{{{ steps.{build['id']}.outputs.digest }}}}"
    for env in DEPLOYS:
        assert "needs.build.outputs.digest" in JOBS[env]["env"]["IMAGE_REF"]
        assert 'deploy ' + env + ' "$IMAGE_REF"' in step_run(steps(env)[index_of(env, f"stage.sh deploy {env}")])


def test_the_static_gates_run_on_every_push_and_pull_request() -> None:
    on: dict[str, Any] = WF["on"] if "on" in WF else WF[True]  # YAML 1.1 reads a bare `on` key as true
    assert on["push"] is None and "pull_request" in on, "push with no branch filter: every push"
    assert "if" not in JOBS["static-gates"]
    assert ("static-gates", "manifests or rules or dashboards") in set(selections())


def test_the_kind_job_creates_a_cluster_loads_the_image_deploys_the_kit_and_gates_it() -> None:
    order = [index_of("kind", text) for text in (
        "./ci/stage.sh kind-up", "./ci/stage.sh kind-load", "./ci/stage.sh deploy kind",
        '-m "probes or cluster or rollout"', "-m spike", "./ci/stage.sh kind-down")]
    assert order == sorted(order)
    gate = step_run(steps("kind")[order[3]])
    assert "--artemis-kubeconfig=" in gate and "--artemis-target=" in gate  # through the cluster fixtures
    assert "always()" in steps("kind")[order[-1]]["if"]
    (image,) = uses("kind", "docker/build-push-action")
    assert image["with"]["load"] is True and image["with"]["tags"] == "${{ env.KIND_IMAGE }}"


@pytest.mark.parametrize("marker", sorted(set(markers()) - {FAMILY_MARKER}))
def test_every_gate_marker_is_selected_by_some_job(marker: str) -> None:
    def carries(name: str, /, **kwargs: str | int | bool | None) -> bool:
        return name == marker

    chosen = [job for job, expr in selections() if Expression.compile(expr).evaluate(carries)]
    assert chosen, f"no job's -m selection runs a test marked {marker}"


def test_production_needs_staging_and_both_deploy_from_main_through_environments() -> None:
    assert {"staging", "build"} <= set(JOBS["production"]["needs"])
    assert {"build", "kind"} <= set(JOBS["staging"]["needs"])
    for env in DEPLOYS:
        assert JOBS[env]["environment"]["name"] == env
        assert "refs/heads/main" in JOBS[env]["if"] and "push" in JOBS[env]["if"]


def _evaluate(condition: str, outcomes: dict[str, str], failed: bool) -> bool:
    """A GitHub Actions step condition of the forms the workflow uses, for given step outcomes."""
    expr = condition.strip()
    if expr.startswith("${{"):
        expr = expr[3:-2]
    expr = re.sub(r"steps\.([\w-]+)\.outcome", lambda m: repr(outcomes.get(m.group(1), "skipped")), expr)
    expr = expr.replace("failure()", repr(failed)).replace("success()", repr(not failed))
    expr = expr.replace("always()", "True").replace("!cancelled()", "True")
    expr = re.sub(r"!(?!=)", " not ", expr.replace("&&", " and ").replace("||", " or "))
    assert re.fullmatch(r"[\sA-Za-z'()=!_-]*", expr), f"unexpected condition {condition!r}"
    return bool(eval(expr, {"__builtins__": {}}))


@pytest.mark.parametrize("env", DEPLOYS)
def test_a_failed_post_deploy_gate_rolls_back_not_only_a_failed_rollout(env: str) -> None:
    deploy = index_of(env, f"./ci/stage.sh deploy {env}")
    rollback = index_of(env, f"./ci/stage.sh rollback {env}")
    gates = [i for i, s in enumerate(steps(env)) if "./ci/stage.sh gate" in step_run(s)]
    assert len(gates) >= 2, "a smoke gate and a performance gate after the deploy"
    assert deploy < min(gates) and max(gates) < rollback
    for i in [deploy, *gates]:
        assert not steps(env)[i].get("continue-on-error"), "a failure there must reach the rollback"
    deploy_id, gate_ids = steps(env)[deploy]["id"], [steps(env)[i]["id"] for i in gates]
    condition = steps(env)[rollback]["if"]
    assert "failure()" in condition
    after_gate_failed = {deploy_id: "success", gate_ids[0]: "failure"}
    after_rollout_failed = {deploy_id: "failure"}
    all_passed = {deploy_id: "success", **{g: "success" for g in gate_ids}}
    never_deployed = {deploy_id: "skipped"}  # e.g. the kubeconfig secret is missing
    assert _evaluate(condition, after_gate_failed, failed=True)
    assert _evaluate(condition, after_rollout_failed, failed=True)
    assert not _evaluate(condition, all_passed, failed=False)
    assert not _evaluate(condition, never_deployed, failed=True)


def _strings(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, (*path, str(i)))
    elif isinstance(node, str):
        yield path, node


def test_secrets_come_only_from_the_secrets_context_into_env_or_with_never_into_a_script() -> None:
    referenced = [(path, value) for path, value in _strings(WF) if "secrets." in value]
    assert referenced, "the deploys read their kubeconfigs from secrets"
    for path, value in referenced:
        assert path[-2] in ("env", "with"), f"{'.'.join(path)}: secrets only as env or with values"
        assert re.fullmatch(r"\$\{\{ secrets\.[A-Z_]+ \}\}", value), f"{'.'.join(path)}: {value!r}"
    for path, value in _strings(WF):
        if path[-1] == "run":
            assert "${{" not in value, f"{'.'.join(path)}: no expression in a script (pass it through env)"
        if re.search(r"(?i)(password|token|secret|kubeconfig_data|api[-_]?key)$", path[-1]):
            assert value.startswith("${{ secrets."), f"{'.'.join(path)}: a credential must come from secrets"
    credential = re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}|github_pat_|AKIA[0-9A-Z]{16}|-----BEGIN|xox[bpa]-|"
                            r"eyJ[A-Za-z0-9_-]{20,}\.")
    assert not credential.search(TEXT)


def test_permissions_are_granted_per_job_and_only_where_needed() -> None:
    assert WF["permissions"] == {}
    writes: dict[str, set[str]] = {}
    for name, job in JOBS.items():
        assert isinstance(job.get("permissions"), dict), f"{name}: permissions must be a mapping"
        for scope, level in job["permissions"].items():
            assert level in ("read", "write", "none"), f"{name}: {scope}: {level}"
            if level == "write":
                writes.setdefault(scope, set()).add(name)
    assert writes == {"packages": {"build"}, "security-events": {"security"}}


def test_every_job_has_a_timeout() -> None:
    for name, job in JOBS.items():
        assert isinstance(job.get("timeout-minutes"), int) and 0 < job["timeout-minutes"] <= 60, name


def test_every_action_is_pinned_by_commit_sha_with_its_version_in_a_comment() -> None:
    lines = [line.strip() for line in TEXT.splitlines() if re.match(r"\s*(- )?uses:", line)]
    assert lines
    for line in lines:
        assert re.fullmatch(r"(- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v?\d[\w.]*", line), line
    for name, job in JOBS.items():
        if "container" in job:
            assert re.search(r"@sha256:[0-9a-f]{64}$", job["container"]["image"]), name


def test_deploys_never_race() -> None:
    assert "github.ref" in WF["concurrency"]["group"]
    groups = {JOBS[env]["concurrency"]["group"] for env in DEPLOYS}
    assert len(groups) == len(DEPLOYS)
    assert all(JOBS[env]["concurrency"]["cancel-in-progress"] is False for env in DEPLOYS)


def test_every_step_runs_a_command_that_also_runs_locally() -> None:
    known = stage_names()
    seen = set()
    for name, job in JOBS.items():
        for step in job["steps"]:
            for stage in re.findall(r"\./ci/stage\.sh ([a-z-]+)", step_run(step)):
                assert stage in known, f"{name}: ./ci/stage.sh {stage} is not a stage"
                seen.add(stage)
    listed = run(["bash", str(ROOT / "ci" / "stage.sh"), "list"], timeout=30)
    assert listed.returncode == 0
    for stage in seen:
        assert re.search(rf"^  {re.escape(stage)}\b|\| {re.escape(stage)}\b", listed.stdout, re.MULTILINE), stage


def test_the_readme_documents_every_job_secret_and_variable() -> None:
    section = README.split("## Delivery pipeline", 1)[1].split("\n## ", 1)[0]
    for name in JOBS:
        assert f"`{name}`" in section, name
    names = set(re.findall(r"\$\{\{\s*(?:secrets|vars)\.([A-Z_]+)", TEXT)) - {"GITHUB_TOKEN"}
    assert names
    for name in names:
        assert f"`{name}`" in section, name


def test_the_workflow_file_is_where_github_looks() -> None:
    assert WORKFLOW.relative_to(ROOT) == Path(".github/workflows/deploy.yaml")
