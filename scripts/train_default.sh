#!/usr/bin/env bash
# Rebuilds the shipped predictors models/predictor-clip and models/predictor-nima (and the
# cascade predictors models/cascade-clip and models/cascade-nima) from the
# CEMS DiffusionDB table: tfidf-ridge trained on all 7,000 labeled prompts (no validation
# split held back), with the ridge alpha chosen by 5-fold cross-validation
# (`catimage cv ... --hyper '{"alpha": A}' --compare-hyper '{"alpha": B}'`; README,
# "Predictors"). The kind itself was chosen the same way: no other kind beat tfidf-ridge by more
# than the fold-to-fold noise. The cascade predictors (first candidate SD-Turbo, the cheapest)
# use the ridge alpha chosen by `catimage cv --cascade SD-Turbo --cascade-alpha A` (3, 10, 30
# and 100 tried; 10 at least as good as any on CLIP and NIMA).
# The tables are the shipped models/tables/cems-diffusiondb-{clip,nima}.jsonl; with CEMS_DIR
# (the eight CEMS CSV files) they are first re-imported from it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$here/build/catimage
cd "$here"  # predictor.json records the table's path as given: relative to the project
ALPHA_CLIP=${ALPHA_CLIP:-10}
ALPHA_NIMA=${ALPHA_NIMA:-10}
# The guard margin recorded for `route`: leave-cluster-out calibrated
# (`catimage cv --clusters 10 --seed 0`: the smallest margin with a mean gain >= 0 and >= 90% of
# held-out clusters at or above the best single; README, "The guard").
MARGIN_CLIP=${MARGIN_CLIP:-0.75}
MARGIN_NIMA=${MARGIN_NIMA:-0.1}
CASCADE_FIRST=${CASCADE_FIRST:-SD-Turbo}
CASCADE_ALPHA=${CASCADE_ALPHA:-10}
for metric in clip nima; do
  alpha=ALPHA_${metric^^}
  margin=MARGIN_${metric^^}
  table=models/tables/cems-diffusiondb-$metric.jsonl
  if [ -n "${CEMS_DIR:-}" ]; then "$bin" import cems "$CEMS_DIR" --metric "$metric" -o "$table"; fi
  rm -rf "$here/models/predictor-$metric"
  "$bin" train --table "$table" --all --kind tfidf-ridge --hyper "{\"alpha\": ${!alpha}}" --seed 0 \
    --margin "${!margin}" --metric "$metric" -o "$here/models/predictor-$metric"
  rm -rf "$here/models/cascade-$metric"
  "$bin" train --table "$table" --cascade "$CASCADE_FIRST" --hyper "{\"alpha\": $CASCADE_ALPHA}" --seed 0 \
    --metric "$metric" -o "$here/models/cascade-$metric"
done
