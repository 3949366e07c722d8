#!/usr/bin/env bash
# Full-size diffusers pipeline folders with seeded random weights, for whole-pipeline benchmarks
# (`catimage bench --pipeline`, scripts/bench_pipeline_vs_diffusers.sh): the shipped configs of
# configs/pipelines/NAME (the single-file config sets: sd15, sd21, sd21-base, sd-turbo, sdxl,
# sdxl-turbo) or configs/archs/pipelines/NAME (benchmark-only: pixart-xl-2-512, amused-512) -- the
# real models' architectures, schedulers and tokenizer settings --, a tiny vocabulary in every
# tokenizer folder (tests/fixtures/clip-tiny-vocab for CLIP, tiny-pixart's spiece.model for T5;
# the real vocabularies are not shipped, and a vocabulary's size changes no timing: the text
# encoders embed a fixed number of ids whatever they are), and `catimage random-weights --dtype DTYPE` weights, laid out as the
# Hub's repos are (model_index.json, text_encoder/model.safetensors, unet/diffusion_pytorch_model.
# safetensors, ...), so diffusers' DiffusionPipeline.from_pretrained loads the same folder.
#
#   scripts/make_bench_pipelines.sh OUT [NAME ...]     (default: sd-turbo sdxl-turbo sd15)
#
# Environment: CATIMAGE (./build/catimage), DTYPE (fp16; the real repos' fp16 variants), SEED (0).
# A folder whose weights are all there is left alone, so a second call costs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: $0 OUT [NAME ...]}
shift
names=("$@")
((${#names[@]})) || names=(sd-turbo sdxl-turbo sd15)
CATIMAGE=${CATIMAGE:-./build/catimage}
DTYPE=${DTYPE:-fp16}
SEED=${SEED:-0}
[[ -x $CATIMAGE ]] || { echo "no $CATIMAGE: build catimage first" >&2; exit 1; }
mkdir -p "$OUT"
for name in "${names[@]}"; do
  src=configs/pipelines/$name
  [[ -f $src/model_index.json ]] || src=configs/archs/pipelines/$name
  [[ -f $src/model_index.json ]] || {
    echo "no configs/pipelines/$name or configs/archs/pipelines/$name (there: $(ls configs/pipelines configs/archs/pipelines | grep -v : | tr '\n' ' '))" >&2
    exit 2
  }
  dst=$OUT/$name
  if [[ ! -f $dst/model_index.json ]]; then
    rm -rf "$dst.tmp"
    cp -r "$src" "$dst.tmp"
    vocab=(tests/fixtures/clip-tiny-vocab/{vocab.json,merges.txt})
    grep -q T5Tokenizer "$dst.tmp/model_index.json" && vocab=(tests/fixtures/tiny-pixart/tokenizer/spiece.model)
    for tok in "$dst.tmp"/tokenizer*/; do cp "${vocab[@]}" "$tok"; done
    mv "$dst.tmp" "$dst"
  fi
  "$CATIMAGE" -q random-weights "$dst" --seed "$SEED" --dtype "$DTYPE"
  echo "$dst: $(du -sh "$dst" | cut -f1)"
done
