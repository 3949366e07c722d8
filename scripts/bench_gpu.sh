#!/usr/bin/env bash
# The GPU machine's whole run, in one call that fits a short lease: stages run in order of
# value and a stage that would not fit in the time left (BUDGET seconds from the start) is
# skipped, so $OUT always holds what was done:
#   0. the environment (GPU, driver, PyTorch, compilers, how many std::filesystem functions the
#      PyTorch wheel's libtorch_cpu.so exports) -> env.txt
#   1. catimage built against PyTorch's CUDA libtorch (scripts/setup_external_torch.sh build);
#      if CMake does not find CUDA by itself, again with the toolkit nvcc belongs to -> build.log
#      (and the libraries the binary needs first: libstdc++ must lead, see CMakeLists.txt)
#   2. the CUDA tests, Gpu.* and PixArtGpu.* (fp16/bf16 vs fp32 CPU, batch invariance,
#      out-of-memory halving), and Toolchain.* (where std::filesystem binds) -> gpu-tests.log
#   3. kernel by kernel at the busy-GPU shapes (PROFILES="arch size batch;...", default SD1.5 512²
#      batch 8 and PixArt-α 1024-MS batch 1, CFG, fp16; "" skips): `catimage bench --profile` and
#      scripts/bench_diffusers_model.py --profile Kineto traces of 2 steps each, summed per kernel by
#      scripts/kernel_table.py -> profile-<arch>-<size>-b<batch>.md (traces gzipped beside it)
#   4. whole-pipeline images/s against diffusers eager and compiled
#      (scripts/bench_pipeline_vs_diffusers.sh cuda; PIPE_ROWS, its ROWS, default the issue's UNet
#      rows; PIPE_COMPILE, its COMPILE, default max-autotune; "" skips the compiled column;
#      PIPE_ROWS=none skips the stage) with the time left but RESERVE seconds -> pipeline.md and raw
#      JSON; resumes from what an earlier call left in $OUT/pipeline when OUT is kept
#   5. model step latency against diffusers' (transformers' for T5) model, same configs, shapes
#      and process conditions (scripts/bench_vs_diffusers.sh cuda), one row per SPECS entry
#      "arch size batch seconds-needed [dtype [text-tokens]]", all with CFG (a model batch of
#      2x) -> bench-<arch>-<size>-b<batch>.md and raw JSON. Default: none (measured, README
#      "Performance"); SPECS=unets: SD1.5 512² batch 1 and 8, SDXL 1024² 1, SD2.1 512² 1 and 8,
#      SDXL 4; SPECS=families: PixArt-α 512 and 1024-MS, PixArt-Σ 1024 (300 tokens), aMUSEd 256
#      and 512, T5-XXL in bf16
#   6. the rest of the test suite (ctest, the CUDA tests excluded) with the time left -> ctest.log
# OUT (default build-bench/gpu) gets every log and raw JSON; ARCHIVE=FILE also packs OUT into
# one .tar.gz on exit (the GPU tool brings back only a few files).
# Needs on the GPU machine: .deb/ (`scripts/setup_external_torch.sh download` beforehand, on a
# Debian machine), diffusers' src/ in $REF (default .diffusers/ref; never committed), python3
# with a CUDA PyTorch and transformers.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build-bench/gpu}
BUDGET=${BUDGET:-540}
mkdir -p "$OUT"
[[ -n ${ARCHIVE:-} ]] && trap 'cp "$OUT/summary.txt" "$(dirname "$ARCHIVE")/" 2> /dev/null; tar czf "$ARCHIVE" -C "$OUT" .' EXIT
start=$(date +%s)
elapsed() { echo $(($(date +%s) - start)); }
left() { echo $((BUDGET - $(elapsed))); }
log() { echo "[$(elapsed) s] $*" | tee -a "$OUT/summary.txt"; }

{
  nvidia-smi -L
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  python3 -c 'import torch, sys; print("torch", torch.__version__, "cuda", torch.version.cuda, "python", sys.version.split()[0])'
  gcc --version | head -1
  cmake --version | head -1
  command -v nvcc && nvcc --version | tail -2
  nproc
  torch_cpu=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))')
  echo "std::filesystem functions $torch_cpu exports: $(nm -D --defined-only "$torch_cpu" | grep -c ' _ZNSt10filesystem')"
} > "$OUT/env.txt" 2>&1
log "env: $(head -1 "$OUT/env.txt")"

export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
build() { KEEP_GOING=1 TARGET="catimage catimage_tests" timeout "$(left)" bash scripts/setup_external_torch.sh build build-gpu "$@"; }
build >> "$OUT/build.log" 2>&1
rc=$?
if [[ $rc -ne 0 && ! -f build-gpu/build.ninja && -n $(command -v nvcc) ]]; then
  cuda_root=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
  log "configure failed (rc $rc); again with CUDAToolkit_ROOT=$cuda_root"
  rm -rf build-gpu
  CMAKE_EXTRA="-DCUDAToolkit_ROOT=$cuda_root -DCMAKE_CUDA_COMPILER=$(command -v nvcc)" build >> "$OUT/build.log" 2>&1
  rc=$?
fi
log "build: rc $rc"
if [[ ! -x build-gpu/catimage ]]; then
  grep -E "error|Error|CMake Error" -A3 "$OUT/build.log" | head -60 > "$OUT/build-errors.txt"
  log "no catimage binary; first errors in build-errors.txt"
  exit 1
fi
export LD_LIBRARY_PATH=$(pwd)/.deb/prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
./build-gpu/catimage --version >> "$OUT/env.txt" 2>&1
readelf -d build-gpu/catimage | grep NEEDED | head -4 >> "$OUT/env.txt"

