#!/usr/bin/env bash
# Rebuilds models/tokenizer/prompts.model (sentencepiece unigram) from the real prompt corpora
# in ../shared/data/prompts (MS-COCO captions + DiffusionDB prompts). The corpus is written in
# file order and spm_train runs single-threaded with a fixed random seed: reruns give the same
# pieces with the same ids (checked), but Debian's spm_train 0.1.97 is not bit-reproducible —
# the pieces' scores differ in low-order digits between runs, so the file's checksum changes.
# Predictors pin the exact model they were trained with (a copy plus its checksum).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data=${1:-$here/../shared/data/prompts}
out=$here/models/tokenizer
mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 - "$data" "$tmp/corpus.txt" <<'PY'
import csv, sys, os
data, out = sys.argv[1], sys.argv[2]
n = 0
with open(out, "w", encoding="utf-8") as f:
    for name in ("MS-COCO.csv", "DiffusionDB_sample_seed42.csv"):
        with open(os.path.join(data, name), newline="", encoding="utf-8") as g:
            for row in csv.DictReader(g):
                p = " ".join(row["prompt"].split())
                if p:
                    f.write(p + "\n"); n += 1
print(f"corpus: {n} prompts", file=sys.stderr)
PY
spm_train --input="$tmp/corpus.txt" --model_prefix="$out/prompts" --vocab_size=8000 \
  --model_type=unigram --character_coverage=0.9995 --normalization_rule_name=nmt_nfkc_cf \
  --input_sentence_size=0 --shuffle_input_sentence=false --num_threads=1 \
  --max_sentence_length=8192 --random_seed=42 --minloglevel=1
sha256sum "$out/prompts.model" | cut -d' ' -f1 > "$out/prompts.model.sha256"
echo "wrote $out/prompts.model ($(cat "$out/prompts.model.sha256"))"
