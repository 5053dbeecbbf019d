"""In-cluster Locust workers: the loadgen kit deployed into the namespace, its pods run for real by the emulated
kubelet, their sample lines read from the pod logs into the same gates and verdict as a local run."""

from __future__ import annotations

import base64
import json
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_artemis.services.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
SUITE = '''
import pytest

@pytest.mark.load
def test_load_scenario(load_exercise):
    load_exercise.assert_gates()
'''


#: What these tests prove is the pods' mechanics, not the machine's speed: a throughput floor of 1 req/s.
LOW_THROUGHPUT = """
version: 1
defaults: {p95_ms: 1000, p99_ms: 2000, error_rate_percent: 1.0, throughput_rps: 1, availability_percent: 99.5}
"""


def run_in_cluster(pytester: pytest.Pytester, kube_api: Any, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    pytester.makepyfile(test_load_suite=SUITE)
    (pytester.path / "baselines.yaml").write_text(LOW_THROUGHPUT, encoding="utf-8")
    verdict = pytester.path / "verdict.json"
    result = pytester.runpytest_subprocess(  # a session of its own: Locust's gevent, matplotlib's numpy
        "-p", "no:cacheprovider", "--artemis-profile", "smoke", "--artemis-workers", "2",
        "--artemis-workers-in-cluster", "--artemis-kubeconfig", str(kube_api.kubeconfig),
        f"--artemis-loadgen-manifests={ROOT / 'manifests' / 'loadgen'}", f"--artemis-verdict={verdict}",
        f"--artemis-loadgen-port={free_port()}",  # every emulated pod shares this machine's loopback
        "--artemis-baselines=baselines.yaml",
        "--artemis-history", "history", *args)
    return result, json.loads(verdict.read_text(encoding="utf-8"))


def measurement(verdict: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in verdict["measurements"] if m["name"] == name)


def test_two_in_cluster_workers_run_the_load_scenario_through_the_same_gates(
        pytester: pytest.Pytester, kube_api: Any, command_pods: Any) -> None:
    result, verdict = run_in_cluster(pytester, kube_api)
    result.assert_outcomes(passed=1)
    summary = measurement(verdict, "load summary")
    assert summary["details"]["workers"] == 2 and summary["value"] >= 300
    assert summary["details"]["end_reason"] == "request budget spent"  # 10 users x 30 requests, counted by the master
    assert summary["value"] < 550, "no sample line was read twice (twice would be 600 and more)"
    processes = measurement(verdict, "load locust processes")
    assert processes["details"]["children"] == ["Locust master pod", "Locust worker-1 pod", "Locust worker-2 pod"]
    run_dir = Path(processes["details"]["run_dir"])
    assert sorted(p.name for p in run_dir.glob("locust-*.log")) == \
        ["locust-master.log", "locust-worker-1.log", "locust-worker-2.log"], "the pod logs are the run's artifacts"
    applied = [r for r in kube_api.store.requests if r.startswith("PATCH ") and "loadgen" in r]
    assert any("/jobs/artemis-loadgen-workers" in r for r in applied)
    left = [k for k in kube_api.store.objects if k[1] in ("jobs", "pods", "secrets", "configmaps")]
    assert left == [], "every loadgen object (and so every pod process) is gone after the run"
    assert not command_pods.running


def test_a_worker_pod_that_dies_mid_run_makes_the_run_invalid_never_green(
        pytester: pytest.Pytester, kube_api: Any, command_pods: Any) -> None:
    stop = threading.Event()

    def kill_worker_2() -> None:
        while not stop.wait(0.1):
            for process, _, name, _ in list(command_pods.running.values()):
                if "-workers-1-" in name and process.log_path.exists() and \
                        process.log_path.read_text(errors="replace").count('"sent"') >= 2:
                    time.sleep(0.5)
                    process.signal(signal.SIGKILL)
                    return

    killer = threading.Thread(target=kill_worker_2, daemon=True)
    killer.start()
    try:
        result, verdict = run_in_cluster(pytester, kube_api, "--artemis-load-param", "requests=100")
    finally:
        stop.set()
        killer.join(10)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*RunInvalidError: load run invalid: worker 2 lost at t=*", "*MISSION VERDICT: NO-GO*"])
    assert verdict["verdict"] == "NO-GO"
    assert not command_pods.running, "the other pods are gone too"


def test_the_rendered_loadgen_kit_carries_the_image_the_worker_count_and_the_deadline_and_keeps_the_url_secret(
        tmp_path: Path) -> None:
    from pytest_artemis.load.incluster import ClusterLoadRunner
    from pytest_artemis.load.runner import RunOptions

    runner = ClusterLoadRunner(None, "ns", ROOT / "manifests" / "loadgen", "registry.local/artemis:test")  # type: ignore[arg-type]
    runner.port = 6000
    options = RunOptions(target="http://user:s3cret@artemis.ns.svc:8000", run_dir=tmp_path)
    objects = runner.objects({"max_seconds": 60, "worker_wait": 20}, options, workers=5)
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    assert by_name[("Service", "artemis-loadgen-master")]["spec"]["ports"][0]["port"] == 6000
    master_container = by_name[("Job", "artemis-loadgen-master")]["spec"]["template"]["spec"]["containers"][0]
    assert master_container["ports"][0]["containerPort"] == 6000
    assert by_name[("NetworkPolicy", "artemis-loadgen")]["spec"]["ingress"][0]["ports"][0]["port"] == 6000
    workers = by_name[("Job", "artemis-loadgen-workers")]
    assert workers["spec"]["completions"] == workers["spec"]["parallelism"] == 5
    assert workers["spec"]["completionMode"] == "Indexed" and workers["spec"]["backoffLimit"] == 0
    for job in (workers, by_name[("Job", "artemis-loadgen-master")]):
        assert job["spec"]["activeDeadlineSeconds"] == 140
        assert {c["image"] for c in job["spec"]["template"]["spec"]["containers"]} == {"registry.local/artemis:test"}
    assert "s3cret" not in json.dumps(by_name[("ConfigMap", "artemis-loadgen-spec")])
    assert by_name[("Secret", "artemis-loadgen-target")]["data"]["url"]
    runner.target = "http://artemis.ns.svc"
    secret = next(o for o in runner.objects({"max_seconds": 60, "worker_wait": 20}, options, workers=1)
                  if o["kind"] == "Secret")
    assert base64.b64decode(secret["data"]["url"]) == b"http://artemis.ns.svc", "--artemis-loadgen-target wins"


def test_a_missing_loadgen_kit_is_a_clear_error(tmp_path: Path) -> None:
    from pytest_artemis.errors import LoadError
    from pytest_artemis.load.incluster import ClusterLoadRunner
    from pytest_artemis.load.runner import RunOptions

    runner = ClusterLoadRunner(None, "ns", tmp_path / "nowhere")  # type: ignore[arg-type]
    with pytest.raises(LoadError, match=r"nowhere/kustomization.yaml not found \(--artemis-loadgen-manifests\)"):
        runner.objects({"max_seconds": 1, "worker_wait": 1}, RunOptions(target="http://x", run_dir=tmp_path), 1)


def test_a_load_generator_pod_that_cannot_start_fails_the_run_at_once_with_its_reason(
        pytester: pytest.Pytester, kube_api: Any, command_pods: Any, tmp_path: Path) -> None:
    kit = tmp_path / "loadgen"
    shutil.copytree(ROOT / "manifests" / "loadgen", kit)
    master = kit / "master.yaml"
    master.write_text(master.read_text().replace("name: artemis-loadgen-target", "name: artemis-missing-secret"))
    pytester.makepyfile(test_load_suite=SUITE)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--artemis-profile", "smoke", "--artemis-workers", "1",
        "--artemis-workers-in-cluster", "--artemis-kubeconfig", str(kube_api.kubeconfig),
        f"--artemis-loadgen-manifests={kit}", "--artemis-history", "history", f"--artemis-loadgen-port={free_port()}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([("*LoadError: in-cluster Locust master pod artemis-loadgen-master-* cannot run: "
                                 "CreateContainerConfigError: *artemis-missing-secret*"),
                                 "*cluster diagnostics*",
                                 "*Warning Failed pod/artemis-loadgen-master-*: Error: *artemis-missing-secret*"])
    assert not [k for k in kube_api.store.objects if k[1] in ("jobs", "pods")], "the run's objects are deleted"


