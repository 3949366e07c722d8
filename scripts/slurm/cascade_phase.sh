#!/usr/bin/env bash
# Slurm template for one phase of a cascade (route --generate --cascade --cascade-phase PHASE):
#   PHASE=first   as a job array: shard K/N generates and scores its prompts' first images
#   PHASE=plan    one task: routes the escalations with the batch's exact budget (with --learn:
#                 the next block, after refitting on the escalations scored so far); when every
#                 prompt is planned and every escalation made, it finishes the folder (cascade.jsonl,
#                 the kept OUT/ID.png links, cascade-run.jsonl)
#   PHASE=second  as a job array: shard K/N generates (and with --keep-best / --learn scores) the
#                 escalations planned for its prompts
# scripts/slurm/submit_cascade.sh submits the whole chain with dependencies. Each phase resumes
# and is idempotent: a plan or second job with nothing (more) to do changes nothing.
#
# Settings (environment): CATIMAGE, PROMPTS, CONFIG, OUT, EXTRA_ARGS as in route_generate_array.sh, and
#   PHASE         first | plan | second (required)
#   CASCADE_ARGS  the cascade's options, the same for every phase, e.g.
#                 "--scorer weights/clip-vit-large-patch14 --budget 0.5 --learn --learn-every 500 --explore 0.05"
#   ARRAY_MIN, ARRAY_STEP, SHARD_COUNT, SHARD_INDEX, CATIMAGE_SLURM_DIR: see route_generate_array.sh / shard.sh
#   DRY_RUN=1     print the command instead of running it
#SBATCH --job-name=catimage-cascade
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --time=04:00:00
#SBATCH --output=slurm-%x-%A_%a.out
##SBATCH --gres=gpu:1
set -euo pipefail

die() { echo "cascade_phase.sh: $*" >&2; exit 2; }
if [[ -z "${CATIMAGE:-}" ]]; then
  if [[ -x "${SLURM_SUBMIT_DIR:-.}/build/catimage" ]]; then CATIMAGE="${SLURM_SUBMIT_DIR:-.}/build/catimage"
  else CATIMAGE=catimage; fi
fi
PHASE=${PHASE:-}
case "$PHASE" in first|plan|second) ;; *) die "PHASE must be first, plan or second (got '${PHASE}')";; esac
PROMPTS=${PROMPTS:-prompts.txt}
CONFIG=${CONFIG:-}
OUT=${OUT:-images}
CASCADE_ARGS=${CASCADE_ARGS:-}
EXTRA_ARGS=${EXTRA_ARGS:-}

shard=()
if [[ "$PHASE" != plan ]]; then
  slurm_dir=${CATIMAGE_SLURM_DIR:-}
  [[ -z "$slurm_dir" && -n "${SLURM_JOB_ID:-}" ]] &&
    slurm_dir=$(dirname "$(scontrol show job "$SLURM_JOB_ID" 2>/dev/null | sed -nE 's/^ *Command=([^ ]+).*/\1/p' | head -n 1)")
  [[ -f "${slurm_dir:-}/shard.sh" ]] || slurm_dir=$(dirname "${BASH_SOURCE[0]}")
  # shellcheck source=shard.sh
  source "$slurm_dir/shard.sh" || die "shard.sh not found (set CATIMAGE_SLURM_DIR)"
  shard_of_task cascade_phase.sh
fi

export OMP_NUM_THREADS=${OMP_NUM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}
config=()
[[ -n "$CONFIG" ]] && config=(-c "$CONFIG")
read -r -a cascade_args <<<"$CASCADE_ARGS"
read -r -a extra_args <<<"$EXTRA_ARGS"
cmd=("$CATIMAGE" route "$PROMPTS" "${config[@]}" --generate --cascade "${cascade_args[@]}" --cascade-phase "$PHASE"
     --out "$OUT" "${shard[@]}" "${extra_args[@]}")
echo "[$(date -u +%FT%TZ)] job ${SLURM_JOB_ID:-none} array ${SLURM_ARRAY_JOB_ID:-none}_${SLURM_ARRAY_TASK_ID:-none} on $(hostname) in $PWD"
echo "+ $(printf '%q ' "${cmd[@]}")"
[[ "${DRY_RUN:-0}" == 1 ]] && exit 0
mkdir -p "$OUT"
start=$SECONDS
rc=0
"${cmd[@]}" || rc=$?
echo "[$(date -u +%FT%TZ)] exit $rc after $(( SECONDS - start )) s"
exit "$rc"
