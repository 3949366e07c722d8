#!/usr/bin/env bash
# Builds and runs the libFuzzer harnesses of tests/fuzz/ (ASan + UBSan, clang).
#
#   scripts/fuzz.sh [SECONDS | -runs=N] [HARNESS...]
#
# SECONDS (default 60) is each harness's time budget; -runs=N runs each for N inputs instead.
# HARNESS names (default: all): safetensors prompts candidates predictor clip_tokenizer
# clip_vocab png. Harnesses are built into build-fuzz/ (git-ignored; CATIMAGE_FUZZ_BUILD
# overrides) and run from a copy of tests/fuzz/corpus/<harness>/ in build-fuzz/corpus/
# (the committed seeds are never modified). Crash, leak, timeout and UB inputs land in
# build-fuzz/artifacts/<harness>/; logs in build-fuzz/logs/. At most FUZZ_PARALLEL (default
# 2) fuzzers and FUZZ_JOBS (default 2) compilers run at once. Exits non-zero when a harness
# fails to build or finds anything.
#
# Reproduce a finding: build-fuzz/bin/fuzz_<harness> build-fuzz/artifacts/<harness>/crash-...
# Minimise it:         build-fuzz/bin/fuzz_<harness> -minimize_crash=1 -runs=10000 <file>
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${CATIMAGE_FUZZ_BUILD:-$ROOT/build-fuzz}
CXX=${FUZZ_CXX:-$(command -v clang++-14 || command -v clang++)}
JOBS=${FUZZ_JOBS:-2}
PARALLEL=${FUZZ_PARALLEL:-2}

BUDGET=(-max_total_time=60)
LABEL="60 s"
if [[ $# -gt 0 ]]; then
  case $1 in
    -runs=*) BUDGET=("$1"); LABEL="${1#-runs=} runs"; shift ;;
    [0-9]*) BUDGET=(-max_total_time="$1"); LABEL="$1 s"; shift ;;
  esac
fi