class _Logs:
    """A pod log API answering with ``timestamps=true`` from ``sinceTime`` on, as the API server does."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.queries: list[dict[str, str]] = []

    def pod_logs(self, pod: str, namespace: str, *, container: str, tail: int | None, timestamps: bool,
                 since: str | None) -> str:
        assert tail is None and timestamps, "the whole log from sinceTime on, each line with its time"
        self.queries.append({"sinceTime": since} if since else {})
        return "".join(f"{t} {text}\n" for t, text in self.lines if t[:19] >= (since or "").removesuffix("Z")[:19])


def test_a_pod_log_is_read_from_the_last_second_seen_and_no_line_twice(tmp_path: Path) -> None:
    from pytest_artemis.load.incluster import PodLogTail

    logs = _Logs()
    process = type("P", (), {"kube": logs, "namespace": "ns", "pod_name": "master-0",
                             "log_path": tmp_path / "master.log"})()
    tail = PodLogTail(process)  # type: ignore[arg-type]
    logs.lines += [("2026-12-01T22:00:00.100000000Z", '{"t": 1, "role": "master"}'),
                   ("2026-12-01T22:00:00.5Z", "a plain warning"),
                   ("2026-12-01T22:00:01.2Z", '{"t": 2, "role": "master"}')]
    assert [d["t"] for d in tail.read(fresh=True)] == [1, 2]
    logs.lines += [("2026-12-01T22:00:01.7Z", '{"t": 3, "role": "master"}'),
                   ("2026-12-01T22:00:02.05Z", '{"event": "finished", "role": "master"}')]
    assert tail.read(fresh=True) == [{"t": 3, "role": "master"}, {"event": "finished", "role": "master"}]
    assert logs.queries[-1]["sinceTime"] == "2026-12-01T22:00:01Z", "only from the last second seen on"
    assert tail.read(fresh=True) == [], "nothing new: nothing twice"
    assert process.log_path.read_text().splitlines()[1] == "a plain warning", "the mirror keeps every line"


def test_a_pod_deleted_by_someone_else_is_a_process_that_died(tmp_path: Path) -> None:
    from kubernetes import client as k8s

    from pytest_artemis.load.incluster import PodProcess

    answers = [[k8s.V1Pod(metadata=k8s.V1ObjectMeta(name="workers-1-x"), status=k8s.V1PodStatus(phase="Running"))],
               []]
    kube = type("K", (), {"pods": lambda self, ns, selector: answers.pop(0) if len(answers) > 1 else answers[0]})()
    worker = PodProcess(kube, "ns", "worker-2", "job-name=w", tmp_path / "w.log")  # type: ignore[arg-type]
    assert worker.alive and worker.returncode is None
    assert worker.pod(fresh=True) is None  # the next look: it is gone
    assert not worker.alive and worker.returncode == -signal.SIGKILL, "lost, not stopped by the runner"
