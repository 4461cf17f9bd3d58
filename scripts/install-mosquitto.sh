#!/usr/bin/env bash
# Installs Debian's mosquitto broker and clients when they are missing, so the
# test suite can run the pair against a second, independent broker; and openssl,
# with which the TLS tests make their certificates.
set -euo pipefail
if command -v mosquitto >/dev/null && command -v mosquitto_pub >/dev/null && command -v openssl >/dev/null; then
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mosquitto mosquitto-clients openssl >/dev/null
# Debian's package may start a system broker on port 1883; tests use their own on free ports.
$SUDO systemctl stop mosquitto >/dev/null 2>&1 || $SUDO service mosquitto stop >/dev/null 2>&1 || true
