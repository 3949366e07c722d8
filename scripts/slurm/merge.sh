#!/usr/bin/env bash
# Slurm job: check a sharded generation folder and join its shard manifests.
#
#   jid=$(sbatch --parsable --array=1-8 scripts/slurm/route_generate_array.sh)
#   sbatch --dependency=afterany:${jid%%;*} scripts/slurm/merge.sh
#
# `catimage merge OUT` exits 0 when every shard started and every routed prompt has exactly one
# complete PNG with exactly one manifest record (then it writes OUT/manifest.jsonl), and 1 with a
# list of what is missing otherwise: resubmit the failed/cancelled tasks (see
# route_generate_array.sh) and run this again. afterany (not afterok) so that the report comes
# even when a task failed or was cancelled.
# Settings: CATIMAGE (as in route_generate_array.sh), OUT (default: images).
#SBATCH --job-name=catimage-merge
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --mem=2G
#SBATCH --time=00:30:00
#SBATCH --output=slurm-%x-%j.out
set -euo pipefail
if [[ -z "${CATIMAGE:-}" ]]; then
  if [[ -x "${SLURM_SUBMIT_DIR:-.}/build/catimage" ]]; then CATIMAGE="${SLURM_SUBMIT_DIR:-.}/build/catimage"
  else CATIMAGE=catimage; fi
fi
OUT=${OUT:-images}
echo "+ $CATIMAGE merge $OUT"
exec "$CATIMAGE" merge "$OUT"
