#!/usr/bin/env bash
# Make sure PostgreSQL server binaries (initdb, postgres) exist for the tests.
# Only installs; never starts a server (a test helper runs a throwaway cluster).
# Debian/Ubuntu only: installs the distribution's `postgresql` package via apt.
set -euo pipefail

find_initdb() {
  local f
  for f in /usr/lib/postgresql/*/bin/initdb; do
    [ -x "$f" ] && { echo "$f"; return 0; }
  done
  return 1
}

if initdb="$(find_initdb)"; then
  echo "PostgreSQL binaries present: $("$initdb" --version) ($(dirname "$initdb"))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: no initdb under /usr/lib/postgresql/*/bin and no apt-get; install PostgreSQL server binaries" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: installing postgresql needs root (or sudo)" >&2; exit 1
  fi
fi

echo "Installing PostgreSQL from the distribution's packages"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# The package's postinst may try to create/start a default cluster; that is harmless
# in a container without systemd and the tests do not use it.
$SUDO apt-get install -y -qq --no-install-recommends postgresql </dev/null

if initdb="$(find_initdb)"; then
  echo "PostgreSQL binaries installed: $("$initdb" --version) ($(dirname "$initdb"))"
else
  echo "error: apt-get installed postgresql but no initdb under /usr/lib/postgresql/*/bin" >&2
  exit 1
fi
