#!/usr/bin/env bash
# Installs everything pytest-artemis needs on a fresh Debian machine (as root, or as a user with passwordless
# sudo for the apt-get steps; no TTY needed):
#   - with apt-get: the Prometheus server and promtool (Debian package prometheus), Chromium for the browser
#     tests (Debian package chromium; SETUP_CHROMIUM=no leaves it out, as the pipeline's cluster and deploy jobs
#     do), and python3 / python3-venv when they are missing;
#   - the project virtual environment .venv at the repository root, made with `python3 -m venv`
#     (PYTHON=/path/to/python picks another interpreter, Python >= 3.11): uv, at the version pinned in
#     pyproject.toml ([tool.uv] required-version), installed into it with pip, then exactly the versions in
#     uv.lock with `uv sync --locked --extra dev` (the project itself editable). The system Python is never
#     installed into.
# Not root: the apt-get steps, only when something is missing, go through passwordless sudo.
# Run again, it changes nothing: it checks each part, says that everything is in place and exits in a second.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
export DEBIAN_FRONTEND=noninteractive
changed=0

say() { echo "[setup] $*"; }

# Root runs apt-get itself; another user only through passwordless sudo (sudo -n never prompts), as on a CI
# runner. The project's files (.venv) stay the caller's.
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo -n env DEBIAN_FRONTEND=noninteractive "$@"
  else
    say "needs root to run '$*'; run it as root (or with passwordless sudo) or install it first" >&2
    exit 1
  fi
}

apt_update() {  # once per run, before any apt-get install or apt-cache look-up
  if [ -z "${_APT_UPDATED:-}" ]; then
    say "apt-get update"
    as_root apt-get update -qq </dev/null
    _APT_UPDATED=1
  fi
}

apt_install() {
  apt_update
  say "apt-get install $*"
  as_root apt-get install -y -qq --no-install-recommends "$@" </dev/null >/dev/null
  changed=1
}

# --- system parts ------------------------------------------------------------------------------------------
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  say "installing the Prometheus server and promtool (Debian package prometheus)"
  apt_install prometheus
fi
if [ "${SETUP_CHROMIUM:-yes}" != no ] && ! command -v chromium >/dev/null; then
  say "installing Chromium for the browser tests (Debian package chromium)"
  apt_install chromium
fi
# ARTEMIS_ALLURE=1: Java 17 and the Allure 2 command line, for artemis-report --allure (single-file Allure HTML).
if [ "${ARTEMIS_ALLURE:-}" = 1 ]; then
  if ! command -v java >/dev/null; then
    say "installing Java 17 for the Allure command line (Debian package openjdk-17-jre-headless)"
    apt_install openjdk-17-jre-headless
  fi
  if ! command -v allure >/dev/null; then
    if ! command -v npm >/dev/null; then
      say "installing npm for the Allure command line (Debian package npm)"
      apt_install npm
    fi
    say "installing the Allure 2 command line (npm package allure-commandline)"
    npm install -g --silent allure-commandline </dev/null >/dev/null
    changed=1
  fi
fi
# The Debian package may start a system Prometheus on :9090; the plugin starts its own on a free port.
if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
  say "stopping the system Prometheus service (the plugin starts its own)"
  as_root systemctl stop prometheus || true
fi

if ! command -v "$PYTHON" >/dev/null; then
  if [ "$PYTHON" != python3 ]; then say "PYTHON=$PYTHON is not a command" >&2; exit 1; fi
  say "installing python3 (Debian package python3)"
  apt_install python3
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  say "pytest-artemis needs Python >= 3.11; $PYTHON is $("$PYTHON" -V 2>&1). Set PYTHON=/path/to/python3.11+" >&2
  exit 1
fi

