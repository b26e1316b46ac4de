#!/bin/sh
# The browser tests' one system step, run by `make test` before pytest (never from a fixture):
# Debian's chromium, installed with apt-get when it is missing and we are root. Not root: say
# the one command to run and go on (the browser tests then fail, saying the same command).
# Python playwright comes with the `test` extra (it drives this chromium; no browser download).
set -e
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
COMMAND="sudo sh tests/browser/install.sh"
if [ -x "$CHROMIUM" ]; then
  echo "browser tests: chromium at $CHROMIUM"
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "browser tests: $CHROMIUM is missing; installing Debian's chromium (apt-get)"
  # A fresh machine's package lists may be empty or stale: update once if the install fails.
  apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }
  [ -x "$CHROMIUM" ] || { echo "browser tests: apt-get did not give $CHROMIUM" >&2; exit 1; }
  exit 0
fi
echo "browser tests: $CHROMIUM is missing and cannot be installed from here (needs root and" >&2
echo "apt-get); the browser tests will fail until you run: $COMMAND" >&2
