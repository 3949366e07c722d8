#!/usr/bin/env bash
# Checks that every #include between catimage's modules follows the layer order
#   util -> io -> text -> predictor | router | diffusion -> eval | scoring -> batch -> cli
# (a module includes itself and modules of lower layers only; modules of one layer do not
# include each other). Usage: bash scripts/check_layers.sh [ROOT]   (default: this checkout)
# Prints each offending include as FILE:LINE and exits 1 if there is any.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
declare -A layer=([util]=0 [io]=1 [text]=2 [predictor]=3 [router]=3 [diffusion]=3
                  [eval]=4 [scoring]=4 [batch]=5 [cli]=6)
bad=0
for mod in "${!layer[@]}"; do
  for dir in "$root/src/$mod" "$root/include/catimage/$mod"; do
    [ -d "$dir" ] || continue
    while IFS=: read -r file line text; do
      dep=$(sed -E 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*"(catimage/)?([a-z_]+)/.*|\2|' <<<"$text")
      [ -n "${layer[$dep]+x}" ] || continue  # not a module (e.g. "fuzz_common.hpp")
      if [ "$dep" != "$mod" ] && [ "${layer[$dep]}" -ge "${layer[$mod]}" ]; then
        echo "${file#$root/}:$line: $mod includes $dep ($text)"
        bad=1
      fi
    done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$dir" --include='*.cpp' --include='*.hpp' || true)
  done
done
if [ $bad = 1 ]; then
  echo "layer order: util -> io -> text -> predictor|router|diffusion -> eval|scoring -> batch -> cli" >&2
  exit 1
fi
echo "includes follow the layer order"
