#!/usr/bin/env bash
# Regenerates the aMUSEd references: tests/fixtures/parity/amused_reference.{safetensors,json}
# and tests/fixtures/parity/amused_weights.sha256 (what diffusers' UVit2DModel, VQModel,
# AmusedScheduler and AmusedPipeline compute on catimage's tiny random-weight aMUSEd folder).
# Needs: a built catimage (CATIMAGE=path, default ./build/catimage); /usr/bin/python3 with
# PyTorch and numpy (Debian: python3-torch python3-numpy python3-regex python3-requests
# python3-filelock python3-yaml python3-tqdm python3-packaging python3-typing-extensions
# python3-fsspec python3-importlib-metadata python3-pil); the public sources, brought beside
# the project and never committed:
#   REF=<dir> holding diffusers/ (diffusers v0.27.2's src/diffusers), huggingface_hub/
#   (v0.21.4) and stub/ (a pure-Python safetensors module); CLIP=<OpenAI CLIP checkout>/clip
set -euo pipefail
cd "$(dirname "$0")/.."
REF=${REF:-.diffusers/ref}
CLIP=${CLIP:-.diffusers/openai-clip/clip}
CATIMAGE=${CATIMAGE:-./build/catimage}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for m in tiny-amused tiny-uvit2d-bias; do
  cp -r "tests/fixtures/$m" "$work/$m"
  "$CATIMAGE" -q random-weights "$work/$m" --seed 7   # the seed tests/tiny_models.hpp uses
done
PYTHONPATH="$REF:$REF/stub:scripts" /usr/bin/python3 scripts/make_amused_fixtures.py \
  --models "$work" --clip "$CLIP" --vocab tests/fixtures/clip-tiny-vocab --out tests/fixtures/parity
# the weights' checksums, so the tests can tell when libtorch makes different random weights
(cd "$work" && sha256sum tiny-amused/*/*.safetensors tiny-uvit2d-bias/*.safetensors) \
  > tests/fixtures/parity/amused_weights.sha256
