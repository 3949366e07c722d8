#!/usr/bin/env bash
# End-to-end test of the Slurm template on a REAL single-node Slurm started on this machine.
#
#   sudo scripts/slurm/test_local_slurm.sh                 # whole test
#   sudo scripts/slurm/test_local_slurm.sh --cluster-only  # just start Slurm, run a trivial array, stop
#
# Needs: root, Debian/Ubuntu with the packages slurm-wlm and munge (installed with apt-get when
# missing), the catimage binary ($CATIMAGE, default build/catimage) for the whole test.
# Everything lives in a temporary folder: its own munge key and socket, its own slurm.conf
# (ports $SLURMCTLD_PORT/$SLURMD_PORT, default 16817/16818, so a system Slurm is not disturbed),
# state, spool and logs. The daemons are started by this script in the foreground (-D/-F) in the
# background, and stopped (by pid) on exit, failure or Ctrl-C, after cancelling its jobs.
#
# The test: a tiny random-weights SD1 model, two candidates on it, NPROMPTS prompts routed by a
# predictions file; an --array=1-4 job (an array starting at 1 on purpose) with
# route_generate_array.sh; one task (array index 2 = shard 1/4) cancelled with scancel after it
# wrote an image; that index resubmitted alone (sbatch --array=2, ARRAY_MIN=1, SHARD_COUNT=4, as a
# user would); a merge job (merge.sh, --dependency=afterany) must fail after the first array and
# succeed after the resubmission, and `catimage merge` must exit 0; every prompt must have exactly one PNG and exactly one
# manifest record; and every PNG must be byte-identical to an uninterrupted, unsharded run made
# without Slurm; and resubmitting the whole finished array must change nothing.
# Then the cascade on the cluster: a tiny CLIP scorer and a cascade predictor trained on a made-up
# table, CASCADE_PROMPTS prompts, a learning cascade (--learn --learn-every LEARN_EVERY --explore
# 0.3) submitted with submit_cascade.sh as 4 shards (first images, then plan / escalations per block,
# a final plan, merge, chained by dependencies); every job must complete, and cascade.jsonl,
# cascade-plan.jsonl, cascade-run.jsonl and every PNG must be byte-identical to one unsharded run;
# and the chain submitted again over the finished folder must complete, make no image again and
# change no record.
#
# Environment: CATIMAGE, NPROMPTS (40), CASCADE (1; 0 skips the cascade chain), CASCADE_PROMPTS (12),
# LEARN_EVERY (4), IMAGE_SIZE (32), BIG_STEPS (20: the "big" candidate's steps; it
# keeps the cancelled task busy long enough to be cancelled mid-run on a fast machine), KEEP_TMP=1 (keep the temp folder; =fail: only on failure),
# TIMEOUT_JOBS (600 s: the longest wait for jobs), SLURMCTLD_PORT, SLURMD_PORT, TMPDIR.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CATIMAGE=${CATIMAGE:-$ROOT/build/catimage}
NPROMPTS=${NPROMPTS:-40}
IMAGE_SIZE=${IMAGE_SIZE:-32}
BIG_STEPS=${BIG_STEPS:-20}
CASCADE=${CASCADE:-1}
CASCADE_PROMPTS=${CASCADE_PROMPTS:-12}
LEARN_EVERY=${LEARN_EVERY:-4}
TIMEOUT_JOBS=${TIMEOUT_JOBS:-600}
SLURMCTLD_PORT=${SLURMCTLD_PORT:-16817}
SLURMD_PORT=${SLURMD_PORT:-16818}
CLUSTER_ONLY=0
[[ "${1:-}" == --cluster-only ]] && CLUSTER_ONLY=1

T_START=$(date +%s%N)
elapsed() { awk -v ns=$(( $(date +%s%N) - T_START )) 'BEGIN { printf "%.1f", ns / 1e9 }'; }
log() { printf '[%8ss] %s\n' "$(elapsed)" "$*"; }
FAILED_MSG=""
die() { FAILED_MSG="$*"; echo "test_local_slurm: FAIL: $*" >&2; exit 1; }

# wait_for SECONDS WHAT COMMAND...: poll COMMAND every $POLL (0.5) s until it succeeds; fail after SECONDS.
wait_for() {
  local limit=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) < deadline )) || die "timed out after ${limit}s waiting for $what"
    sleep "${POLL:-0.5}"
  done
}