if [[ -x build-gpu/tests/catimage_tests ]]; then
  timeout 180 ./build-gpu/tests/catimage_tests --gtest_filter='Gpu.*:PixArtGpu.*:Toolchain.*' > "$OUT/gpu-tests.log" 2>&1
  log "CUDA tests: rc $? — $(grep -E '^\[  (PASSED|FAILED)' "$OUT/gpu-tests.log" | tr '\n' ' ')"
fi

export PYTHON=${PYTHON:-python3} CATIMAGE=./build-gpu/catimage
RESERVE=${RESERVE:-150}
# Kernel by kernel where the GPU is busy: both sides' steps (CFG, fp16) recorded into Kineto traces
# and summed per kernel side by side (scripts/kernel_table.py) -> profile-<arch>-<size>-b<batch>.md
PROFILES=${PROFILES-"sd15 512 8;pixart-xl-2-1024-ms 1024 1"}
prof_list=()
[[ -n $PROFILES ]] && IFS=';' read -ra prof_list <<< "$PROFILES"
for spec in "${prof_list[@]}"; do
  read -r arch size batch <<< "$spec"
  tag="$arch-$size-b$batch"
  if (($(left) < RESERVE + 120)); then
    log "skipped profile $tag: $(left) s left"
    continue
  fi
  config=$(ls configs/archs/"$arch"-{unet,transformer}.json 2> /dev/null | head -1)
  common=(--size "$size" --batch "$batch" --cfg --steps 3 --warmup 3 --device cuda --dtype fp16)
  timeout 120 ./build-gpu/catimage -q bench --arch "$arch" "${common[@]}" --profile "$OUT/trace-$tag-catimage.json" \
    --json "$OUT/profile-$tag-catimage.json" > /dev/null 2>> "$OUT/profile.log"
  PYTHONPATH="${REF:-.diffusers/ref}" timeout 120 "$PYTHON" scripts/bench_diffusers_model.py --config "$config" "${common[@]}" \
    --profile "$OUT/trace-$tag-diffusers.json" > "$OUT/profile-$tag-diffusers.json" 2>> "$OUT/profile.log"
  "$PYTHON" scripts/kernel_table.py catimage="$OUT/trace-$tag-catimage.json" diffusers="$OUT/trace-$tag-diffusers.json" \
    --calls 2 > "$OUT/profile-$tag.md" 2>> "$OUT/profile.log"
  log "profile $tag: $(head -4 "$OUT/profile-$tag.md" | tail -2 | tr '\n' ' ')"
  gzip -f "$OUT"/trace-"$tag"-*.json 2> /dev/null
done

if [[ ${PIPE_ROWS:-} != none ]] && (($(left) > RESERVE + 120)); then
  [[ -n ${PIPE_ROWS:-} ]] && export ROWS=$PIPE_ROWS
  pipe_env=(COMPILE="${PIPE_COMPILE-max-autotune}" OUT="$OUT/pipeline" MODELS=build-bench/pipelines KEEP=1)
  env "${pipe_env[@]}" timeout "$(($(left) - RESERVE))" bash scripts/bench_pipeline_vs_diffusers.sh cuda > /dev/null 2>> "$OUT/pipeline.log"
  log "pipelines: rc $?"
  env "${pipe_env[@]}" TABLE_ONLY=1 bash scripts/bench_pipeline_vs_diffusers.sh cuda > "$OUT/pipeline.md" 2>> "$OUT/pipeline.log"
  cat "$OUT/pipeline.md" >> "$OUT/summary.txt"
fi

export STEPS=${STEPS:-10} WARMUP=${WARMUP:-3} KEEP=0
RUNS=${RUNS:-1}
SPECS=${SPECS:-}
case $SPECS in
  unets) SPECS="sd15 512 1 30;sd15 512 8 35;sdxl 1024 1 60;sd21 512 1 30;sd21 512 8 35;sdxl 1024 4 70" ;;
  families) SPECS="pixart-xl-2-512 512 1 40;amused-512 512 1 40;pixart-xl-2-1024-ms 1024 1 45;amused-256 256 1 40;pixart-sigma-xl-2-1024-ms 1024 1 45 fp16 300;t5-v1_1-xxl 512 1 120 bf16" ;;
esac
spec_list=()
[[ -n $SPECS ]] && IFS=';' read -ra spec_list <<< "$SPECS"
for spec in "${spec_list[@]}"; do
  read -r arch size batch need dtype tokens <<< "$spec"
  tag="$arch-$size-b$batch"
  if (($(left) < need + 30)); then
    log "skipped $tag: $(left) s left"
    continue
  fi
  ARCHS=$arch SIZES=$size BATCHES=$batch CFG=1 RUNS=$RUNS DTYPE=${dtype:-fp16} TOKENS=${tokens:-0} OUT="$OUT/bench-$tag" \
    timeout "$((need * 2))" bash scripts/bench_vs_diffusers.sh cuda > "$OUT/bench-$tag.md" 2>> "$OUT/bench.log"
  log "$tag: rc $? — $(grep "^| $arch " "$OUT/bench-$tag.md")"
done
cat "$OUT"/bench-*.md > "$OUT/bench.md" 2> /dev/null

if (($(left) > 40)) && [[ -x build-gpu/tests/catimage_tests ]]; then
  (cd build-gpu && timeout "$(($(left) - 15))" ctest -j16 -E '^(Gpu|PixArtGpu)\.' --output-on-failure) > "$OUT/ctest.log" 2>&1
  log "ctest: rc $? — $(grep -E 'tests passed|tests failed' "$OUT/ctest.log")"
  grep -E "^\s+[0-9]+ - .*(Failed|Timeout|Not Run)" "$OUT/ctest.log" | head -20 >> "$OUT/summary.txt"
fi
log "done"
