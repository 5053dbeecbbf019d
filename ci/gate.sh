#!/usr/bin/env bash
# The main job: set up, then run the gating suites against the embedded default
# (the bundled reference service and a local Prometheus). Extra arguments go to pytest,
# e.g. `./ci/gate.sh -m spike` or `./ci/gate.sh --artemis-profile full`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
mkdir -p reports
exec "${PYTHON:-python3}" -m pytest --artemis-verdict reports/verdict.json --alluredir reports/allure-results \
  --clean-alluredir "$@"
