#!/usr/bin/env bash
# Reproduces the predictor comparison on the CEMS DiffusionDB table (README "Predictors"):
#   import -> seeded 80/10/10 split -> train every kind -> `catimage eval` on the test split,
# and the different-style check: prompts of <= 6 words held out entirely, the rest split
# 80/10/10, predictors trained on that and evaluated on the held-out short prompts.
# Usage: scripts/reproduce_cems.sh [OUT_DIR] [METRIC]     (defaults: /tmp/catimage-cems clip)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$here/build/catimage
out=${1:-/tmp/catimage-cems}
metric=${2:-clip}
data=${CEMS_DIR:-$here/../shared/data/cems-diffusiondb}
kinds=${KINDS:-tfidf-ridge bag knn transformer ensemble}
mkdir -p "$out"
"$bin" import cems "$data" --metric "$metric" -o "$out/$metric.jsonl"
"$bin" split --table "$out/$metric.jsonl" --seed 0 -o "$out/split"
"$bin" split --table "$out/$metric.jsonl" --seed 0 --holdout-max-words 6 -o "$out/style"
for k in $kinds; do
  "$bin" train --table "$out/split/train.jsonl" --val "$out/split/val.jsonl" --kind "$k" --seed 0 \
    --metric "$metric" -o "$out/pred-$k" 2>&1 | grep -E "trained|wrote" || true
  "$bin" eval --table "$out/split/test.jsonl" --predictor "$out/pred-$k" --title "$metric test: $k" \
    -o "$out/eval-$k" > /dev/null
done
for k in tfidf-ridge ensemble; do
  "$bin" train --table "$out/style/train.jsonl" --val "$out/style/val.jsonl" --kind "$k" --seed 0 \
    --metric "$metric" -o "$out/style-pred-$k" 2>&1 | grep -E "trained" || true
  "$bin" eval --table "$out/style/heldout.jsonl" --predictor "$out/style-pred-$k" \
    --title "$metric, short prompts (<= 6 words) unseen in training: $k" -o "$out/style-eval-$k" > /dev/null
done
python3 - "$out" "$kinds" <<'PY'
import json, sys, os
out, kinds = sys.argv[1], sys.argv[2].split()
def row(name, path):
    j = json.load(open(os.path.join(path, "eval.json")))
    bs = j["singles"][j["best_single"]]["quality"]; r = j["router"]
    f = lambda v, fmt: "—" if v is None else fmt.format(v)
    return (f"| {name} | {r['quality_at_best_single_cost']:.4f} | {r['quality_at_best_single_cost']-bs:+.4f} | "
            f"{f(r['cost_to_match_best_single'], '{:.3f}')} | {f(r['oracle_gap_captured'] and 100*r['oracle_gap_captured'], '{:.1f}%')} | "
            f"{r['aiq']:.4f} | {f(r['apgr'], '{:.4f}')} |"), j
hdr = "| predictor | quality @ best-single cost | Δ vs best single | cost to match best single | oracle gain captured | AIQ | APGR |\n|---|---:|---:|---:|---:|---:|---:|"
print("### test split (700 prompts)\n" + hdr)
for k in kinds:
    line, j = row(k, os.path.join(out, f"eval-{k}")); print(line)
o = j["oracle"]; print(f"| oracle | {o['quality_at_best_single_cost']:.4f} | {o['quality_at_best_single_cost']-j['singles'][j['best_single']]['quality']:+.4f} | {o['cost_to_match_best_single']:.3f} | 100% | {o['aiq']:.4f} | {o['apgr']:.4f} |")
print(f"\nbest single: {j['best_single']} {j['singles'][j['best_single']]}")
print("\n### short prompts (<= 6 words), none seen in training\n" + hdr)
for k in ["tfidf-ridge", "ensemble"]:
    line, j = row(k, os.path.join(out, f"style-eval-{k}")); print(line)
print(f"\nbest single: {j['best_single']} {j['singles'][j['best_single']]}")
PY
