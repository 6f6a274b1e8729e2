#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (playwright-core drives it; no browser download).
# Does nothing when it is already there.
set -euo pipefail
if command -v chromium > /dev/null 2>&1; then
  exit 0
fi
echo "installing Debian's chromium for the browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
sudo_if_needed apt-get update -qq
sudo_if_needed apt-get install -y -qq chromium > /dev/null
