#!/usr/bin/env bash
# Make sure a Chromium exists for the browser tests (login page, demo dashboard), which drive it
# with playwright-core. Debian/Ubuntu: installs the distribution's `chromium` package via apt
# (no browser downloads). Prints the executable's path on the last line.
set -euo pipefail

find_chromium() {
  local c
  for c in "${TRIBUTARY_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
  done
  return 1
}

if c="$(find_chromium)"; then
  echo "$c"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: no chromium found and no apt-get; install Chromium or set TRIBUTARY_CHROMIUM" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: installing chromium needs root (or sudo)" >&2; exit 1
  fi
fi
echo "Installing Chromium from the distribution's packages" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core </dev/null >&2
c="$(find_chromium)" || { echo "error: apt-get installed chromium but no executable was found" >&2; exit 1; }
echo "$c"
