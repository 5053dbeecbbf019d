#!/usr/bin/env bash
# The project's own tests: set up (ci/setup.sh: system parts, then .venv from uv.lock), then run tests/ in
# parallel on the machine's cores with .venv's python (never the system Python). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
# As if .venv were activated: its scripts (kubectl, artemis-target ...) come first on PATH.
export VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH"
exec "$VIRTUAL_ENV/bin/python" -m pytest tests -n auto -p no:cacheprovider "$@"
