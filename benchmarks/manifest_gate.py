"""Time the manifest gate on a generated corpus and print objects per second (one process, one core).

    python benchmarks/manifest_gate.py [--apps 150] [--namespaces 12] [--k8s-version 1.30] [--pytest]

The corpus: ``--apps`` applications of 7 objects each (Deployment, Service, PodDisruptionBudget,
HorizontalPodAutoscaler, NetworkPolicy, ConfigMap, ServiceAccount), one multi-document file per app,
a few with defects so checks have findings to report. Phases timed: parse, index, schema validation
+ every check (the first object of a kind pays for building its validator, as in a real run).
``--pytest`` also times the whole gate as a pytest session (collection + items + reporting).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_artemis.checks.manifests import ManifestIndex, evaluate, load_source

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app{i}, namespace: ns{ns}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: app{i}}}}}
  template:
    metadata: {{labels: {{app: app{i}}}}}
    spec:
      securityContext: {{runAsNonRoot: true, runAsUser: 1000}}
      topologySpreadConstraints:
        - {{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway,
           labelSelector: {{matchLabels: {{app: app{i}}}}}}}
      containers:
        - name: main
          image: registry.example/app{i}:{tag}
          imagePullPolicy: IfNotPresent
          ports: [{{name: http, containerPort: 8080}}]
          env:
            - {{name: LOG_LEVEL, value: info}}
            - name: API_KEY
              valueFrom: {{secretKeyRef: {{name: app{i}, key: api-key}}}}
          resources: {{requests: {{cpu: 100m, memory: 128Mi}}, limits: {{cpu: 500m, memory: 256Mi}}}}
          startupProbe: {{httpGet: {{path: /health, port: http}}, periodSeconds: 5, failureThreshold: 12}}
          readinessProbe: {{httpGet: {{path: /ready, port: http}}, periodSeconds: 5, failureThreshold: 2}}
          livenessProbe: {{httpGet: {{path: /live, port: http}}, {timing}}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {{drop: [ALL]}}
---
apiVersion: v1
kind: Service
metadata: {{name: app{i}, namespace: ns{ns}}}
spec:
  selector: {{app: app{i}}}
  ports: [{{name: http, port: 80, targetPort: http}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: app{i}, namespace: ns{ns}}}
spec:
  maxUnavailable: 1
  selector: {{matchLabels: {{app: app{i}}}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: app{i}, namespace: ns{ns}}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: app{i}}}
  minReplicas: 3
  maxReplicas: 9
  metrics: [{{type: Resource, resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 70}}}}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: app{i}, namespace: ns{ns}}}
spec:
  podSelector: {{matchLabels: {{app: app{i}}}}}
  policyTypes: [Ingress]
  ingress: [{{ports: [{{port: http}}]}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: app{i}, namespace: ns{ns}}}
data: {{LOG_LEVEL: info}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: app{i}, namespace: ns{ns}}}
automountServiceAccountToken: false
"""


def write_corpus(directory: Path, apps: int, namespaces: int = 12) -> int:
    for i in range(apps):
        defect = i % 10 == 0  # one app in ten has a typo, a mutable tag and a conflicting replicas count
        text = APP.format(i=i, ns=i % namespaces, replicas=2 if defect else 3,
                          tag="latest" if defect else f"1.{i}.0",
                          timing="periodSecond: 10" if defect else "periodSeconds: 10")
        (directory / f"app{i:04d}.yaml").write_text(text, encoding="utf-8")
    return apps * 7


def run(directory: Path, version: str) -> None:
    files = sorted(directory.glob("*.yaml"))
    started = time.perf_counter()
    per_file = [(f, load_source(f, directory)) for f in files]
    parsed = time.perf_counter()
    index = ManifestIndex(version)
    for f, objects in per_file:
        index.add(str(f), objects)
    indexed = time.perf_counter()
    findings = 0
    objects = [o for _, objs in per_file for o in objs]
    for obj in objects:
        findings += len(evaluate(obj, index.context(obj.scope)))
    done = time.perf_counter()
    count = len(objects)
    print(f"corpus: {count} objects in {len(files)} files, Kubernetes {version}")
    print(f"parse:            {parsed - started:7.3f} s  {count / (parsed - started):9.0f} objects/s")
    print(f"index:            {indexed - parsed:7.3f} s")
    print(f"schema + checks:  {done - indexed:7.3f} s  {count / (done - indexed):9.0f} objects/s  "
          f"({findings} findings)")
    print(f"gate total:       {done - started:7.3f} s  {count / (done - started):9.0f} objects/s")


def run_pytest(directory: Path) -> None:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--no-header",
                           "--artemis-manifests", str(directory), "-p", "no:randomly"],
                          cwd=directory, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    summary = [line for line in done.stdout.splitlines() if " in " in line and ("passed" in line or "failed" in line)]
    print(f"pytest session:   {elapsed:7.3f} s  ({summary[-1].strip('= ') if summary else done.stdout[-300:]})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=150, help="applications of 7 objects each (default 150)")
    parser.add_argument("--namespaces", type=int, default=12, help="namespaces the apps spread over (default 12)")
    parser.add_argument("--k8s-version", default="1.30")
    parser.add_argument("--pytest", action="store_true", help="also time a full pytest session on the corpus")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    with tempfile.TemporaryDirectory(prefix="artemis-corpus-") as tmp:
        directory = Path(tmp)
        write_corpus(directory, args.apps, args.namespaces)
        run(directory, args.k8s_version)
        if args.pytest:
            run_pytest(directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
