#!/usr/bin/env bash
# Rebuilds the shipped predictors models/predictor-clip and models/predictor-nima from the
# CEMS DiffusionDB table: seeded 80/10/10 split (seed 0), ensemble trained on the 80% with
# early stopping / selection on the 10% validation part. The 10% test part is never used.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$here/build/catimage
data=${CEMS_DIR:-$here/../shared/data/cems-diffusiondb}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for metric in clip nima; do
  "$bin" import cems "$data" --metric "$metric" -o "$tmp/$metric.jsonl"
  "$bin" split --table "$tmp/$metric.jsonl" --seed 0 -o "$tmp/$metric"
  rm -rf "$here/models/predictor-$metric"
  "$bin" train --table "$tmp/$metric/train.jsonl" --val "$tmp/$metric/val.jsonl" --kind ensemble --seed 0 \
    --metric "$metric" -o "$here/models/predictor-$metric"
done
