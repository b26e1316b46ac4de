#!/bin/sh
# What the browser tests need: Debian's chromium and Python playwright (no browser download).
set -e
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y chromium || (apt-get update && apt-get install -y chromium); \
  else echo "chromium missing: run as root: apt-get install -y chromium" >&2; fi
fi
"${PYTHON:-.venv/bin/python}" -c "import playwright" 2>/dev/null || "${PYTHON:-.venv/bin/python}" -m pip install --quiet playwright
