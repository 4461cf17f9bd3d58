#!/usr/bin/env bash
# Installs Debian's redis-server when it is missing: the aedes cluster engine
# (--engine aedes-cluster) starts one on a free loopback port and its nodes share
# messages and sessions through it.
set -euo pipefail
if command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
# Debian's package may start a system redis on port 6379; the lab starts its own on a free port.
$SUDO systemctl stop redis-server >/dev/null 2>&1 || $SUDO service redis-server stop >/dev/null 2>&1 || true
