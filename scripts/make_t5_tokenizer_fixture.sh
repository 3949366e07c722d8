#!/usr/bin/env bash
# Rebuilds tests/fixtures/tiny-t5/tokenizer/spiece.model: a tiny T5-style sentencepiece model
# (unigram, nmt_nfkc normalisation, <pad>=0 </s>=1 <unk>=2, no <s>, as T5's spiece.model)
# trained on the first 1500 prompts of each real prompt corpus in ../shared/data/prompts.
# Debian's spm_train is not bit-reproducible (scores differ in low digits between runs), so a
# rebuild also needs the reference ids regenerated: scripts/make_t5_fixtures.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data=${1:-$here/../shared/data/prompts}
out=$here/tests/fixtures/tiny-t5/tokenizer
mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 - "$data" "$tmp/corpus.txt" <<'PY'
import csv, sys, os
data, out = sys.argv[1], sys.argv[2]
n = 0
with open(out, "w", encoding="utf-8") as f:
    for name in ("MS-COCO.csv", "DiffusionDB_sample_seed42.csv"):
        with open(os.path.join(data, name), newline="", encoding="utf-8") as g:
            for i, row in enumerate(csv.DictReader(g)):
                if i >= 1500:
                    break
                p = " ".join(row["prompt"].split())
                if p:
                    f.write(p + "\n"); n += 1
print(f"corpus: {n} prompts", file=sys.stderr)
PY
spm_train --input="$tmp/corpus.txt" --model_prefix="$tmp/spiece" --vocab_size=1000 \
  --model_type=unigram --character_coverage=0.9995 --normalization_rule_name=nmt_nfkc \
  --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1 \
  --pad_piece="<pad>" --eos_piece="</s>" --unk_piece="<unk>" \
  --input_sentence_size=0 --shuffle_input_sentence=false --num_threads=1 \
  --max_sentence_length=8192 --random_seed=42 --minloglevel=1
cp "$tmp/spiece.model" "$out/spiece.model"
ls -l "$out/spiece.model"
