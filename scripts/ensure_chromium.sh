#!/usr/bin/env bash
# Make sure Debian's chromium is at /usr/bin/chromium for the browser tests (Playwright
# drives it; `playwright install` cannot download browsers here). Idempotent and quiet:
# does nothing when it is already there; installs it with apt-get as root otherwise.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium.sh: $CHROMIUM is missing and there is no apt-get; the browser tests will be skipped" >&2
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "ensure_chromium.sh: $CHROMIUM is missing; install it as root (apt-get install -y chromium)" >&2
    exit 0
fi
echo "ensure_chromium.sh: installing chromium (1-2 minutes)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq chromium >/dev/null
if [ ! -x "$CHROMIUM" ]; then
    echo "ensure_chromium.sh: apt-get installed chromium but $CHROMIUM is still missing" >&2
    exit 1
fi
