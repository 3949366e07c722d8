#!/usr/bin/env bash
# Regenerates the T5 references in tests/fixtures/parity/ (t5_tokenizer_ids.json,
# t5_encoder*.safetensors, t5_weights.sha256) with transformers' T5Tokenizer and
# T5EncoderModel on the tiny random-weight T5 folder catimage writes (seed 7).
# Needs a built catimage (CATIMAGE=..., default ./build/catimage) and a python3 with
# transformers, torch, safetensors, numpy and sentencepiece (Debian: python3-sentencepiece).
# Without an installed transformers, PYTHONPATH points at public sources brought beside the
# project and never committed (how the committed references were made, with Debian's torch
# 1.13): TRANSFORMERS (default .transformers, git-ignored) holding transformers/ (the
# src/transformers of a transformers 4.x checkout; 4.9.0.dev0 was used) and a stand-in
# sacremoses-0.0.45.dist-info/METADATA ("Name: sacremoses", "Version: 0.0.45": only for
# transformers' import-time version check; T5 never uses it), and REF (default .diffusers/ref)
# for huggingface_hub and stub/ (the pure-Python safetensors). transformers 5.x has no slow
# T5Tokenizer any more and its tokenizer appends a second </s> to a text ending in </s>: the
# script then prints NOTE lines for those cases (see tests/test_t5.cpp).
set -euo pipefail
cd "$(dirname "$0")/.."
CATIMAGE=${CATIMAGE:-./build/catimage}
TRANSFORMERS=${TRANSFORMERS:-.transformers}
REF=${REF:-.diffusers/ref}
PY=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r tests/fixtures/tiny-t5 "$work/tiny-t5"
for c in text_encoder text_encoder_relu; do
  "$CATIMAGE" -q random-weights "$work/tiny-t5/$c" --seed 7   # the seed tests/test_t5.cpp uses
done
PYTHONPATH="$TRANSFORMERS:$REF:$REF/stub${PYTHONPATH:+:$PYTHONPATH}" "$PY" scripts/make_t5_fixtures.py \
  --model "$work/tiny-t5" --out tests/fixtures/parity
(cd "$work" && sha256sum tiny-t5/*/model.safetensors) > tests/fixtures/parity/t5_weights.sha256
