#!/bin/sh
# Print the command that runs uv, installing uv first when there is none; progress goes to stderr.
# Used by the Makefile. In order: a uv on PATH; $PYTHON's uv module; `$PYTHON -m pip install uv`; and where
# the machine's Python refuses pip install (PEP 668 "externally-managed-environment", e.g. Debian, Ubuntu),
# uv installed into a small virtual environment, $BOOTSTRAP_VENV, found there by the next run.
set -u
PYTHON=${PYTHON:-python3}
BOOTSTRAP_VENV=${BOOTSTRAP_VENV:-.pingan/uv-venv}
UV_REQUIREMENT='uv>=0.5'
MANUAL="or install uv yourself: https://docs.astral.sh/uv/getting-started/installation/ (https://docs.astral.sh/uv/)"

if found=$(command -v uv 2>/dev/null); then
  echo "$found"; exit 0
fi
if "$PYTHON" -m uv --version >/dev/null 2>&1; then
  echo "$PYTHON -m uv"; exit 0
fi
if [ -x "$BOOTSTRAP_VENV/bin/uv" ]; then
  echo "$BOOTSTRAP_VENV/bin/uv"; exit 0
fi

echo "installing uv from PyPI: $PYTHON -m pip install '$UV_REQUIREMENT'" >&2
if refused=$("$PYTHON" -m pip install --quiet --disable-pip-version-check "$UV_REQUIREMENT" 2>&1); then
  echo "$PYTHON -m uv"; exit 0
fi
case $refused in
  *externally-managed-environment*) ;;
  *) echo "$refused" >&2; echo "could not install uv with $PYTHON -m pip; $MANUAL" >&2; exit 1 ;;
esac

echo "$PYTHON refuses pip install (PEP 668): installing uv into the virtual environment $BOOTSTRAP_VENV" >&2
if ! "$PYTHON" -m venv "$BOOTSTRAP_VENV" >&2; then
  echo "could not create $BOOTSTRAP_VENV with $PYTHON -m venv (Debian/Ubuntu: apt install python3-venv), $MANUAL" >&2
  exit 1
fi
if ! "$BOOTSTRAP_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$UV_REQUIREMENT" >&2; then
  echo "could not install uv into $BOOTSTRAP_VENV; $MANUAL" >&2; exit 1
fi
echo "$BOOTSTRAP_VENV/bin/uv"