ALL=(safetensors prompts candidates predictor clip_tokenizer clip_vocab png)
HARNESSES=("$@")
[[ ${#HARNESSES[@]} -eq 0 ]] && HARNESSES=("${ALL[@]}")

SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
CXXFLAGS=(-std=c++17 -g -O1 -fno-omit-frame-pointer "${SAN[@]}"
  -I"$ROOT/include" -I"$ROOT/src" -I"$ROOT/tests/fuzz" -isystem /usr/include/stb
  -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL -DFMT_SHARED
  -DCATIMAGE_SOURCE_DIR="\"$ROOT\"")
TORCH_FLAGS=(-isystem /usr/include/torch/csrc/api/include)
LIBS=(-lspdlog -lfmt -lpthread -ldl)
TORCH_LIBS=(-ltorch -ltorch_cpu -lc10)

# Sources of each harness (besides tests/fuzz/fuzz_<name>.cpp).
UTIL="src/util/error.cpp src/util/strings.cpp src/util/paths.cpp src/io/json_file.cpp src/io/atomic_file.cpp"
declare -A SRCS=(
  [safetensors]="src/io/safetensors.cpp $UTIL"
  [prompts]="src/io/prompt_reader.cpp src/io/csv_reader.cpp $UTIL"
  [candidates]="src/io/candidates_config.cpp $UTIL"
  [predictor]="src/predictor/predictor.cpp src/predictor/load_predictor.cpp src/predictor/ensemble.cpp tests/fuzz/fuzz_predictor_stubs.cpp $UTIL"
  [clip_tokenizer]="src/text/clip_tokenizer.cpp $UTIL"
  [clip_vocab]="src/text/clip_tokenizer.cpp $UTIL"
  [png]="src/io/png_writer.cpp $UTIL"
)
needs_torch() { [[ $1 == predictor ]]; }
uses_torch_headers() { [[ $1 == src/predictor/ensemble.cpp || $1 == tests/fuzz/fuzz_predictor_stubs.cpp ]]; }

for h in "${HARNESSES[@]}"; do
  [[ -n ${SRCS[$h]+x} ]] || { echo "unknown harness '$h' (have: ${ALL[*]})" >&2; exit 2; }
done

mkdir -p "$BUILD"/{obj,bin,corpus,artifacts,logs}

# An object is stale when it or its dependency file is missing or any dependency is newer.
stale() {
  local obj=$1 dep=$2 f
  [[ -f $obj && -f $dep ]] || return 0
  for f in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$dep"); do
    [[ -e $f && ! $f -nt $obj ]] || return 0
  done
  return 1
}

# compile SRC FUZZER_MODE -> prints the object path
obj_of() { local s=${1//\//_}; echo "$BUILD/obj/${s%.cpp}.o"; }
compile() {
  local src=$1 obj dep extra=()
  obj=$(obj_of "$src"); dep=${obj%.o}.d
  stale "$obj" "$dep" || return 0
  uses_torch_headers "$src" && extra=("${TORCH_FLAGS[@]}")
  echo "  compile $src"
  # Sources may be mid-edit by someone else: retry a few times before giving up.
  local try
  for try in 1 2 3; do
    if "$CXX" "${CXXFLAGS[@]}" "${extra[@]}" -fsanitize=fuzzer-no-link -MMD -MF "$dep" \
         -c "$ROOT/$src" -o "$obj" 2>"$obj.log"; then
      return 0
    fi
    [[ $try -lt 3 ]] && { echo "  $src failed to compile (try $try); retrying in 60 s" >&2; sleep 60; }
  done
  cat "$obj.log" >&2
  return 1
}

echo "== building ${HARNESSES[*]} with $CXX into $BUILD"
declare -A WANT=()
for h in "${HARNESSES[@]}"; do
  for s in tests/fuzz/fuzz_$h.cpp ${SRCS[$h]}; do WANT[$s]=1; done
done
pids=()
fail_build=0
for s in "${!WANT[@]}"; do
  compile "$s" &
  pids+=($!)
  if [[ ${#pids[@]} -ge $JOBS ]]; then wait "${pids[0]}" || fail_build=1; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p" || fail_build=1; done
[[ $fail_build -eq 0 ]] || { echo "build failed" >&2; exit 1; }

for h in "${HARNESSES[@]}"; do
  objs=()
  for s in tests/fuzz/fuzz_$h.cpp ${SRCS[$h]}; do objs+=("$(obj_of "$s")"); done
  bin=$BUILD/bin/fuzz_$h
  relink=0
  [[ -f $bin ]] || relink=1
  for o in "${objs[@]}"; do [[ $o -nt $bin ]] && relink=1; done
  if [[ $relink -eq 1 ]]; then
    echo "  link fuzz_$h"
    libs=("${LIBS[@]}")
    needs_torch "$h" && libs=("${TORCH_LIBS[@]}" "${LIBS[@]}")
    "$CXX" "${SAN[@]}" -fsanitize=fuzzer "${objs[@]}" -o "$bin" "${libs[@]}"
  fi
done

# Leaks of libtorch's own static state are not ours.
cat >"$BUILD/lsan.supp" <<'EOF'
leak:libtorch_cpu.so
leak:libc10.so
EOF
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$BUILD/lsan.supp}

run_one() {
  local h=$1 corpus=$BUILD/corpus/$1 art=$BUILD/artifacts/$1 log=$BUILD/logs/$1.log
  mkdir -p "$corpus" "$art"
  [[ -d $ROOT/tests/fuzz/corpus/$h ]] && cp -n "$ROOT/tests/fuzz/corpus/$h"/* "$corpus"/ 2>/dev/null || true
  local rc=0
  "$BUILD/bin/fuzz_$h" "${BUDGET[@]}" -timeout=30 -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$art/" "$corpus" >"$log" 2>&1 &
  local fpid=$!
  wait "$fpid" || rc=$?
  # A harness that crashed did not get to remove its scratch folder (tests/fuzz/fuzz_common.hpp).
  rm -rf "/dev/shm/catimage-fuzz-$fpid" "/tmp/catimage-fuzz-$fpid"
  local runs
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [[ -n $runs ]] || runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1 | tr -dc 0-9)
  if [[ $rc -eq 0 ]]; then
    printf '%-15s %12s execs  OK\n' "$h" "${runs:-?}"
  else
    printf '%-15s %12s execs  FAILED (rc %d): %s\n' "$h" "${runs:-?}" "$rc" \
      "$(grep -m1 -E 'ERROR: |runtime error|FUZZ_CHECK|deadly signal|Timeout' "$log" || echo "see $log")"
    ls "$art" | sed "s|^|                artifact $art/|"
  fi
  return $rc
}

echo "== fuzzing ${HARNESSES[*]} ($LABEL each, $PARALLEL at a time)"
status=0
pids=()
for h in "${HARNESSES[@]}"; do
  run_one "$h" &
  pids+=($!)
  if [[ ${#pids[@]} -ge $PARALLEL ]]; then wait "${pids[0]}" || status=1; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
echo "== $([[ $status -eq 0 ]] && echo 'all harnesses passed' || echo 'FAILURES (see above and '"$BUILD"'/logs)')"
exit $status
