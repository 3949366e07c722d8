#!/usr/bin/env bash
# Sourced by the job-array templates: the shard K/N of this Slurm array task.
#   shard_of_task NAME   sets the array shard=(--shard K/N) (empty outside an array), or exits 2 naming NAME.
# Task T of an array MIN..MAX[:STEP] runs shard K = (T - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP of
# N = SLURM_ARRAY_TASK_COUNT; ARRAY_MIN, ARRAY_STEP, SHARD_COUNT, SHARD_INDEX override it (resubmissions; see
# route_generate_array.sh).
shard_of_task() {
  local name=$1
  die_shard() { echo "$name: $*" >&2; exit 2; }
  is_int() { [[ "$1" =~ ^[0-9]+$ ]]; }

  shard=()
  if [[ -n "${SHARD_INDEX:-}" || -n "${SLURM_ARRAY_TASK_ID:-}" ]]; then
    N=${SHARD_COUNT:-${SLURM_ARRAY_TASK_COUNT:-}}
    if [[ -n "${SHARD_INDEX:-}" ]]; then
      K=$SHARD_INDEX
    else
      min=${ARRAY_MIN:-${SLURM_ARRAY_TASK_MIN:-}}
      step=${ARRAY_STEP:-${SLURM_ARRAY_TASK_STEP:-1}}
      [[ -n "${ARRAY_MIN:-}" && -z "${ARRAY_STEP:-}" ]] && step=1  # a resubmitted single task reports its own step
      if ! { is_int "$min" && is_int "$step" && (( step > 0 )) && is_int "$SLURM_ARRAY_TASK_ID"; }; then
        die_shard "cannot work out the shard (task ${SLURM_ARRAY_TASK_ID:-?}, min ${min:-?}, step ${step:-?}); set SHARD_INDEX and SHARD_COUNT"
      fi
      if ! (( SLURM_ARRAY_TASK_ID >= min && (SLURM_ARRAY_TASK_ID - min) % step == 0 )); then
        die_shard "array task $SLURM_ARRAY_TASK_ID is not min $min + a multiple of step $step; set SHARD_INDEX and SHARD_COUNT"
      fi
      K=$(( (SLURM_ARRAY_TASK_ID - min) / step ))
    fi
    if ! { is_int "$K" && is_int "$N" && (( N >= 1 && K < N )); }; then
      die_shard "shard ${K:-?}/${N:-?} is not 0 <= K < N (array task ${SLURM_ARRAY_TASK_ID:-none}); check ARRAY_MIN/SHARD_INDEX/SHARD_COUNT"
    fi
    shard=(--shard "$K/$N")
  fi
}
