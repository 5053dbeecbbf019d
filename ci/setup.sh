#!/usr/bin/env bash
# Installs everything pytest-artemis needs on a fresh Debian machine (run as root):
# the Prometheus server and promtool from Debian, and the project with its Python dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  echo "[setup] installing Prometheus and promtool (Debian package prometheus)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
# The Debian package may start a system Prometheus on :9090; the plugin starts its own on a free port.
if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
  systemctl stop prometheus || true
fi

echo "[setup] installing pytest-artemis and its dependencies"
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e ".[dev]"
