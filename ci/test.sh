#!/usr/bin/env bash
# The project's own tests: set up, then run tests/ in parallel on the machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
exec "${PYTHON:-python3}" -m pytest tests -n auto -p no:cacheprovider "$@"
