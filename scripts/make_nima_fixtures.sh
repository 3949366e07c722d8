#!/usr/bin/env bash
# Regenerates the NIMA scorer references: tests/fixtures/parity/nima_reference.{safetensors,json},
# tests/fixtures/parity/nima_weights.sha256 and tests/fixtures/scoring/nima_*.png (reference
# outputs of Keras' MobileNet definition, as idealo's NIMA builds it, on catimage's tiny
# random-weight NIMA model, written through Keras' HDF5 layout and scripts/nima_h5_to_safetensors.py;
# keras_preprocessing's load_img). Needs: a built ./build/catimage; /usr/bin/python3 with numpy,
# h5py, PIL, keras-applications 1.0.8 and keras-preprocessing 1.1.0 (Debian: python3-numpy
# python3-h5py python3-pil python3-keras-applications python3-keras-preprocessing); and
# keras-applications 1.0.2's public source, brought beside the project and never committed:
#   KA102=<keras-applications checkout at tag 1.0.2>/keras_applications
#   (e.g. git --git-dir=<mirror of keras-team/keras-applications> archive 1.0.2 keras_applications | tar -x -C .diffusers/keras-applications-1.0.2)
set -euo pipefail
cd "$(dirname "$0")/.."
KA102=${KA102:-.diffusers/keras-applications-1.0.2/keras_applications}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r tests/fixtures/tiny-nima "$work/tiny-nima"
./build/catimage -q random-weights "$work/tiny-nima" --seed 7   # the seed tests/test_nima.cpp uses
/usr/bin/python3 scripts/make_nima_fixtures.py --model "$work/tiny-nima" --keras-applications-102 "$KA102" \
  --out tests/fixtures/parity --images tests/fixtures/scoring
# the weights' checksum, so the tests can tell when libtorch makes different random weights
(cd "$work" && sha256sum tiny-nima/model.safetensors) > tests/fixtures/parity/nima_weights.sha256
