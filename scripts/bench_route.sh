#!/usr/bin/env bash
# Times `catimage route` on 10,000 real prompts (DiffusionDB + MS-COCO) with the shipped
# default predictor and config: decision only, wall clock including process start-up.
# Usage: scripts/bench_route.sh [N_PROMPTS] [RUNS]      (defaults: 10000 5)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$here/build/catimage
n=${1:-10000}
runs=${2:-5}
data=$here/../shared/data/prompts
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 - "$data" "$n" "$tmp/prompts.txt" <<'PY'
import csv, sys, os
data, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ps = []
for name in ("DiffusionDB_sample_seed42.csv", "MS-COCO.csv"):
    with open(os.path.join(data, name), newline="", encoding="utf-8") as f:
        ps += [" ".join(r["prompt"].split()) for r in csv.DictReader(f)]
ps = [p for p in ps if p][:n]
open(out, "w", encoding="utf-8").write("\n".join(ps) + "\n")
PY
echo "prompts: $(wc -l < "$tmp/prompts.txt"), cores: $(nproc), threads: default (all cores)"
times=()
for i in $(seq "$runs"); do
  s=$(date +%s.%N)
  "$bin" -q route "$tmp/prompts.txt" -o "$tmp/routes.jsonl"
  e=$(date +%s.%N)
  times+=("$(echo "$e - $s" | bc -l)")
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "route wall seconds over %d runs: min %.3f median %.3f max %.3f\n", NR, a[1], a[int((NR+1)/2)], a[NR]}'
test "$(wc -l < "$tmp/routes.jsonl")" -eq "$(wc -l < "$tmp/prompts.txt")"
