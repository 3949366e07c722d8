#!/usr/bin/env bash
# A quality table and its evaluation from scratch, the paper's workflow:
#   sweep (every prompt x every candidate, same seed per prompt, measured seconds)
#   -> score (CLIPScore or PickScore of every image) -> table (quality table + measured costs)
#   -> split (seeded 80/10/10) -> train -> eval (Markdown report, quality-cost plot, and the
#   quality-vs-steps figure when the candidates form a step ladder).
#
#   scripts/reproduce_table.sh PROMPTS CONFIG SCORER OUT [METRIC] [KIND]
#
# PROMPTS: any prompt file catimage reads; CONFIG: a candidates config whose candidates have
# "weights" folders; SCORER: a CLIPModel folder in transformers format; METRIC: clipscore
# (default) or pickscore; KIND: the predictor kind (default tfidf-ridge). Extra sweep options
# (e.g. --steps 1,2,4,8 --candidates a,b --batch 8 --device cuda) go in SWEEP_ARGS; the run is
# resumable: rerun the same command after an interruption.
set -euo pipefail
if [[ $# -lt 4 ]]; then
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
prompts=$1 config=$2 scorer=$3 out=$4 metric=${5:-clipscore} kind=${6:-tfidf-ridge}
bin=${CATIMAGE:-$(cd "$(dirname "$0")/.." && pwd)/build/catimage}
# shellcheck disable=SC2086
"$bin" sweep "$prompts" -c "$config" --out "$out/sweep" ${SWEEP_ARGS:-}
"$bin" score "$out/sweep" --scorer "$scorer" --metric "$metric"
"$bin" table "$out/sweep" --metric "$metric" -o "$out/table.jsonl" --config-out "$out/candidates-measured.json"
"$bin" split --table "$out/table.jsonl" --seed 0 -o "$out/split"
"$bin" train --table "$out/split/train.jsonl" --val "$out/split/val.jsonl" --kind "$kind" --seed 0 \
  --metric "$metric" -o "$out/predictor"
"$bin" cv -t "$out/table.jsonl" --kind "$kind" --folds 5 -o "$out/cv.json" > "$out/cv.md"
"$bin" eval --table "$out/split/test.jsonl" --predictor "$out/predictor" -c "$out/candidates-measured.json" \
  --title "$(basename "$prompts"): $kind ($metric)" -o "$out/eval"
# the whole table's step ladders (the paper's figure 1) when the candidates are NAME@S
"$bin" -q eval --table "$out/table.jsonl" --predictor "$out/predictor" -c "$out/candidates-measured.json" \
  -o "$out/eval-all" > /dev/null
echo "wrote $out/eval/eval.md, $out/cv.md, $out/eval-all/ (quality_steps.png with a step ladder)" >&2
