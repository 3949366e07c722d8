#!/usr/bin/env bash
# Regenerates the CLIP scoring references: tests/fixtures/parity/clip_model.{safetensors,json},
# tests/fixtures/parity/clip_weights.sha256 and tests/fixtures/scoring/*.png (reference
# outputs from OpenAI CLIP's model code on catimage's tiny random-weight CLIPModel, and PIL
# preprocessing). Needs: a built ./build/catimage; /usr/bin/python3 with PyTorch, numpy and
# PIL (Debian: python3-torch python3-numpy python3-pil python3-regex; ftfy optional); the public
# sources, brought beside the project and never committed:
#   CLIP=<OpenAI CLIP checkout>/clip, STUB=<dir with a pure-Python safetensors module>
set -euo pipefail
cd "$(dirname "$0")/.."
CLIP=${CLIP:-.diffusers/openai-clip/clip}
STUB=${STUB:-.diffusers/ref/stub}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r tests/fixtures/tiny-clip "$work/tiny-clip"
./build/catimage -q random-weights "$work/tiny-clip" --seed 7   # the seed tests/test_scoring.cpp uses
PYTHONPATH="$STUB" /usr/bin/python3 scripts/make_clip_fixtures.py --model "$work/tiny-clip" --clip "$CLIP" \
  --vocab tests/fixtures/clip-tiny-vocab --out tests/fixtures/parity --images tests/fixtures/scoring
# the weights' checksum, so the tests can tell when libtorch makes different random weights
(cd "$work" && sha256sum tiny-clip/model.safetensors) > tests/fixtures/parity/clip_weights.sha256