# --- the project virtual environment -----------------------------------------------------------------------
UV_VERSION="$("$PYTHON" - <<'EOF'
import re, tomllib
pin = tomllib.load(open("pyproject.toml", "rb"))["tool"]["uv"]["required-version"]
match = re.fullmatch(r"==\s*([0-9][0-9A-Za-z.]*)", pin.strip())
if not match:
    raise SystemExit(f"pyproject.toml [tool.uv] required-version must pin one version (==X.Y.Z), not {pin!r}")
print(match.group(1))
EOF
)"
UV="$VENV/bin/uv"
# What .venv must be made from: this interpreter's installation and version.
want_base="$("$PYTHON" -c 'import sys; print(sys.base_prefix, sys.version.split()[0])')"
have_base="$("$VENV/bin/python" -c 'import sys; print(sys.base_prefix, sys.version.split()[0])' 2>/dev/null || true)"
have_uv="$("$UV" --version 2>/dev/null | awk '{print $2}' || true)"

if [ -e "$VENV" ] && [ "$have_base" != "$want_base" ]; then
  say "recreating .venv: it is made from '${have_base:-nothing that runs}', not from $PYTHON ($want_base)"
  rm -rf "$VENV"
elif [ -e "$VENV" ] && [ "$have_uv" != "$UV_VERSION" ]; then
  say "recreating .venv: it has uv ${have_uv:-none}, pyproject.toml pins uv $UV_VERSION"
  rm -rf "$VENV"
fi

if [ ! -e "$VENV" ]; then
  say "creating .venv with $PYTHON -m venv (Python ${want_base##* })"
  if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
    # Debian's python3 has venv without ensurepip until python3-venv (python3.X-venv) is installed.
    rm -rf "$VENV"
    minor="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    apt_update
    pkgs=(python3-venv)
    if apt-cache show "python$minor-venv" >/dev/null 2>&1; then pkgs+=("python$minor-venv"); fi
    say "installing venv support for Python $minor (Debian packages ${pkgs[*]})"
    apt_install "${pkgs[@]}"
    "$PYTHON" -m venv "$VENV"
  fi
  say "installing uv $UV_VERSION into .venv (pip, from the package index)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --root-user-action=ignore "uv==$UV_VERSION"
  # pip and setuptools came with venv, not from uv.lock (and uv sync keeps them): .venv holds only what is locked.
  say "removing venv's own pip and setuptools from .venv (uv replaces pip; only uv.lock's packages stay)"
  "$UV" pip uninstall --quiet --python "$VENV/bin/python" pip setuptools
  changed=1
fi

# uv: the project environment is .venv whatever the caller's environment says; it never fetches a Python.
export UV_PROJECT_ENVIRONMENT="$VENV" VIRTUAL_ENV="$VENV" UV_PYTHON_DOWNLOADS=never
sync=("$UV" sync --locked --extra dev)
if "${sync[@]}" --check --quiet >/dev/null 2>&1; then
  :
else
  say "installing the locked dependencies (uv.lock) and the project (editable) into .venv"
  if ! "${sync[@]}"; then
    say "uv sync failed (above). If uv.lock is out of date with pyproject.toml: .venv/bin/uv lock, and commit uv.lock" >&2
    exit 1
  fi
  changed=1
fi

packages="$("$UV" pip list --python "$VENV/bin/python" --format freeze 2>/dev/null | wc -l)"
browser=""
if command -v chromium >/dev/null; then browser=", chromium $(chromium --version 2>/dev/null | awk '{print $2}' || true)"; fi
if [ "${ARTEMIS_ALLURE:-}" = 1 ] && command -v allure >/dev/null; then browser="$browser, allure $(allure --version 2>/dev/null || true)"; fi
summary="prometheus $(prometheus --version 2>/dev/null | awk 'NR==1{print $3}' || true), promtool$browser, .venv (Python ${want_base##* }, uv $UV_VERSION, $packages packages as locked in uv.lock)"
if [ "$changed" = 0 ]; then
  say "everything is in place: $summary (checked in ${SECONDS}s)"
else
  say "done in ${SECONDS}s: $summary"
fi
