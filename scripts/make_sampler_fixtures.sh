#!/usr/bin/env bash
# Regenerates tests/fixtures/parity/samplers_reference.json: diffusers' timesteps and sigmas
# for each sampler name users write, with the config diffusers' docs map the name to
# (scripts/make_sampler_fixtures.py says which). Needs /usr/bin/python3 with PyTorch and numpy
# (Debian: python3-torch python3-numpy python3-requests python3-filelock python3-yaml
# python3-tqdm python3-packaging python3-typing-extensions python3-fsspec python3-regex
# python3-importlib-metadata python3-pil) and the public sources, brought beside the project
# and never committed:
#   REF32=<dir> holding diffusers/ (diffusers v0.32.2's src/diffusers: its exponential sigmas
#   are the fixed ones) and HUB=<dir> holding huggingface_hub/ (v0.21.4's src/huggingface_hub,
#   the one scripts/make_parity_fixtures.sh uses)
# e.g. git archive v0.32.2 src/diffusers | tar -x -C .diffusers/ref32 --strip-components=1
set -euo pipefail
cd "$(dirname "$0")/.."
REF32=${REF32:-.diffusers/ref32}
HUB=${HUB:-.diffusers/hub}
PYTHONPATH="$REF32:$HUB" /usr/bin/python3 scripts/make_sampler_fixtures.py \
  --out tests/fixtures/parity/samplers_reference.json
