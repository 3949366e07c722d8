#!/usr/bin/env bash
# The GPU machine's whole run for the runtime-vs-diffusers comparison, in one call:
#   1. build catimage against PyTorch's CUDA libtorch (scripts/setup_external_torch.sh build);
#   2. the whole test suite there (the Gpu.* tests run instead of skipping; their measured
#      differences are printed into gpu-tests.log);
#   3. UNet step latency against diffusers' UNet2DConditionModel in fp16 on the same random
#      weights (scripts/bench_vs_diffusers.sh cuda): SD1.5 and SD2.1 at 512² batch 1 and 8 with
#      CFG (a UNet batch of 2×), SDXL at 1024² batch 1 and 4; median of RUNS runs after warm-up.
# Everything lands in $OUT (default build-bench/gpu): logs, raw JSON, one Markdown table per arch.
#
# Needs on the GPU machine: .deb/ (`scripts/setup_external_torch.sh download` beforehand, on a
# Debian machine), diffusers' src/ in $REF (default .diffusers/ref; never committed), python3
# with a CUDA PyTorch. End-to-end images/s (text encoders + UNet + VAE) is not measured here yet.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build-bench/gpu}
RUNS=${RUNS:-5}
mkdir -p "$OUT"
bash scripts/setup_external_torch.sh build build-gpu 2>&1 | tail -5 | tee "$OUT/build.log"
export LD_LIBRARY_PATH=$(pwd)/.deb/prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
(cd build-gpu && ctest -j8 --output-on-failure) > "$OUT/ctest.log" 2>&1 || echo "ctest failed: see $OUT/ctest.log"
tail -3 "$OUT/ctest.log"
./build-gpu/tests/catimage_tests --gtest_filter='Gpu.*' > "$OUT/gpu-tests.log" 2>&1 || echo "GPU tests failed"
grep -E "levels|OK|FAILED|SKIPPED" "$OUT/gpu-tests.log" || true
export PYTHON=${PYTHON:-python3} CATIMAGE=./build-gpu/catimage RUNS STEPS=${STEPS:-5} WARMUP=${WARMUP:-3}
for spec in "sd15 512 1 8 1" "sd21 512 1 8 1" "sdxl 1024 1 4 0"; do
  read -r arch size b1 b2 cfg <<<"$spec"
  ARCHS=$arch SIZES=$size BATCHES="$b1 $b2" CFG=$cfg OUT="$OUT/unet-$arch" \
    bash scripts/bench_vs_diffusers.sh cuda | tee "$OUT/unet-$arch.md"
done
