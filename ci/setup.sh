#!/usr/bin/env bash
# Installs everything pytest-artemis needs on a fresh Debian machine (run as root):
# the Prometheus server and promtool from Debian, and the project with its Python dependencies
# into the python3 on PATH (PYTHON=/path/to/python overrides it).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "${_APT_UPDATED:-}" ]; then apt-get update -qq; _APT_UPDATED=1; fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  echo "[setup] installing Prometheus and promtool (Debian package prometheus)"
  apt_install prometheus
fi
# The Debian package may start a system Prometheus on :9090; the plugin starts its own on a free port.
if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
  systemctl stop prometheus || true
fi

if ! command -v "$PYTHON" >/dev/null; then
  echo "[setup] installing python3 (Debian package python3)"
  apt_install python3
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "[setup] pytest-artemis needs Python >= 3.11; $PYTHON is $("$PYTHON" -V 2>&1). Set PYTHON=/path/to/python3.11+" >&2
  exit 1
fi
if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
  echo "[setup] installing pip (Debian package python3-pip)"
  apt_install python3-pip
fi
# Debian's own python3 is "externally managed" (PEP 668): a root install into it needs the explicit opt-in.
if [ -e "$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')/EXTERNALLY-MANAGED" ]; then
  export PIP_BREAK_SYSTEM_PACKAGES=1
fi

echo "[setup] installing pytest-artemis and its dependencies"
"$PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore -e ".[dev]"
