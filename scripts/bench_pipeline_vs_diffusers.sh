#!/usr/bin/env bash
# Whole-pipeline images per second and peak memory, catimage against diffusers eager (SDPA, as
# diffusers runs on PyTorch 2) and diffusers compiled (torch.compile, the recipe of diffusers'
# "Accelerate inference" guide): the same model folder (full-size architectures with random
# weights, scripts/make_bench_pipelines.sh), prompts, batch, size, steps, guidance, scheduler and
# dtype on every side. Each tool runs in its own process: WARMUP untimed calls, then RUNS timed
# ones (prompts to uint8 images on the CPU); a figure is the median of its RUNS calls. The tools'
# order rotates from row to row. Peak memory is the CUDA allocator's peak (weights included) on a
# GPU, the process's peak RSS on the CPU. Prints one Markdown table; raw JSON in $OUT.
#
#   scripts/bench_pipeline_vs_diffusers.sh [cuda|cpu]
#
# Environment (defaults): ROWS="name batch steps guidance size; ..." (sd-turbo 1/8/32 and
# sdxl-turbo 1/8 at 1 step without guidance, sd15 8 at 25 steps with CFG 7.5, amused-512 8 at 12
# steps with CFG 10, pixart-xl-2-512 1 at 20 steps with CFG 4.5; all 512²), MODELS=build-bench/pipelines (the folders; made there when missing), RUNS=5,
# WARMUP=2 (compiled: WARMUP_COMPILED=3, as CUDA-graph modes record on later calls),
# COMPILE=max-autotune ("" leaves the compiled column out), DTYPE=fp16 (cuda) / fp32 (cpu),
# THREADS=<cores> (cpu), PROMPTS=configs/example_prompts.txt (cycled over each batch), CATIMAGE=./build/catimage, PYTHON=python3, REF=.diffusers/ref (what
# PYTHONPATH gets first: diffusers' src/, never committed), OUT=build-bench/pipeline-DEV,
# KEEP=1 (results already in $OUT are not measured again: an interrupted comparison resumes),
# TABLE_ONLY=1 (measure nothing: the table of what $OUT holds, "—" where a result is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
DEV=${1:-cuda}
case $DEV in cpu | cuda) ;; *) echo "usage: $0 [cuda|cpu]" >&2; exit 2 ;; esac
ROWS=${ROWS:-"sd-turbo 1 1 0 512;sd-turbo 8 1 0 512;sd-turbo 32 1 0 512;sdxl-turbo 1 1 0 512;sdxl-turbo 8 1 0 512;sd15 8 25 7.5 512;amused-512 8 12 10 512;pixart-xl-2-512 1 20 4.5 512"}
MODELS=${MODELS:-build-bench/pipelines}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-2}
WARMUP_COMPILED=${WARMUP_COMPILED:-3}
COMPILE=${COMPILE-max-autotune}
[[ $DEV == cpu ]] && DTYPE=${DTYPE:-fp32} || DTYPE=${DTYPE:-fp16}
THREADS=${THREADS:-$(nproc)}
PROMPTS=${PROMPTS:-configs/example_prompts.txt}
CATIMAGE=${CATIMAGE:-./build/catimage}
PYTHON=${PYTHON:-python3}
REF=${REF:-.diffusers/ref}
OUT=${OUT:-build-bench/pipeline-$DEV}
KEEP=${KEEP:-1}
TABLE_ONLY=${TABLE_ONLY:-0}
[[ -x $CATIMAGE || $TABLE_ONLY == 1 ]] || { echo "no $CATIMAGE: build catimage first" >&2; exit 1; }
export PYTHONPATH="$REF${PYTHONPATH:+:$PYTHONPATH}"
[[ $TABLE_ONLY == 1 ]] || "$PYTHON" -c 'import diffusers' 2> /dev/null || { echo "diffusers does not import with PYTHONPATH=$PYTHONPATH" >&2; exit 1; }
mkdir -p "$OUT"
[[ $KEEP == 1 || $TABLE_ONLY == 1 ]] || rm -f "$OUT"/*.json

IFS=';' read -ra rows <<< "$ROWS"
names=()
for row in "${rows[@]}"; do
  read -r name _ <<< "$row"
  [[ " ${names[*]} " == *" $name "* ]] || names+=("$name")
done
[[ $TABLE_ONLY == 1 ]] || CATIMAGE=$CATIMAGE bash scripts/make_bench_pipelines.sh "$MODELS" "${names[@]}" >&2

tools=(catimage eager)
[[ -n $COMPILE ]] && tools+=(compiled)
measure() { # tool name batch steps guidance size json
  local tool=$1 name=$2 batch=$3 steps=$4 guidance=$5 size=$6 json=$7
  [[ -s $json || $TABLE_ONLY == 1 ]] && return 0
  case $tool in
    catimage)
      "$CATIMAGE" -q --threads "$THREADS" bench --pipeline "$MODELS/$name" --batch "$batch" --size "$size" \
        --inference-steps "$steps" --guidance "$guidance" --runs "$RUNS" --warmup "$WARMUP" --device "$DEV" \
        --dtype "$DTYPE" --prompts "$PROMPTS" --json "$json.tmp" > /dev/null ;;
    eager | compiled)
      local extra=(--warmup "$WARMUP")
      [[ $tool == compiled ]] && extra=(--warmup "$WARMUP_COMPILED" --compile "$COMPILE")
      "$PYTHON" scripts/bench_diffusers_pipeline.py --pipeline "$MODELS/$name" --batch "$batch" --size "$size" \
        --inference-steps "$steps" --guidance "$guidance" --runs "$RUNS" --device "$DEV" --dtype "$DTYPE" \
        --threads "$THREADS" --prompts "$PROMPTS" "${extra[@]}" > "$json.tmp" ;;
  esac && mv "$json.tmp" "$json" || { echo "$tool $name batch $batch: failed" >&2; rm -f "$json.tmp"; }
}

i=0
for row in "${rows[@]}"; do
  read -r name batch steps guidance size <<< "$row"
  tag="$name-b$batch-s$steps-g$guidance-$size"
  n=${#tools[@]}
  for ((k = 0; k < n; ++k)); do
    tool=${tools[$(((i + k) % n))]}
    measure "$tool" "$name" "$batch" "$steps" "$guidance" "$size" "$OUT/$tag-$tool.json"
  done
  i=$((i + 1))
done

"$PYTHON" - "$OUT" "$DEV" "${rows[@]}" << 'EOF'
import json, os, sys
out, dev, rows = sys.argv[1], sys.argv[2], sys.argv[3:]
def load(tag, tool):
    p = os.path.join(out, f"{tag}-{tool}.json")
    return json.load(open(p)) if os.path.exists(p) else None
mem_key = "peak_gpu_mib" if dev == "cuda" else "peak_rss_mib"
first = None
print("| model | steps | CFG | size | batch | catimage img/s | diffusers eager img/s | diffusers compiled img/s (compile s) "
      "| vs eager | vs compiled | peak MiB catimage / eager / compiled |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for row in rows:
    name, batch, steps, guidance, size = row.split()
    tag = f"{name}-b{batch}-s{steps}-g{guidance}-{size}"
    c, e, k = (load(tag, t) for t in ("catimage", "eager", "compiled"))
    first = first or next((r for r in (c, e, k) if r), None)
    ips = lambda r: f"{r['images_per_second']:.2f}" if r else "—"
    ratio = lambda r: f"{c['images_per_second'] / r['images_per_second']:.2f}×" if c and r else "—"
    mem = lambda r: f"{r[mem_key]:.0f}" if r and mem_key in r else "—"
    comp = f"{ips(k)} ({k['compile_seconds']:.0f})" if k else "—"
    print(f"| {name} | {steps} | {guidance} | {size}² | {batch} | {ips(c)} | {ips(e)} | {comp} | {ratio(e)} | {ratio(k)} "
          f"| {mem(c)} / {mem(e)} / {mem(k)} |")
if first:
    print(f"\n{first['device_name']}, {first['dtype']}, torch {first['torch_version']}; each figure the median of "
          f"{first['runs']} timed calls after the warm-up calls (raw JSON: {out})")
EOF
