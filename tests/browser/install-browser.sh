#!/bin/sh
# Install what the browser tests need, where it is missing: Debian's Chromium (driven by
# Playwright with executable_path; no browser download) and a CJK font for the screenshots.
set -e
need=""
[ -x "${ANXIN_CHROMIUM:-/usr/bin/chromium}" ] || need="$need chromium"
fc-list :lang=zh 2>/dev/null | grep -q . || need="$need fonts-wqy-microhei"
if [ -n "$need" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y --no-install-recommends $need
fi
PY="${PYTHON:-python3}"; [ -x .venv/bin/python ] && PY=.venv/bin/python
"$PY" -c "import playwright" 2>/dev/null || echo "note: pip install playwright (the Python package; no 'playwright install' needed)"
