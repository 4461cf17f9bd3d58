#!/usr/bin/env bash
# Installs Debian's chromium when it is missing, so the browser tests
# (test/smoke/web.test.ts, driven by playwright-core through the executable's
# path) can run: nothing downloads a browser of its own.
set -euo pipefail
if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
