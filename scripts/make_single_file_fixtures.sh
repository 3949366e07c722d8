#!/usr/bin/env bash
# Regenerates tests/fixtures/single-file/: the tiny SD1, SD2 and SDXL pipelines of
# tests/fixtures/single-file/{sd1,sd2,sdxl}/ (the real block layouts, tiny widths) with the random
# weights catimage writes with seed 7, converted to single-file checkpoints in the original layouts
# by diffusers' own conversion scripts (fp16, their --half); the weights' checksums; the CLIP ids
# of a few prompts from OpenAI CLIP's tokenizer with its full BPE table; and the shipped
# vocab.json/merges.txt (configs/pipelines/clip-bpe/, checked against the tiny fixture vocab).
# Needs: a built ./build/catimage; /usr/bin/python3 with PyTorch and numpy; the public sources,
# brought beside the project and never committed:
#   SCRIPTS=<dir with diffusers v0.27.2's scripts/convert_diffusers_to_original_stable_diffusion.py
#            and convert_diffusers_to_original_sdxl.py>
#   STUB=<dir with a pure-Python safetensors module>, CLIP=<OpenAI CLIP checkout>/clip
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPTS=${SCRIPTS:-.diffusers/scripts}
STUB=${STUB:-.diffusers/ref/stub}
CLIP=${CLIP:-.diffusers/openai-clip/clip}
out=tests/fixtures/single-file
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# the shipped tokenizer files, and the derivation checked on the tiny vocabulary
/usr/bin/python3 scripts/make_clip_bpe_files.py "$CLIP/bpe_simple_vocab_16e6.txt.gz" configs/pipelines/clip-bpe
/usr/bin/python3 scripts/make_clip_bpe_files.py "$CLIP/bpe_simple_vocab_16e6.txt.gz" "$work/tiny-vocab" --merges 1000
cmp "$work/tiny-vocab/vocab.json" tests/fixtures/clip-tiny-vocab/vocab.json
cmp "$work/tiny-vocab/merges.txt" tests/fixtures/clip-tiny-vocab/merges.txt
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
PYTHONPATH="$STUB" /usr/bin/python3 - "$CLIP" "$out/clip_tokens.json" <<'PY'
import json, sys, types
sys.path.insert(0, sys.argv[1])
try:
    import ftfy  # noqa: F401
except ImportError:  # simple_tokenizer's text fixer; the identity on these prompts
    sys.modules["ftfy"] = types.SimpleNamespace(fix_text=lambda s: s)
import simple_tokenizer
tok = simple_tokenizer.SimpleTokenizer()  # the full BPE table, bpe_simple_vocab_16e6.txt.gz
prompts = ["a photograph of an astronaut riding a horse",
           "A cat's portrait, oil on canvas (1889), by Vincent van Gogh!!",
           "Ünïcödé café — naïve façade at night, emoji 🐱🚀",
           "isometric voxel art of a tiny   cozy\tlibrary, 8k, trending on artstation, highly detailed",
           " ".join(["word"] * 80)]
sot, eot = tok.encoder["<|startoftext|>"], tok.encoder["<|endoftext|>"]
ids = []
for p in prompts:
    body = [sot] + tok.encode(p)[:75] + [eot]
    ids.append(body)
json.dump({"about": "OpenAI CLIP SimpleTokenizer ids (start, at most 75 BPE ids, end; unpadded) with the full BPE table",
           "prompts": prompts, "ids": ids}, open(sys.argv[2], "w"), ensure_ascii=False, indent=1)
PY
ls -l "$out"/*.safetensors
