#!/usr/bin/env bash
# A screenshot of a `catimage report` page, taken by headless Chromium (Debian's `chromium`:
# apt-get install chromium; neither the build nor the tests need it), so that a report can be
# looked at where no browser is at hand, or shown in a note.
#
#   scripts/report_screenshot.sh REPORT.html OUT.png [VIEW]
#
# VIEW is the page's state as its address fragment (what the page writes after '#' as you sort
# and filter), e.g. 'sort=score&desc=1', 'cand=xl&by=kept', 'esc=yes&thumb=256', 'q=dog'.
# SIZE=WIDTHxHEIGHT sets the window, which is what the shot shows (default 1500x1100);
# WAIT=MS the virtual time the page gets to draw and load its images (default 5000).
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 REPORT.html OUT.png [VIEW]" >&2
  exit 2
fi
page=$1 out=$2 view=${3:-}
[ -f "$page" ] || { echo "$page: no such file" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "chromium not found (apt-get install chromium)" >&2; exit 2; }
size=${SIZE:-1500x1100}
[[ $size =~ ^[0-9]+x[0-9]+$ ]] || { echo "SIZE must be WIDTHxHEIGHT, got $size" >&2; exit 2; }
url="file://$(realpath "$page")${view:+#$view}"
out_abs="$(realpath -m "$out")"
flags=(--headless --disable-gpu --hide-scrollbars --no-first-run --mute-audio
       --window-size="${size/x/,}" --virtual-time-budget="${WAIT:-5000}" --screenshot="$out_abs")
[ "$(id -u)" = 0 ] && flags+=(--no-sandbox)  # Chromium refuses root without it
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$out_abs"
"$browser" "${flags[@]}" --user-data-dir="$profile" "$url" >/dev/null 2>"$profile/log" || true
if [ ! -s "$out_abs" ]; then
  echo "no screenshot written; chromium said:" >&2
  tail -20 "$profile/log" >&2
  exit 1
fi
echo "$out_abs ($size, $url)"
