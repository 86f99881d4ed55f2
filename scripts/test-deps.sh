#!/usr/bin/env bash
# What the test suite needs beyond the venv: Prometheus and promtool (Debian's package).
set -euo pipefail
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  echo "==> installing Debian's prometheus (server + promtool) for the observability tests"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq prometheus >/dev/null
  # The package starts a system Prometheus; the tests start their own.
  $SUDO systemctl disable --now prometheus 2>/dev/null || $SUDO service prometheus stop 2>/dev/null || true
fi
