#!/usr/bin/env bash
# Throughput of `catimage score` with full-size scorer architectures and random weights:
#   ARCH=b32   CLIPScore, openai/clip-vit-base-patch32 (ViT-B/32 at 224², 512-wide text tower)
#   ARCH=l14   CLIPScore, openai/clip-vit-large-patch14 (ViT-L/14 at 224², 768-wide text tower)
#   ARCH=nima  NIMA, idealo's MobileNet (alpha 1.0) at 224²
#   ARCH=b32+nima  CLIPScore and NIMA in one pass over the images (--metric clipscore,nima)
# N random 256x256 PNGs with prompts of ~20 words are scored at batch BATCH; the lines printed
# are `score`'s own summaries (images/s over reading the images and scoring, model loading excluded).
#
#   scripts/bench_score.sh            # ARCH=b32 N=64 BATCH=16 DEVICE=auto THREADS=<cores>
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=${ARCH:-b32}
N=${N:-64}
BATCH=${BATCH:-16}
DEVICE=${DEVICE:-auto}
THREADS=${THREADS:-$(nproc)}
CATIMAGE=${CATIMAGE:-./build/catimage}
PYTHON=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
clip=${ARCH%+nima}
case $clip in
  b32) text="512 2048 12 8" vision="768 3072 12 12 32" proj=512 ;;
  l14) text="768 3072 12 12" vision="1024 4096 24 16 14" proj=768 ;;
  nima) text="0 0 0 0" vision="0 0 0 0 0" proj=0 ;;
  *) echo "ARCH must be b32, l14, nima or b32+nima" >&2; exit 2 ;;
esac
mkdir -p "$work/clip" "$work/nima" "$work/img"
# The tokenizer files of the tiny test model (a small BPE vocabulary); the architecture is full size.
cp tests/fixtures/tiny-clip/{vocab.json,merges.txt,tokenizer_config.json,special_tokens_map.json} "$work/clip/"
"$PYTHON" - "$work" "$N" "$proj" $text $vision << 'PY'
import json, random, struct, sys, zlib
work, n, proj = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
th, ti, tl, ta, vh, vi, vl, va, vp = map(int, sys.argv[4:13])
cfg = {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": proj, "logit_scale_init_value": 2.6592,
       "text_config": {"vocab_size": 49408, "hidden_size": th, "intermediate_size": ti, "num_hidden_layers": tl,
                       "num_attention_heads": ta, "max_position_embeddings": 77, "hidden_act": "quick_gelu",
                       "eos_token_id": 2},
       "vision_config": {"hidden_size": vh, "intermediate_size": vi, "num_hidden_layers": vl, "num_attention_heads": va,
                         "image_size": 224, "patch_size": vp, "hidden_act": "quick_gelu"}}
json.dump(cfg, open(f"{work}/clip/config.json", "w"))
pre = json.load(open("tests/fixtures/tiny-clip/preprocessor_config.json"))
pre["size"] = {"shortest_edge": 224}
pre["crop_size"] = {"height": 224, "width": 224}
json.dump(pre, open(f"{work}/clip/preprocessor_config.json", "w"))
nima = json.load(open("tests/fixtures/tiny-nima/config.json"))
nima["alpha"] = 1.0  # idealo's published NIMA
json.dump(nima, open(f"{work}/nima/config.json", "w"))
def png(path, w, h, rnd):
    raw = b"".join(b"\0" + bytes(rnd.getrandbits(8) for _ in range(3 * w)) for _ in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))
rnd = random.Random(0)
words = "a red cube on a table two dogs at dusk neon signs in the rain portrait of an old man oil painting".split()
with open(f"{work}/list.jsonl", "w") as f:
    for i in range(n):
        png(f"{work}/img/{i}.png", 256, 256, rnd)
        f.write(json.dumps({"image": f"img/{i}.png", "prompt": " ".join(rnd.choice(words) for _ in range(20))}) + "\n")
PY
case $ARCH in
  nima) metrics=nima scorers="--scorer $work/nima" ;;
  *+nima) metrics=clipscore,nima scorers="--scorer $work/clip --scorer $work/nima" ;;
  *) metrics=clipscore scorers="--scorer $work/clip" ;;
esac
[ "$clip" = nima ] || "$CATIMAGE" -q random-weights "$work/clip" --seed 0
case $ARCH in *nima) "$CATIMAGE" -q random-weights "$work/nima" --seed 0 ;; esac
echo "ARCH=$ARCH N=$N BATCH=$BATCH DEVICE=$DEVICE THREADS=$THREADS"
"$CATIMAGE" -q --threads "$THREADS" score "$work/list.jsonl" $scorers --metric "$metrics" --batch "$BATCH" \
  --device "$DEVICE"
