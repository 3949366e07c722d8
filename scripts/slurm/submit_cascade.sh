#!/usr/bin/env bash
# Submits a whole cascade (route --generate --cascade) as a chain of Slurm jobs, run on the login node:
#   first (array of SHARDS tasks) -> [ plan -> second (array) ] x ROUNDS -> plan (finishes) -> merge
# each step after the previous one succeeded (afterok; merge afterany, so that its report comes
# whatever happened). Without --learn one round suffices; with --learn --learn-every K the plan
# advances one block per round (a block whose prompts all kept their first image lets a plan
# go on to the next), so ROUNDS = ceil(prompts / K) covers every case (surplus rounds do nothing).
#
#   PROMPTS=p.txt CONFIG=c.json OUT=run SHARDS=8 \
#   CASCADE_ARGS="--scorer weights/clip --budget 0.5 --learn --learn-every 500 --explore 0.05" \
#     scripts/slurm/submit_cascade.sh [extra sbatch options, e.g. --partition=gpu --gres=gpu:1]
#
# Settings: PROMPTS, CONFIG, OUT, CATIMAGE, CASCADE_ARGS, EXTRA_ARGS (see cascade_phase.sh), SHARDS (default 4),
# ROUNDS (default: 1, or ceil(prompts / K) when CASCADE_ARGS has --learn; K from --learn-every, default 100),
# DRY_RUN=1 (print the sbatch commands).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SHARDS=${SHARDS:-4}
PROMPTS=${PROMPTS:-prompts.txt}
CASCADE_ARGS=${CASCADE_ARGS:-}
if [[ -z "${ROUNDS:-}" ]]; then
  ROUNDS=1
  if [[ " $CASCADE_ARGS " == *" --learn "* ]]; then
    every=$(sed -nE 's/.*--learn-every[ =]+([0-9]+).*/\1/p' <<<"$CASCADE_ARGS")
    every=${every:-100}
    n=$(grep -c . "$PROMPTS" || true)  # an upper bound for .jsonl/.txt (a .csv header line adds one: one round more at most)
    ROUNDS=$(( (n + every - 1) / every ))
    (( ROUNDS >= 1 )) || ROUNDS=1
  fi
fi
export PROMPTS CASCADE_ARGS CATIMAGE_SLURM_DIR="$HERE"
sb() {  # sb DEPENDENCY ARGS...: submit, print the job id
  local dep=$1; shift
  local cmd=(sbatch --parsable ${dep:+--dependency=$dep} "${SBATCH_EXTRA[@]}" "$@")
  if [[ "${DRY_RUN:-0}" == 1 ]]; then echo "+ ${cmd[*]}" >&2; echo "DRY$RANDOM"; return; fi
  local id
  id=$("${cmd[@]}")
  echo "${id%%;*}"
}
SBATCH_EXTRA=("$@")
jid=$(PHASE=first sb "" --array=0-$(( SHARDS - 1 )) --export=ALL,PHASE=first "$HERE/cascade_phase.sh")
echo "first images: array job $jid ($SHARDS shards)"
for (( r = 1; r <= ROUNDS; r++ )); do
  jid=$(sb "afterok:$jid" --export=ALL,PHASE=plan "$HERE/cascade_phase.sh")
  echo "round $r/$ROUNDS: plan job $jid"
  jid=$(sb "afterok:$jid" --array=0-$(( SHARDS - 1 )) --export=ALL,PHASE=second "$HERE/cascade_phase.sh")
  echo "round $r/$ROUNDS: escalations array job $jid"
done
jid=$(sb "afterok:$jid" --export=ALL,PHASE=plan "$HERE/cascade_phase.sh")
echo "final plan (finishes the folder): job $jid"
jid=$(sb "afterany:$jid" "$HERE/merge.sh")
echo "merge: job $jid"
