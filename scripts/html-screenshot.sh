#!/usr/bin/env bash
# Renders the demo's two-period drift report in headless Chromium and takes a screenshot.
#   scripts/html-screenshot.sh [OUT.png]
# Installs Debian's chromium when it is missing (needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-drift-report.png}"
command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo run --quiet -- demo-trail --out "$work/trail"
cargo run --quiet -- drift "$work/trail" --baseline policies/ --state "$work/state.json" --unused-after 7d >/dev/null
cargo run --quiet -- demo-trail --period2 --out "$work/trail"
cargo run --quiet -- drift "$work/trail" --baseline policies/ --state "$work/state.json" --unused-after 7d --format html > "$work/report.html"
chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
  --disable-sync --no-first-run --user-data-dir="$work/profile" --window-size=1200,4000 --hide-scrollbars \
  --screenshot="$out" "file://$work/report.html" 2>"$work/chromium.log"
chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
  --disable-sync --no-first-run --user-data-dir="$work/profile" --enable-logging=stderr --v=0 \
  --dump-dom "file://$work/report.html" > "$work/dom.html" 2>"$work/console.log"
# the page logs nothing: any console message (an error, a style or script its CSP refused) fails
if grep -E ":CONSOLE|Uncaught" "$work/console.log"; then echo "console messages (above)"; exit 1; fi
grep -q 'class="sortable activity sort-ready"' "$work/dom.html"
grep -q '<svg class="spark calls"' "$work/dom.html" && grep -q '<marker id="arrow"' "$work/dom.html"
echo "screenshot: $out (no console message; charts, graph and sortable tables rendered)"
