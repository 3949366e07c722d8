#!/usr/bin/env bash
# catimage's denoising step (UNet, PixArt transformer, aMUSEd UVit2D) or T5 encoding against
# diffusers' (transformers' for T5) model, side by side: the same architecture config (random
# weights, scripts/bench_diffusers_model.py), shapes, dtype and threads on both sides; the two
# tools' runs alternate (catimage first on odd runs, diffusers first on even ones), each
# process does WARMUP untimed steps then STEPS timed ones, and each figure is the median over
# all timed steps of all RUNS. Peak memory is each process's peak RSS (CPU; weights included)
# or the CUDA allocator's peak (GPU). Prints one Markdown table; raw JSON in $OUT.
#
#   scripts/bench_vs_diffusers.sh [cpu|cuda]
#
# Environment (defaults): ARCHS="sd15" (names under configs/archs/, as `catimage bench --arch`
# takes them: sd15, sdxl, pixart-xl-2-512, amused-512, t5-v1_1-xxl, ...), SIZES="256 512" (T5: the
# first size only, as a label), TOKENS=0 (text length; 0: the family's, see `catimage bench --help`),
# BATCHES="1 2", RUNS=3, STEPS=1, WARMUP=1, THREADS=<cores> (CPU), DTYPE=fp32 (cpu) / fp16
# (cuda), CFG=0 (1: double the UNet batch as guidance does), CATIMAGE=./build/catimage,
# PYTHON=/usr/bin/python3, REF=.diffusers/ref (diffusers' src/ — v0.27.2 for Debian's
# PyTorch 1.13 — plus, on Debian, huggingface_hub v0.21.4 and a pure-Python safetensors
# stand-in in $REF/stub; never committed), T5_REF="" (what PYTHONPATH is for the T5 reference
# instead: transformers with its own huggingface_hub and safetensors, so not $REF; empty: the
# installed transformers; on Debian a transformers source tree, e.g. .transformers), OUT=build-bench/vs-diffusers-DEV (git-ignored),
# KEEP=1 (rows whose RUNS result files are already in $OUT are not measured again, so an
# interrupted comparison resumes; KEEP=0 measures everything afresh).
set -euo pipefail
cd "$(dirname "$0")/.."
DEV=${1:-cpu}
case $DEV in cpu | cuda) ;; *) echo "usage: $0 [cpu|cuda]" >&2; exit 2 ;; esac
ARCHS=${ARCHS:-sd15}
SIZES=${SIZES:-256 512}
BATCHES=${BATCHES:-1 2}
RUNS=${RUNS:-3}
STEPS=${STEPS:-1}
WARMUP=${WARMUP:-1}
THREADS=${THREADS:-$(nproc)}
CFG=${CFG:-0}
KEEP=${KEEP:-1}
[[ $DEV == cpu ]] && DTYPE=${DTYPE:-fp32} || DTYPE=${DTYPE:-fp16}
CATIMAGE=${CATIMAGE:-./build/catimage}
PYTHON=${PYTHON:-/usr/bin/python3}
REF=${REF:-.diffusers/ref}
OUT=${OUT:-build-bench/vs-diffusers-$DEV}
[[ -x $CATIMAGE ]] || { echo "no $CATIMAGE: build catimage first" >&2; exit 1; }
T5_REF=${T5_REF:-}
base_pythonpath=${PYTHONPATH:-}
export PYTHONPATH="$REF:$REF/stub${PYTHONPATH:+:$PYTHONPATH}"
"$PYTHON" -c 'import diffusers' 2>/dev/null || {
  echo "diffusers does not import with PYTHONPATH=$PYTHONPATH (see the header of $0)" >&2
  exit 1
}
mkdir -p "$OUT"
[[ $KEEP == 1 ]] || rm -f "$OUT"/*.json
cfg_flag=() py_cfg=()
[[ $CFG == 1 ]] && cfg_flag=(--cfg) py_cfg=(--cfg)

TOKENS=${TOKENS:-0}
arch_config() { # name -> configs/archs/<name>-{unet,transformer,encoder}.json
  local s
  for s in unet transformer encoder; do
    [[ -f configs/archs/$1-$s.json ]] && { echo "configs/archs/$1-$s.json"; return; }
  done
  echo "no configs/archs/$1-{unet,transformer,encoder}.json" >&2
  exit 2
}

run_catimage() { # json
  "$CATIMAGE" -q --threads "$THREADS" bench --arch "$config" --size "$size" --batch "$batch" "${cfg_flag[@]}" \
    --text-tokens "$TOKENS" --steps "$STEPS" --warmup "$WARMUP" --device "$DEV" --dtype "$DTYPE" --json "$1" > /dev/null
}
run_diffusers() { # json
  local pythonpath=$PYTHONPATH
  [[ $arch == t5* ]] && pythonpath="$T5_REF${base_pythonpath:+:$base_pythonpath}"
  PYTHONPATH=$pythonpath "$PYTHON" scripts/bench_diffusers_model.py --config "$config" --size "$size" --text-tokens "$TOKENS" \
    --batch "$batch" "${py_cfg[@]}" --steps "$STEPS" --warmup "$WARMUP" --threads "$THREADS" \
    --device "$DEV" --dtype "$DTYPE" > "$1"
}

rows=()
for arch in $ARCHS; do
  config=$(arch_config "$arch")
  sizes=$SIZES
  [[ $arch == t5* ]] && sizes=${SIZES%% *}
  for size in $sizes; do
    for batch in $BATCHES; do
      tag="$arch-$size-b$batch"
      for ((r = 1; r <= RUNS; r++)); do
        if [[ $KEEP == 1 && -s $OUT/$tag-catimage-$r.json && -s $OUT/$tag-diffusers-$r.json ]]; then continue; fi
        if ((r % 2)); then
          run_catimage "$OUT/$tag-catimage-$r.json"
          run_diffusers "$OUT/$tag-diffusers-$r.json"
        else
          run_diffusers "$OUT/$tag-diffusers-$r.json"
          run_catimage "$OUT/$tag-catimage-$r.json"
        fi
        echo "  $tag run $r/$RUNS done" >&2
      done
      rows+=("$tag")
    done
  done
done

"$PYTHON" - "$OUT" "$DEV" "$DTYPE" "$THREADS" "$RUNS" "$STEPS" "${rows[@]}" << 'PY'
import glob, json, statistics, sys
out, dev, dtype, threads, runs, steps, rows = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7:]
mem_key = "peak_gpu_mib" if dev == "cuda" else "peak_rss_mib"
def side(tag, tool):
    js = [json.load(open(p)) for p in sorted(glob.glob(f"{out}/{tag}-{tool}-*.json"))]
    times = [t for j in js for t in j["step_seconds_all"]]
    return statistics.median(times), min(times), max(times), max(j.get(mem_key, float("nan")) for j in js), js[0]
print(f"Model step (T5: one encoding), {dev}, {dtype}, {threads} threads; median of {runs} alternated runs x {steps} timed step(s) after warm-up")
print()
print("| arch | size | batch | catimage s/step | diffusers s/step | speed (diffusers / catimage) | catimage peak MiB | diffusers peak MiB |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for tag in rows:
    c, d = side(tag, "catimage"), side(tag, "diffusers")
    j = c[4]
    b = f"{j['batch']}" + (" x2 (CFG)" if j.get("cfg") else "")
    size = f"{j['size']}²" if j.get("size") else "—"
    print(f"| {tag.rsplit('-', 2)[0]} | {size} | {b} | {c[0]:.3f} ({c[1]:.3f}–{c[2]:.3f}) | {d[0]:.3f} ({d[1]:.3f}–{d[2]:.3f}) "
          f"| {d[0] / c[0]:.2f}× | {c[3]:.0f} | {d[3]:.0f} |")
j = side(rows[0], "diffusers")[4]
print()
print(f"diffusers side: PyTorch {j['torch_version']}; catimage side: libtorch {side(rows[0], 'catimage')[4].get('torch_version')}")
PY
