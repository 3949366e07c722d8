#!/usr/bin/env bash
# Slurm job-array template: route a prompt file and generate every image, one shard per array task.
#
#   sbatch --array=0-7 scripts/slurm/route_generate_array.sh            # 8 shards, 0/8 .. 7/8
#   sbatch --array=1-8 scripts/slurm/route_generate_array.sh            # the same 8 shards: K = task id - first id
#   sbatch --dependency=afterany:JOBID scripts/slurm/merge.sh           # check + join once all tasks ended
#
# Array task T of an array FIRST..LAST[:STEP] runs shard K/N with
#   K = (T - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP,   N = SLURM_ARRAY_TASK_COUNT,
# so an array may start at 0, at 1 or at any offset. Resubmitting ONE task of an earlier array
# (sbatch --array=5 ...) makes Slurm report MIN=5, COUNT=1 for that new job: then say what the
# original array was, and the task gets its original shard back:
#   sbatch --array=5 --export=ALL,ARRAY_MIN=1,SHARD_COUNT=8 scripts/slurm/route_generate_array.sh
# or give the shard outright: --export=ALL,SHARD_INDEX=4,SHARD_COUNT=8. Resubmitting the whole
# array with the same settings is also safe: finished images are skipped (resume), and a shard
# still running elsewhere keeps its lock (the second copy refuses to start).
# Arrays with comma lists (--array=1,3,8) have no fixed step: give SHARD_INDEX/SHARD_COUNT.
#
# Settings (environment variables; sbatch passes the submitting shell's environment by default):
#   CATIMAGE     the catimage binary (default: $SLURM_SUBMIT_DIR/build/catimage if it exists, else catimage on PATH)
#   PROMPTS      prompt file: .txt (one per line), .jsonl or .csv             (default: prompts.txt)
#   CONFIG       candidates config                                            (default: catimage's shipped default)
#   OUT          output folder shared by all tasks (PNGs, manifests)          (default: images)
#   ROUTES       where shard 0 writes the routing decisions (JSONL)          (default: $OUT/routes.jsonl; - for the job log)
#   ROUTE_ARGS   routing options, e.g. "--predictor models/x --budget 2" or "--predictions q.jsonl --lambda 0.5"
#                (default: empty = the shipped predictor at the best single candidate's cost)
#   EXTRA_ARGS   more options for route --generate, e.g. "--seed 42 --batch 4 --dtype fp16"
#   ARRAY_MIN, ARRAY_STEP, SHARD_COUNT, SHARD_INDEX   override the shard arithmetic above (resubmissions)
#   DRY_RUN=1    print the command instead of running it
# Relative paths are taken from the submission folder (Slurm starts the job there).
#
# The #SBATCH lines below are defaults; options on the sbatch command line override them
# (e.g. sbatch --array=0-3 --time=1:00:00 --gres=gpu:1 --partition=gpu ...).
#SBATCH --job-name=catimage-route
#SBATCH --array=0-3
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --time=04:00:00
#SBATCH --output=slurm-%x-%A_%a.out
#   A GPU per task (catimage uses CUDA when it sees one; --device/--dtype in EXTRA_ARGS to choose):
##SBATCH --gres=gpu:1
#   Requeue the task if its node fails (the shard resumes where it stopped):
##SBATCH --requeue
set -euo pipefail

if [[ -z "${CATIMAGE:-}" ]]; then
  if [[ -x "${SLURM_SUBMIT_DIR:-.}/build/catimage" ]]; then CATIMAGE="${SLURM_SUBMIT_DIR:-.}/build/catimage"
  else CATIMAGE=catimage; fi
fi
PROMPTS=${PROMPTS:-prompts.txt}
CONFIG=${CONFIG:-}
OUT=${OUT:-images}
ROUTES=${ROUTES:-$OUT/routes.jsonl}
ROUTE_ARGS=${ROUTE_ARGS:-}
EXTRA_ARGS=${EXTRA_ARGS:-}

# The shard of this array task (K/N, from the array variables or SHARD_INDEX/SHARD_COUNT): shard=(--shard K/N) or ().
# Slurm runs a copy of this script from its spool folder: shard.sh is found beside the submitted
# script (scontrol's Command=), or in CATIMAGE_SLURM_DIR.
slurm_dir=${CATIMAGE_SLURM_DIR:-}
[[ -z "$slurm_dir" && -n "${SLURM_JOB_ID:-}" ]] &&
  slurm_dir=$(dirname "$(scontrol show job "$SLURM_JOB_ID" 2>/dev/null | sed -nE 's/^ *Command=([^ ]+).*/\1/p' | head -n 1)")
[[ -f "${slurm_dir:-}/shard.sh" ]] || slurm_dir=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=shard.sh
source "$slurm_dir/shard.sh" || { echo "route_generate_array.sh: shard.sh not found (set CATIMAGE_SLURM_DIR)" >&2; exit 2; }
shard_of_task route_generate_array.sh

# One intra-op thread per allocated CPU (libtorch would otherwise use every core of the node).
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}

config=()
[[ -n "$CONFIG" ]] && config=(-c "$CONFIG")
# ROUTE_ARGS / EXTRA_ARGS are split at whitespace (no globbing, no quotes: paths with spaces need their own variable).
read -r -a route_args <<<"$ROUTE_ARGS"
read -r -a extra_args <<<"$EXTRA_ARGS"
cmd=("$CATIMAGE" route "$PROMPTS" "${config[@]}" "${route_args[@]}" -o "$ROUTES" --generate --out "$OUT" "${shard[@]}"
     "${extra_args[@]}")

echo "[$(date -u +%FT%TZ)] job ${SLURM_JOB_ID:-none} array ${SLURM_ARRAY_JOB_ID:-none}_${SLURM_ARRAY_TASK_ID:-none} on $(hostname) in $PWD"
echo "+ $(printf '%q ' "${cmd[@]}")"
[[ "${DRY_RUN:-0}" == 1 ]] && exit 0
mkdir -p "$OUT"
start=$SECONDS
rc=0
"${cmd[@]}" || rc=$?
echo "[$(date -u +%FT%TZ)] exit $rc after $(( SECONDS - start )) s"
exit "$rc"
