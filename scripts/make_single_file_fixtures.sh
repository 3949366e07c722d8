#!/usr/bin/env bash
# Regenerates tests/fixtures/single-file/: the tiny SD1, SD2 and SDXL pipelines of
# tests/fixtures/single-file/{sd1,sd2,sdxl}/ (the real block layouts, tiny widths) with the random
# weights catimage writes with seed 7, converted to single-file checkpoints in the original layouts
# by diffusers' own conversion scripts (fp16, their --half); and the weights' checksums.
# Needs: a built ./build/catimage; /usr/bin/python3 with PyTorch and numpy; the public sources,
# brought beside the project and never committed:
#   SCRIPTS=<dir with diffusers v0.27.2's scripts/convert_diffusers_to_original_stable_diffusion.py
#            and convert_diffusers_to_original_sdxl.py>
#   STUB=<dir with a pure-Python safetensors module>
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPTS=${SCRIPTS:-.diffusers/scripts}
STUB=${STUB:-.diffusers/ref/stub}
out=tests/fixtures/single-file
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for m in sd1 sd2 sdxl; do
  cp -r "$out/$m" "$work/$m"
  ./build/catimage -q random-weights "$work/$m" --seed 7   # the seed tests/test_single_file.cpp uses
  script=convert_diffusers_to_original_stable_diffusion.py
  [ $m = sdxl ] && script=convert_diffusers_to_original_sdxl.py
  PYTHONPATH="$STUB" /usr/bin/python3 "$SCRIPTS/$script" --model_path "$work/$m" \
    --checkpoint_path "$out/$m.safetensors" --half --use_safetensors > /dev/null
done
# the weights' checksums, so the tests can tell when libtorch makes different random weights
(cd "$work" && sha256sum sd1/*/*.safetensors sd2/*/*.safetensors sdxl/*/*.safetensors) > "$out/weights.sha256"
ls -l "$out"/*.safetensors