[[ $(id -u) == 0 ]] || die "run as root (Slurm daemons here run as SlurmUser=root)"

# ---------------------------------------------------------------- packages
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null ||
   ! command -v munged >/dev/null; then
  log "installing slurm-wlm and munge with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  timeout 900 apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null ||
    { timeout 600 apt-get update >/dev/null && timeout 900 apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null; } ||
    die "apt-get install slurm-wlm munge failed"
fi
for b in slurmctld slurmd sbatch squeue sinfo scontrol scancel munged munge unmunge; do
  command -v "$b" >/dev/null || die "$b not found after installing slurm-wlm and munge"
done
log "$(slurmctld -V), $(munged --version 2>&1 | awk '{print $1; exit}')"

# ---------------------------------------------------------------- temp folder and cleanup
WORK=$(mktemp -d "${TMPDIR:-/tmp}/catimage-slurm.XXXXXX")
chmod 700 "$WORK"
mkdir -p "$WORK"/{munge,state,spool,log,run,jobs}
chmod 700 "$WORK/munge"
MUNGED_PID="" SLURMCTLD_PID="" SLURMD_PID=""

stop_pid() {  # stop_pid PID NAME: TERM, wait up to 15 s, then KILL
  local pid=$1 name=$2 i
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for (( i = 0; i < 30; i++ )); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then echo "  $name (pid $pid) ignored TERM: KILL" >&2; kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  if [[ -n "$SLURMCTLD_PID" ]] && kill -0 "$SLURMCTLD_PID" 2>/dev/null; then
    # Cancel this cluster's jobs and let slurmd end their processes before it stops.
    timeout 10 scancel --quiet --full --user=root >/dev/null 2>&1
    local i
    for (( i = 0; i < 40; i++ )); do
      [[ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ]] && break
      sleep 0.5
    done
  fi
  stop_pid "$SLURMD_PID" slurmd
  stop_pid "$SLURMCTLD_PID" slurmctld
  stop_pid "$MUNGED_PID" munged
  if (( rc != 0 )); then
    echo "---- test_local_slurm failed (exit $rc)${FAILED_MSG:+: $FAILED_MSG}; last log lines:" >&2
    for f in "$WORK"/log/*.log "$WORK"/jobs/*.out; do
      [[ -f "$f" ]] || continue
      echo "---- $f" >&2; tail -n 15 "$f" >&2
    done
  fi
  if [[ "${KEEP_TMP:-0}" == 1 || ( $rc != 0 && "${KEEP_TMP:-0}" != 0 ) ]]; then
    echo "kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  log "done: exit $rc"
  exit "$rc"
}
trap cleanup EXIT
trap 'die "interrupted"' INT TERM

# ---------------------------------------------------------------- munge
MUNGE_SOCKET="$WORK/munge/munge.socket"
dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$WORK/munge/munge.key"
munged --foreground --force --key-file="$WORK/munge/munge.key" --socket="$MUNGE_SOCKET" \
  --pid-file="$WORK/munge/munged.pid" --log-file="$WORK/log/munged.log" --seed-file="$WORK/munge/munged.seed" \
  --num-threads=2 >>"$WORK/log/munged.log" 2>&1 &
MUNGED_PID=$!
munge_ok() { munge -S "$MUNGE_SOCKET" -n | unmunge -S "$MUNGE_SOCKET"; }
wait_for 20 "munged to answer on $MUNGE_SOCKET" munge_ok
log "munged up (pid $MUNGED_PID)"

# ---------------------------------------------------------------- slurm.conf
HOST=$(hostname -s)
NODE_LINE=$(slurmd -C | head -n 1)   # NodeName=HOST CPUs=.. Boards=.. SocketsPerBoard=.. CoresPerSocket=.. ThreadsPerCore=.. RealMemory=..
[[ "$NODE_LINE" == NodeName=* ]] || die "slurmd -C printed no node line: $NODE_LINE"
NCPUS=$(sed -nE 's/.* CPUs=([0-9]+).*/\1/p' <<<"$NODE_LINE")
export SLURM_CONF="$WORK/slurm.conf"
cat >"$SLURM_CONF" <<CONF
# Generated by scripts/slurm/test_local_slurm.sh: one node, localhost only, no accounting.
ClusterName=catimagetest
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$SLURMCTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/run/slurmctld.pid
SlurmdPidFile=$WORK/run/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/pgid
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=3600
$NODE_LINE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

# ---------------------------------------------------------------- slurmctld, slurmd
slurmctld -D -i -f "$SLURM_CONF" >>"$WORK/log/slurmctld.stdout" 2>&1 &
SLURMCTLD_PID=$!
wait_for 30 "slurmctld to answer (scontrol ping)" bash -c 'scontrol ping | grep -q "is UP"'
slurmd -D -f "$SLURM_CONF" -N "$HOST" >>"$WORK/log/slurmd.stdout" 2>&1 &
SLURMD_PID=$!
node_idle() { [[ "$(sinfo -h -N -n "$HOST" -o %T)" == idle ]]; }
wait_for 60 "node $HOST to be idle in sinfo" node_idle
kill -0 "$SLURMCTLD_PID" 2>/dev/null || die "slurmctld died"
kill -0 "$SLURMD_PID" 2>/dev/null || die "slurmd died"
log "Slurm up: slurmctld pid $SLURMCTLD_PID, slurmd pid $SLURMD_PID; $(sinfo -h -o '%P %D node(s) %c CPUs %m MB %T')"

# job_states JOBID: one "STATE" line per job (array tasks included) of that id, from scontrol.
job_states() { scontrol -o show job "$1" 2>/dev/null | sed -nE 's/.* JobState=([A-Z_]+) .*/\1/p'; }
jobs_done() {  # jobs_done JOBID...: true when none of them is pending/running/completing
  local j
  for j in "$@"; do
    job_states "$j" | grep -qvE '^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE)$' && return 1
    [[ -n "$(job_states "$j")" ]] || return 1
  done
  return 0
}
task_state() { scontrol -o show job "$1" 2>/dev/null | sed -nE 's/.* JobState=([A-Z_]+) .*/\1/p' | head -n 1; }

# ---------------------------------------------------------------- smoke test: a trivial array
t0=$(date +%s)
# shellcheck disable=SC2016  # expanded in the job
SMOKE=$(sbatch --parsable --array=1-3 --cpus-per-task=1 --time=5 --chdir="$WORK/jobs" \
  --output="$WORK/jobs/smoke-%A_%a.out" --wrap='echo "ok task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_TASK_MIN-$SLURM_ARRAY_TASK_MAX count $SLURM_ARRAY_TASK_COUNT"; sleep 1')
SMOKE=${SMOKE%%;*}
wait_for 60 "the smoke-test array $SMOKE" jobs_done "$SMOKE"
[[ "$(job_states "$SMOKE" | sort -u)" == COMPLETED ]] || die "smoke array $SMOKE: states $(job_states "$SMOKE" | tr '\n' ' ')"
for i in 1 2 3; do
  grep -q "^ok task $i of 1-3 count 3$" "$WORK/jobs/smoke-${SMOKE}_$i.out" ||
    die "smoke task $i output: $(cat "$WORK/jobs/smoke-${SMOKE}_$i.out" 2>&1)"
done
log "smoke array job $SMOKE (3 tasks) completed in $(( $(date +%s) - t0 )) s"
# The template's shard arithmetic on real array variables: an array with an offset and a step.
t0=$(date +%s)
DRY=$(DRY_RUN=1 CATIMAGE=catimage sbatch --parsable --array=3-9:3 --cpus-per-task=1 --mem=100M --time=5 \
  --chdir="$WORK/jobs" --output="$WORK/jobs/dry-%A_%a.out" "$HERE/route_generate_array.sh")
DRY=${DRY%%;*}
wait_for 60 "the dry-run array $DRY" jobs_done "$DRY"
for t in 3:0 6:1 9:2; do
  grep -q -- "--shard ${t#*:}/3 *\$" "$WORK/jobs/dry-${DRY}_${t%%:*}.out" ||
    die "array task ${t%%:*} of --array=3-9:3 should run shard ${t#*:}/3: $(cat "$WORK/jobs/dry-${DRY}_${t%%:*}.out")"
done
log "template dry run with --array=3-9:3: tasks 3,6,9 -> shards 0/3,1/3,2/3 ($(( $(date +%s) - t0 )) s)"
if (( CLUSTER_ONLY )); then log "PASS (cluster only)"; exit 0; fi

# ---------------------------------------------------------------- test data
[[ -x "$CATIMAGE" ]] || die "catimage binary $CATIMAGE not found (build it, or set CATIMAGE)"
"$CATIMAGE" merge --help >/dev/null 2>&1 || die "$CATIMAGE has no merge command"
CATIMAGE=$(readlink -f "$CATIMAGE")
DATA="$WORK/data"
mkdir -p "$DATA"
cp -r "$ROOT/tests/fixtures/tiny-sd1" "$DATA/model"
"$CATIMAGE" random-weights "$DATA/model" --seed 7 >"$WORK/log/random-weights.log" 2>&1 ||
  die "random-weights failed: $(tail -n 5 "$WORK/log/random-weights.log")"
cat >"$DATA/candidates.json" <<JSON
{"candidates": [
  {"name": "small", "family": "sd15", "weights": "$DATA/model", "steps": 2, "scheduler": "euler",
   "guidance": 3.0, "width": $IMAGE_SIZE, "height": $IMAGE_SIZE, "cost": {"value": 1, "unit": "seconds"}},
  {"name": "big", "family": "sd15", "weights": "$DATA/model", "steps": $BIG_STEPS, "scheduler": "ddim",
   "guidance": 3.0, "width": $IMAGE_SIZE, "height": $IMAGE_SIZE, "cost": {"value": 3, "unit": "seconds"}}
]}
JSON
subjects=(cat dog fox owl lighthouse castle robot teapot bicycle mountain river forest city garden violin dragon
          sailboat cactus astronaut library)
styles=("an oil painting of" "a photo of" "a watercolor of" "a pencil sketch of" "a 3d render of" "a poster of")
: >"$DATA/prompts.txt"
: >"$DATA/predictions.jsonl"
for (( i = 1; i <= NPROMPTS; i++ )); do
  p="${styles[i % ${#styles[@]}]} a ${subjects[i % ${#subjects[@]}]} number $i"
  echo "$p" >>"$DATA/prompts.txt"
  # Deterministic qualities: "big" is worth its extra cost for about half of the prompts at lambda 0.5.
  qs=$(awk -v i="$i" 'BEGIN { printf "%.3f", 0.30 + (i * 37 % 17) / 40 }')
  qb=$(awk -v i="$i" 'BEGIN { printf "%.3f", 0.30 + (i * 37 % 17) / 40 + ((i * 53 % 11) / 5) }')
  printf '{"id": "%d", "prompt": "%s", "quality": {"small": %s, "big": %s}}\n' "$i" "$p" "$qs" "$qb" >>"$DATA/predictions.jsonl"
done
ROUTE_ARGS="--predictions $DATA/predictions.jsonl --lambda 0.5"
EXTRA_ARGS="--seed 11 --device cpu --batch 1"

# Reference: no Slurm, no shard, no interruption.
REF="$WORK/ref"
t0=$(date +%s)
# shellcheck disable=SC2086
OMP_NUM_THREADS=1 timeout "$TIMEOUT_JOBS" "$CATIMAGE" route "$DATA/prompts.txt" -c "$DATA/candidates.json" $ROUTE_ARGS \
  --generate --out "$REF" $EXTRA_ARGS -o "$WORK/ref-routes.jsonl" >"$WORK/log/ref.log" 2>&1 ||
  die "reference run failed: $(tail -n 5 "$WORK/log/ref.log")"
n_ref=$(find "$REF" -maxdepth 1 -name '*.png' | wc -l)
(( n_ref == NPROMPTS )) || die "reference run wrote $n_ref PNGs for $NPROMPTS prompts"
n_big=$(grep -c '"candidate":"big"' "$WORK/ref-routes.jsonl" || true)
log "reference run (no Slurm): $n_ref images ($n_big routed to big) in $(( $(date +%s) - t0 )) s"
(( n_big > 0 && n_big < NPROMPTS )) || die "routing sent $n_big of $NPROMPTS prompts to big: both candidates should be used"

# ---------------------------------------------------------------- the array, with one task cancelled
OUT="$WORK/out"
export CATIMAGE PROMPTS="$DATA/prompts.txt" CONFIG="$DATA/candidates.json" OUT ROUTE_ARGS EXTRA_ARGS
SB=(sbatch --parsable --cpus-per-task=1 --mem=1G --time=30 --chdir="$WORK/jobs" --output="$WORK/jobs/route-%A_%a.out")
t0=$(date +%s)
ARRAY=$("${SB[@]}" --array=1-4 "$HERE/route_generate_array.sh")
ARRAY=${ARRAY%%;*}
# The merge step, as a user submits it: once every task has ended, however it ended.
MB=(sbatch --parsable --cpus-per-task=1 --mem=1G --time=10 --chdir="$WORK/jobs" --output="$WORK/jobs/merge-%j.out")
MERGE1=$("${MB[@]}" --dependency=afterany:"$ARRAY" "$HERE/merge.sh")
log "submitted array job $ARRAY (--array=1-4, shards 0/4..3/4, $NCPUS CPU(s) -> $NCPUS running at once), merge job $MERGE1 after it"

# Cancel array index 2 (shard 1/4) once it is running and has written at least one image.
shard_records() { { cat "$OUT/manifest-1of4.jsonl" 2>/dev/null || true; } | grep -c . || true; }
has_record() { (( $(shard_records) >= 1 )); }
POLL=0.1 wait_for "$TIMEOUT_JOBS" "array task ${ARRAY}_2 to write its first image" has_record
scancel "${ARRAY}_2"
cancelled_at=$(shard_records)
log "scancel ${ARRAY}_2 after $cancelled_at of its $(( (NPROMPTS + 2) / 4 )) images"
wait_for "$TIMEOUT_JOBS" "array job $ARRAY to end" jobs_done "$ARRAY"
states=$(scontrol -o show job "$ARRAY" | sed -nE 's/.* ArrayTaskId=([0-9]+) .* JobState=([A-Z_]+) .*/\1=\2/p' | sort | tr '\n' ' ')
log "array job $ARRAY ended in $(( $(date +%s) - t0 )) s: $states(task 2 left $(shard_records) of its $(( (NPROMPTS + 2) / 4 )) images)"
[[ "$states" == "1=COMPLETED 2=CANCELLED 3=COMPLETED 4=COMPLETED " ]] ||
  die "array job $ARRAY: expected tasks 1,3,4 COMPLETED and 2 CANCELLED, got: $states"
(( $(shard_records) < (NPROMPTS + 2) / 4 )) ||
  die "task ${ARRAY}_2 finished all its images before the cancel took effect (make the work slower: BIG_STEPS, IMAGE_SIZE)"

# Incomplete now: the merge job must fail (exit 1) and say so.
job_exit() { scontrol -o show job "$1" 2>/dev/null | sed -nE 's/.* ExitCode=([0-9]+):.*/\1/p' | head -n 1; }
wait_for 120 "merge job $MERGE1 to end" jobs_done "$MERGE1"
[[ "$(task_state "$MERGE1") $(job_exit "$MERGE1")" == "FAILED 1" ]] ||
  die "merge job $MERGE1 of the incomplete folder: $(task_state "$MERGE1") exit $(job_exit "$MERGE1"), expected FAILED exit 1"
grep -q "incomplete" "$WORK/jobs/merge-$MERGE1.out" || die "merge job $MERGE1 did not report the folder incomplete"
log "merge job $MERGE1 (afterany:$ARRAY): exit 1, $(tail -n 1 "$WORK/jobs/merge-$MERGE1.out")"

# Resubmit the cancelled index alone, telling the template what the original array was.
t0=$(date +%s)
RESUB=$("${SB[@]}" --array=2 --export=ALL,ARRAY_MIN=1,SHARD_COUNT=4 "$HERE/route_generate_array.sh")
RESUB=${RESUB%%;*}
MERGE2=$("${MB[@]}" --dependency=afterany:"$RESUB" "$HERE/merge.sh")
wait_for "$TIMEOUT_JOBS" "resubmitted task ${RESUB}_2 to end" jobs_done "$RESUB"
[[ "$(task_state "$RESUB")" == COMPLETED ]] || die "resubmitted job $RESUB: $(task_state "$RESUB")"
grep -q -- "--shard 1/4" "$WORK/jobs/route-${RESUB}_2.out" || die "resubmitted task did not run shard 1/4: $(head -n 3 "$WORK/jobs/route-${RESUB}_2.out")"
log "resubmitted ${RESUB}_2 (shard 1/4) completed in $(( $(date +%s) - t0 )) s"
wait_for 120 "merge job $MERGE2 to end" jobs_done "$MERGE2"
[[ "$(task_state "$MERGE2")" == COMPLETED ]] ||
  die "merge job $MERGE2 after the resubmission: $(task_state "$MERGE2") exit $(job_exit "$MERGE2"): $(tail -n 5 "$WORK/jobs/merge-$MERGE2.out")"
log "merge job $MERGE2 (afterany:$RESUB): exit 0, $(tail -n 1 "$WORK/jobs/merge-$MERGE2.out")"

# ---------------------------------------------------------------- checks
"$CATIMAGE" merge "$OUT" >"$WORK/log/merge.log" 2>&1 || die "catimage merge $OUT failed: $(tail -n 5 "$WORK/log/merge.log")"
log "merge: exit 0 ($(tail -n 1 "$WORK/log/merge.log"))"
[[ -f "$OUT/manifest.jsonl" ]] || die "merge wrote no $OUT/manifest.jsonl"

n_png=$(find "$OUT" -maxdepth 1 -name '*.png' | wc -l)
(( n_png == NPROMPTS )) || die "$OUT holds $n_png PNGs for $NPROMPTS prompts"
# Every prompt id 1..N: exactly one PNG and exactly one record across the shard manifests
# (within one manifest a later line for the same file supersedes an earlier one: count files per manifest once).
for (( i = 1; i <= NPROMPTS; i++ )); do
  [[ -f "$OUT/$i.png" ]] || die "prompt $i: no $OUT/$i.png"
done
per_file=$(for m in "$OUT"/manifest-*of4.jsonl; do
             grep -o '"file": *"[^"]*"' "$m" | sed -E 's/.*"([^"]*)"$/\1/' | sort -u
           done | sort | uniq -c)
n_files=$(wc -l <<<"$per_file")
(( n_files == NPROMPTS )) || die "the shard manifests name $n_files files, expected $NPROMPTS"
dups=$(awk '$1 != 1' <<<"$per_file")
[[ -z "$dups" ]] || die "files recorded by more than one shard manifest: $dups"
n_merged=$(grep -c . "$OUT/manifest.jsonl")
(( n_merged == NPROMPTS )) || die "manifest.jsonl has $n_merged records, expected $NPROMPTS"
n_merged_files=$(grep -o '"file": *"[^"]*"' "$OUT/manifest.jsonl" | sort -u | wc -l)
(( n_merged_files == NPROMPTS )) || die "manifest.jsonl names $n_merged_files distinct files, expected $NPROMPTS"
# Byte-identical to the reference.
for f in "$REF"/*.png; do
  cmp -s "$f" "$OUT/$(basename "$f")" || die "$(basename "$f") differs from the unsharded, uninterrupted run"
done
log "checks: $NPROMPTS prompts, $n_png PNGs, one manifest record each, all byte-identical to the reference"

# The other way to recover: resubmit the whole array. Every shard is complete, so nothing may change.
snapshot() { (cd "$OUT" && stat -c '%n %s %Y' ./*.png && cat manifest-*of4.jsonl | sort) | md5sum; }
before=$(snapshot)
t0=$(date +%s)
AGAIN=$("${SB[@]}" --array=1-4 "$HERE/route_generate_array.sh")
AGAIN=${AGAIN%%;*}
wait_for "$TIMEOUT_JOBS" "the resubmitted array $AGAIN to end" jobs_done "$AGAIN"
[[ "$(job_states "$AGAIN" | sort -u)" == COMPLETED ]] || die "resubmitted array $AGAIN: $(job_states "$AGAIN" | tr '\n' ' ')"
[[ "$(snapshot)" == "$before" ]] || die "resubmitting the finished array $AGAIN changed images or manifests"
"$CATIMAGE" merge "$OUT" >"$WORK/log/merge2.log" 2>&1 || die "merge after the second array failed: $(tail -n 5 "$WORK/log/merge2.log")"
log "whole array resubmitted ($AGAIN): all 4 tasks completed in $(( $(date +%s) - t0 )) s, no image or manifest changed, merge exit 0"
(( CASCADE )) || { log "PASS (route array only: CASCADE=0)"; exit 0; }

# ---------------------------------------------------------------- the cascade as a chain of jobs
# submit_cascade.sh with a learning cascade (refit every LEARN_EVERY prompts, exploration 0.3):
# first images (array) -> [plan -> escalations (array)] x rounds -> final plan -> merge. The finished
# folder must equal one unsharded run's byte for byte: decisions, plan, run table and every PNG.
CDATA="$WORK/cascade-data"
mkdir -p "$CDATA"
cp -r "$ROOT/tests/fixtures/tiny-clip" "$CDATA/clip"
"$CATIMAGE" random-weights "$CDATA/clip" --seed 7 >"$WORK/log/random-clip.log" 2>&1 ||
  die "random-weights (CLIP scorer) failed: $(tail -n 5 "$WORK/log/random-clip.log")"
# A made-up quality table for "small" and "big" (deterministic): big gains most where small scores low.
words=(red cube dog cat dusk wall park neon city tree)
: >"$CDATA/table.jsonl"
for (( i = 0; i < 60; i++ )); do
  p=""
  for (( w = 0; w < 2 + i % 5; w++ )); do p+="${p:+ }${words[(i * 7 + w * 3 + w * w) % 10]}"; done
  awk -v i="$i" -v p="$p" 'BEGIN {
    s = 20 + ((i * 37) % 17 - 8) / 2; b = 22 + ((i * 53) % 11 - 5) / 3 + 0.5 * (20 - s)
    printf "{\"id\": \"t%d\", \"prompt\": \"%s\", \"quality\": {\"small\": %.3f, \"big\": %.3f}}\n", i, p, s, b }' \
    >>"$CDATA/table.jsonl"
done
"$CATIMAGE" train -t "$CDATA/table.jsonl" --cascade small --metric clipscore -o "$CDATA/cascade-predictor" \
  >"$WORK/log/train-cascade.log" 2>&1 || die "train --cascade failed: $(tail -n 5 "$WORK/log/train-cascade.log")"
: >"$CDATA/prompts.txt"
for (( i = 1; i <= CASCADE_PROMPTS; i++ )); do
  echo "${words[i % 10]} ${words[(3 * i + 1) % 10]} ${words[(7 * i + 2) % 10]} $i" >>"$CDATA/prompts.txt"
done
CASCADE_ARGS="--cascade-predictor $CDATA/cascade-predictor --scorer $CDATA/clip --budget 2.2 --learn \
--learn-every $LEARN_EVERY --explore 0.3 --learn-base $CDATA/table.jsonl --seed 5"
CASCADE_EXTRA="--device cpu"
CREF="$WORK/cascade-ref"
t0=$(date +%s)
# shellcheck disable=SC2086
OMP_NUM_THREADS=1 timeout "$TIMEOUT_JOBS" "$CATIMAGE" route "$CDATA/prompts.txt" -c "$DATA/candidates.json" \
  --generate --cascade $CASCADE_ARGS --out "$CREF" $CASCADE_EXTRA >"$WORK/log/cascade-ref.log" 2>&1 ||
  die "unsharded cascade failed: $(tail -n 5 "$WORK/log/cascade-ref.log")"
[[ -f "$CREF/cascade.jsonl" ]] || die "the unsharded cascade wrote no cascade.jsonl"
n_esc=$(grep -c '"escalated":true' "$CREF/cascade.jsonl" || true)
n_blocks=$(grep -o '"block":[0-9]*' "$CREF/cascade.jsonl" | sort -u | wc -l)
log "unsharded cascade (no Slurm): $CASCADE_PROMPTS prompts, $n_esc escalated, $n_blocks blocks, in $(( $(date +%s) - t0 )) s"
(( n_esc > 0 && n_esc < CASCADE_PROMPTS )) || die "the cascade escalated $n_esc of $CASCADE_PROMPTS prompts: expected some, not all"

COUT="$WORK/cascade-out"
t0=$(date +%s)
submit_log="$WORK/log/submit-cascade.log"
PROMPTS="$CDATA/prompts.txt" CONFIG="$DATA/candidates.json" OUT="$COUT" SHARDS=4 CASCADE_ARGS="$CASCADE_ARGS" \
  EXTRA_ARGS="$CASCADE_EXTRA" CATIMAGE="$CATIMAGE" \
  "$HERE/submit_cascade.sh" --cpus-per-task=1 --mem=1G --time=30 --chdir="$WORK/jobs" \
  --output="$WORK/jobs/cascade-%x-%A_%a.out" >"$submit_log" 2>&1 || die "submit_cascade.sh failed: $(tail -n 5 "$submit_log")"
rounds=$(grep -c '^round .*: plan job' "$submit_log" || true)
(( rounds == (CASCADE_PROMPTS + LEARN_EVERY - 1) / LEARN_EVERY )) ||
  die "submit_cascade.sh submitted $rounds rounds for $CASCADE_PROMPTS prompts in blocks of $LEARN_EVERY: $(cat "$submit_log")"
chain=$(grep -oE 'job [0-9]+' "$submit_log" | awk '{print $2}' | tr '\n' ' ')
CMERGE=$(sed -nE 's/^merge: job ([0-9]+)$/\1/p' "$submit_log")
[[ -n "$CMERGE" ]] || die "submit_cascade.sh printed no merge job: $(cat "$submit_log")"
log "submitted the cascade chain: $(tr '\n' ';' <"$submit_log")"
# shellcheck disable=SC2086
wait_for "$TIMEOUT_JOBS" "the cascade chain ($chain) to end" jobs_done $chain
for j in $chain; do
  st=$(job_states "$j" | sort -u | tr '\n' ' ')
  [[ "$st" == "COMPLETED " ]] || die "cascade chain job $j: $st(expected COMPLETED; logs in $WORK/jobs)"
done
log "cascade chain: $(wc -w <<<"$chain") jobs completed in $(( $(date +%s) - t0 )) s; merge job $CMERGE: $(cat "$WORK"/jobs/cascade-catimage-merge-"$CMERGE"_*.out 2>/dev/null | tail -n 1)"
for f in cascade.jsonl cascade-plan.jsonl cascade-run.jsonl; do
  cmp -s "$CREF/$f" "$COUT/$f" || die "$f of the Slurm chain differs from the unsharded cascade's"
done
n_cpng=0
while IFS= read -r -d '' f; do
  rel=${f#"$CREF"/}
  cmp -s "$f" "$COUT/$rel" || die "$rel of the Slurm chain differs from the unsharded cascade's (or is missing)"
  n_cpng=$(( n_cpng + 1 ))
done < <(find "$CREF" -name '*.png' -print0)
(( n_cpng == 2 * CASCADE_PROMPTS + n_esc )) || die "the unsharded cascade holds $n_cpng PNGs, expected $(( 2 * CASCADE_PROMPTS + n_esc ))"
n_out=$(find "$COUT" -name '*.png' | wc -l)
(( n_out == n_cpng )) || die "the Slurm chain's folder holds $n_out PNGs, the unsharded one $n_cpng"
"$CATIMAGE" merge "$COUT" >"$WORK/log/cascade-merge.log" 2>&1 || die "catimage merge $COUT failed: $(tail -n 5 "$WORK/log/cascade-merge.log")"
log "cascade checks: cascade.jsonl, cascade-plan.jsonl, cascade-run.jsonl and all $n_cpng PNGs byte-identical to the unsharded run; merge exit 0"
# Submitting the whole chain again over the finished folder: every job completes, no image is made
# again (names, sizes, times) and the decisions, run table, shard manifests and scores keep their
# bytes (the jobs' own records, job-KofN.json and job.lock, are rewritten by every job).
csnap() {
  (cd "$COUT" && find . -name '*.png' -exec stat -c '%n %s %Y' {} + | sort &&
     cat cascade.jsonl cascade-plan.jsonl cascade-run.jsonl manifest-*of4.jsonl scores-*of4.jsonl) | md5sum
}
before=$(csnap)
t0=$(date +%s)
PROMPTS="$CDATA/prompts.txt" CONFIG="$DATA/candidates.json" OUT="$COUT" SHARDS=4 CASCADE_ARGS="$CASCADE_ARGS" \
  EXTRA_ARGS="$CASCADE_EXTRA" CATIMAGE="$CATIMAGE" \
  "$HERE/submit_cascade.sh" --cpus-per-task=1 --mem=1G --time=30 --chdir="$WORK/jobs" \
  --output="$WORK/jobs/again-%x-%A_%a.out" >"$submit_log" 2>&1 || die "submit_cascade.sh (again) failed: $(tail -n 5 "$submit_log")"
chain=$(grep -oE 'job [0-9]+' "$submit_log" | awk '{print $2}' | tr '\n' ' ')
# shellcheck disable=SC2086
wait_for "$TIMEOUT_JOBS" "the second cascade chain ($chain) to end" jobs_done $chain
for j in $chain; do
  st=$(job_states "$j" | sort -u | tr '\n' ' ')
  [[ "$st" == "COMPLETED " ]] || die "second cascade chain, job $j: $st(expected COMPLETED)"
done
[[ "$(csnap)" == "$before" ]] || die "submitting the chain again over the finished folder made images again or changed records"
log "the chain submitted again over the finished folder: $(wc -w <<<"$chain") jobs completed in $(( $(date +%s) - t0 )) s, no image made again, no record changed"
log "PASS"
