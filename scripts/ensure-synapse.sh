#!/usr/bin/env bash
# Idempotently provide a Python virtualenv with a pinned Synapse for the e2e tests.
# Fast path: when the venv already holds the pinned version, this only runs one
# `python -c` (well under a second). First run on a machine takes a few minutes.
set -euo pipefail

SYNAPSE_VERSION="1.163.2"   # pinned exactly; bump deliberately
CACHE_DIR="${TRIBUTARY_CACHE:-$HOME/.cache/tributary}"
VENV="$CACHE_DIR/synapse-venv"
PY="$VENV/bin/python"

installed_version() {
  # Prints nothing when Synapse is not importable from the venv.
  [ -x "$PY" ] || return 0
  # -I: isolated mode, so a directory in the cwd (e.g. one named `types`) cannot shadow modules.
  "$PY" -I -c 'import synapse; print(synapse.__version__)' 2>/dev/null || true
}

current="$(installed_version)"
if [ "$current" = "$SYNAPSE_VERSION" ]; then
  echo "Synapse $current (cached in $VENV)"
  exit 0
fi

mkdir -p "$CACHE_DIR"
if [ ! -x "$PY" ]; then
  echo "Creating virtualenv at $VENV"
  if ! python3 -m venv "$VENV"; then
    echo "error: 'python3 -m venv' failed; install the python3-venv package" >&2
    exit 1
  fi
fi

echo "Installing matrix-synapse==$SYNAPSE_VERSION into $VENV (once per machine)"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$PY" -I -m pip install --quiet --upgrade pip wheel
"$PY" -I -m pip install --quiet "matrix-synapse==$SYNAPSE_VERSION"

current="$(installed_version)"
if [ "$current" != "$SYNAPSE_VERSION" ]; then
  echo "error: expected Synapse $SYNAPSE_VERSION in $VENV, found '${current:-none}'" >&2
  exit 1
fi
echo "Synapse $current (installed in $VENV)"
