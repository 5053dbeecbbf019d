#!/usr/bin/env bash
# The main job: set up (ci/setup.sh: system parts, then .venv from uv.lock), then run the gating suites with
# .venv's python against the embedded default (the bundled reference service and a local Prometheus).
# Extra arguments go to pytest, e.g. `./ci/gate.sh -m spike` or `./ci/gate.sh --artemis-profile full`.
# Writes into reports/ (GATE_REPORTS=DIR another directory, as ./ci/stage.sh gate NAME does): verdict.json,
# the mission report mission-report.html and Allure results in allure-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
# As if .venv were activated: its scripts (kubectl, artemis-target ...) come first on PATH.
export VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH"
reports="${GATE_REPORTS:-reports}"
mkdir -p "$reports"
exec "$VIRTUAL_ENV/bin/python" -m pytest "--artemis-verdict=$reports/verdict.json" \
  "--artemis-report=$reports/mission-report.html" "--alluredir=$reports/allure-results" --clean-alluredir "$@"
