#!/bin/sh
# Print the command that runs uv, installing uv first when there is none new enough; progress goes to stderr.
# Used by the Makefile. In order: a uv on PATH; $PYTHON's uv module; uv in $BOOTSTRAP_VENV (a previous run's);
# `$PYTHON -m pip install uv`; and where that fails — the machine's Python refuses pip install (PEP 668
# "externally-managed-environment", e.g. Debian, Ubuntu) or has no pip at all (Fedora/RHEL containers) — uv
# installed into a small virtual environment, $BOOTSTRAP_VENV, found there by the next run.
# A uv older than UV_MIN is passed over: the root pyproject.toml requires it (`[tool.uv] required-version`,
# kept equal by deploy/local/tests/test_make_bootstrap.py) — the first uv that keeps uv.lock's revision when
# it rewrites the lock.
set -u
PYTHON=${PYTHON:-python3}
BOOTSTRAP_VENV=${BOOTSTRAP_VENV:-.pingan/uv-venv}
UV_MIN=0.12.22
UV_REQUIREMENT='uv>=0.12.22'
MANUAL="or install uv yourself: https://docs.astral.sh/uv/getting-started/installation/ (https://docs.astral.sh/uv/)"

# new_enough "uv 0.13.9 (x86_64-unknown-linux-gnu)": true when that version is at least UV_MIN (plain sh: the
# machine may have no awk or sort -V)
new_enough() {
  set -f
  # shellcheck disable=SC2086
  set -- $1
  set +f
  [ "${1:-}" = uv ] && [ -n "${2:-}" ] || return 1
  old_ifs=$IFS; IFS=.
  # shellcheck disable=SC2086
  set -- $2 0 0 0
  have1=${1%%[!0-9]*} have2=${2%%[!0-9]*} have3=${3%%[!0-9]*}
  # shellcheck disable=SC2086
  set -- $UV_MIN
  IFS=$old_ifs
  [ -n "$have1" ] && [ -n "$have2" ] && [ -n "$have3" ] || return 1
  [ "$have1" -ne "$1" ] && { [ "$have1" -gt "$1" ]; return; }
  [ "$have2" -ne "$2" ] && { [ "$have2" -gt "$2" ]; return; }
  [ "$have3" -ge "$3" ]
}

# usable WHAT COMMAND...: the uv COMMAND runs and is new enough; else says why it is passed over
usable() {
  what=$1; shift
  version=$("$@" --version 2>/dev/null) || return 1
  new_enough "$version" && return 0
  case $version in
    "uv "[0-9]*) echo "passing over $what ($version): older than $UV_MIN, which uv.lock needs" >&2 ;;
    *) echo "passing over $what: cannot tell its version from '$version'" >&2 ;;
  esac
  return 1
}

if found=$(command -v uv 2>/dev/null) && usable "the uv on PATH, $found," "$found"; then
  echo "$found"; exit 0
fi
if usable "$PYTHON's uv module" "$PYTHON" -m uv; then
  echo "$PYTHON -m uv"; exit 0
fi
if [ -x "$BOOTSTRAP_VENV/bin/uv" ] && usable "$BOOTSTRAP_VENV/bin/uv" "$BOOTSTRAP_VENV/bin/uv"; then
  echo "$BOOTSTRAP_VENV/bin/uv"; exit 0
fi

echo "installing uv from PyPI: $PYTHON -m pip install '$UV_REQUIREMENT'" >&2
if refused=$("$PYTHON" -m pip install --quiet --disable-pip-version-check "$UV_REQUIREMENT" 2>&1); then
  echo "$PYTHON -m uv"; exit 0
fi
echo "$refused" >&2
case $refused in
  *externally-managed-environment*)
    echo "$PYTHON refuses pip install (PEP 668): installing uv into the virtual environment $BOOTSTRAP_VENV" >&2 ;;
  *) echo "could not install uv with $PYTHON -m pip: installing it into the virtual environment $BOOTSTRAP_VENV" >&2 ;;
esac
if ! "$PYTHON" -m venv "$BOOTSTRAP_VENV" >&2; then
  echo "could not create $BOOTSTRAP_VENV with $PYTHON -m venv (Debian/Ubuntu: apt install python3-venv), $MANUAL" >&2
  exit 1
fi
if ! "$BOOTSTRAP_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$UV_REQUIREMENT" >&2
then
  echo "could not install uv into $BOOTSTRAP_VENV; $MANUAL" >&2; exit 1
fi
echo "$BOOTSTRAP_VENV/bin/uv"
