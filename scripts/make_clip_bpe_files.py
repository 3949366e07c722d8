"""Writes transformers' CLIPTokenizer files (vocab.json, merges.txt) from OpenAI CLIP's BPE table
(clip/bpe_simple_vocab_16e6.txt.gz of github.com/openai/CLIP, MIT licence), the derivation
simple_tokenizer.SimpleTokenizer does in memory: the 256 byte symbols (bytes_to_unicode order),
the same with "</w>", one token per merge, then <|startoftext|> and <|endoftext|>; merges.txt is
"#version: 0.2" and the merges. --merges N keeps the first N merges (the full table has 48,894:
a vocabulary of 49,408, the vocab_size of every CLIP text encoder of SD 1.x, 2.x and SDXL).

  python3 scripts/make_clip_bpe_files.py CLIP/clip/bpe_simple_vocab_16e6.txt.gz OUT_DIR [--merges N]

With --merges 1000 the output is tests/fixtures/clip-tiny-vocab's vocab.json and merges.txt byte
for byte (scripts/make_pipeline_configs.sh checks it)."""
import argparse
import gzip
import json
import os


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bpe_gz")
    ap.add_argument("out")
    ap.add_argument("--merges", type=int, default=49152 - 256 - 2)
    a = ap.parse_args()
    lines = gzip.open(a.bpe_gz).read().decode("utf-8").split("\n")
    merges = lines[1 : a.merges + 1]  # line 0 is the file's version comment
    assert len(merges) == a.merges and all(len(m.split()) == 2 for m in merges)
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    assert len(set(vocab)) == len(vocab)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "vocab.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False))
    with open(os.path.join(a.out, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(m + "\n" for m in merges))


if __name__ == "__main__":
    main()
