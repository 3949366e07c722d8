#!/usr/bin/env bash
# Regenerates the PixArt references in tests/fixtures/parity/ (pixart_reference.safetensors,
# pixart_reference.json, pixart_weights.sha256): diffusers' own Transformer2DModel (PixArt's
# "ada_norm_single" patch transformer) and PixArtAlphaPipeline.__call__, run from given text
# embeddings and masks, on the tiny random-weight folders catimage writes (seed 7):
# tests/fixtures/tiny-pixart, and the same with tests/fixtures/tiny-pixart-ms's transformer
# config (micro-conditions) over it. Needs a built catimage (CATIMAGE=..., default
# ./build/catimage), /usr/bin/python3 with PyTorch and numpy, and REF (default .diffusers/ref)
# as scripts/make_parity_fixtures.sh describes it. transformers is not needed: PixArtAlphaPipeline
# only imports its T5 classes, so a stand-in module (written to a temporary folder) provides
# the names diffusers imports.
set -euo pipefail
cd "$(dirname "$0")/.."
CATIMAGE=${CATIMAGE:-./build/catimage}
REF=${REF:-.diffusers/ref}
PY=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r tests/fixtures/tiny-pixart "$work/tiny-pixart"
cp -r tests/fixtures/tiny-pixart "$work/tiny-pixart-ms"   # as tests/test_pixart.cpp composes it
cp tests/fixtures/tiny-pixart-ms/transformer/config.json "$work/tiny-pixart-ms/transformer/config.json"
for m in tiny-pixart tiny-pixart-ms; do
  "$CATIMAGE" -q random-weights "$work/$m" --seed 7   # the seed tests/tiny_models.hpp uses
done

# The stand-in transformers package (names only; nothing of it runs).
mkdir -p "$work/standin/transformers/utils" "$work/standin/transformers-4.38.2.dist-info"
printf 'Metadata-Version: 2.1\nName: transformers\nVersion: 4.38.2\n' \
  > "$work/standin/transformers-4.38.2.dist-info/METADATA"
cat > "$work/standin/transformers/__init__.py" <<'PY'
"""A stand-in for transformers: the class names diffusers imports, none of them usable."""
__version__ = "4.38.2"


class _StandIn:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("the transformers stand-in cannot build models")


def __getattr__(name):
    if name[:1].isupper():
        cls = type(name, (_StandIn,), {})
        globals()[name] = cls
        return cls
    raise AttributeError(name)
PY
cat > "$work/standin/transformers/utils/__init__.py" <<'PY'
WEIGHTS_NAME = "pytorch_model.bin"
SAFE_WEIGHTS_NAME = "model.safetensors"
FLAX_WEIGHTS_NAME = "flax_model.msgpack"


def __getattr__(name):
    raise AttributeError(name)
PY

PYTHONPATH="$work/standin:$REF:$REF/stub" "$PY" scripts/make_pixart_fixtures.py \
  --models "$work" --out tests/fixtures/parity
# the weights' checksums, so the tests can tell when libtorch makes different random weights
(cd "$work" && sha256sum tiny-pixart/*/*.safetensors tiny-pixart-ms/*/*.safetensors) > tests/fixtures/parity/pixart_weights.sha256
