#!/usr/bin/env bash
# Regenerates the tiny LoRA files (tests/fixtures/lora/) and their references
# (tests/fixtures/parity/lora_reference.*): UNet merges by diffusers v0.26.3's own non-PEFT LoRA
# layers (load_attn_procs + fuse_lora; v0.27 dropped them from its models and needs peft, which
# is not installable here), text-encoder merges by an independent plain-torch script of the rule
# (diffusers merges those only through transformers, not available here); see
# scripts/make_lora_fixtures.py. Needs a built ./build/catimage, Debian's python3-torch/-numpy,
# and REF=<dir> with diffusers/ (v0.26.3's src/diffusers, which runs on Debian's PyTorch 1.13),
# huggingface_hub/ (v0.21.4) and stub/ (a pure-Python safetensors module), CLIP=<OpenAI CLIP
# checkout>/clip — public sources brought beside the project, never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
REF=${REF:-.diffusers/ref026}
CLIP=${CLIP:-.diffusers/openai-clip/clip}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for m in tiny-sd1 tiny-sdxl; do
  cp -r "tests/fixtures/$m" "$work/$m"
  ./build/catimage -q random-weights "$work/$m" --seed 7   # the seed tests/tiny_models.hpp uses
done
PYTHONPATH="$REF:$REF/stub" /usr/bin/python3 scripts/make_lora_fixtures.py \
  --models "$work" --clip "$CLIP" --vocab tests/fixtures/clip-tiny-vocab \
  --loras tests/fixtures/lora --out tests/fixtures/parity
# (the tiny models are the parity fixtures' ones: Parity.TinyModelsAreTheOnesTheReferencesUsed pins them)
