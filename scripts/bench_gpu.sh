#!/usr/bin/env bash
# The GPU machine's whole run, in one call that fits a short lease: stages run in order of
# value and a stage that would not fit in the time left (BUDGET seconds from the start) is
# skipped, so $OUT always holds what was done:
#   0. the environment (GPU, driver, PyTorch, compilers) -> env.txt
#   1. catimage built against PyTorch's CUDA libtorch (scripts/setup_external_torch.sh build);
#      if CMake does not find CUDA by itself, again with the toolkit nvcc belongs to -> build.log
#   2. the CUDA tests, Gpu.* and PixArtGpu.* (fp16/bf16 vs fp32 CPU, batch invariance,
#      out-of-memory halving) -> gpu-tests.log
#   3. model step latency against diffusers' (transformers' for T5) model, same configs, shapes
#      and process conditions (scripts/bench_vs_diffusers.sh cuda), one row per SPECS entry
#      "arch size batch seconds-needed [dtype [text-tokens]]", all with CFG (a model batch of
#      2x) -> bench-<arch>-<size>-b<batch>.md and raw JSON. Default: the UNets, SD1.5 512² batch
#      1 and 8, SDXL 1024² 1, SD2.1 512² 1 and 8, SDXL 4 (SPECS=families: PixArt-α 512 and
#      1024-MS, PixArt-Σ 1024 (300 tokens), aMUSEd 256 and 512, T5-XXL in bf16)
#   4. the rest of the test suite (ctest, the CUDA tests excluded) with the time left -> ctest.log
# OUT (default build-bench/gpu) gets every log and raw JSON; ARCHIVE=FILE also packs OUT into
# one .tar.gz on exit (the GPU tool brings back only a few files).
# Needs on the GPU machine: .deb/ (`scripts/setup_external_torch.sh download` beforehand, on a
# Debian machine), diffusers' src/ in $REF (default .diffusers/ref; never committed), python3
# with a CUDA PyTorch (and transformers, for T5). End-to-end images/s is not measured here yet.
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

if [[ -x build-gpu/tests/catimage_tests ]]; then
  timeout 180 ./build-gpu/tests/catimage_tests --gtest_filter='Gpu.*:PixArtGpu.*' > "$OUT/gpu-tests.log" 2>&1
  log "CUDA tests: rc $? — $(grep -E '^\[  (PASSED|FAILED)' "$OUT/gpu-tests.log" | tr '\n' ' ')"
fi

export PYTHON=${PYTHON:-python3} CATIMAGE=./build-gpu/catimage STEPS=${STEPS:-10} WARMUP=${WARMUP:-3} KEEP=0
RUNS=${RUNS:-1}
SPECS=${SPECS:-unets}
case $SPECS in
  unets) SPECS="sd15 512 1 30;sd15 512 8 35;sdxl 1024 1 60;sd21 512 1 30;sd21 512 8 35;sdxl 1024 4 70" ;;
  families) SPECS="pixart-xl-2-512 512 1 40;amused-512 512 1 40;pixart-xl-2-1024-ms 1024 1 45;amused-256 256 1 40;pixart-sigma-xl-2-1024-ms 1024 1 45 fp16 300;t5-v1_1-xxl 512 1 120 bf16" ;;
esac
IFS=';' read -ra spec_list <<< "$SPECS"
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
