#!/usr/bin/env python3
"""Reference outputs for catimage's T5 tests (tests/test_t5.cpp), computed by transformers'
own T5Tokenizer (slow, sentencepiece) and T5EncoderModel on the tiny random-weight T5
folder catimage writes itself (tests/fixtures/tiny-t5 + `catimage random-weights`, seed 7).

    bash scripts/make_t5_fixtures.sh        # writes the weights, sets PYTHONPATH, runs this
    python3 scripts/make_t5_fixtures.py --model DIR --out tests/fixtures/parity

DIR holds tokenizer/spiece.model and text_encoder{,_relu}/{config.json,model.safetensors}.
Needs only transformers, torch, safetensors and numpy (plus sentencepiece, which
transformers' T5Tokenizer itself needs). Everything in fp32 on the CPU. Writes:
  t5_tokenizer_ids.json          ids and attention masks, padding="max_length", truncation
  t5_encoder.safetensors         gated-gelu (T5 v1.1) encoder: input_ids, attention_mask,
                                 last_hidden_state (with the mask), last_hidden_state_nomask
  t5_encoder_relu.safetensors    the same for the relu (T5 v1.0) encoder
"""
import argparse
import json
import os
import sys

import numpy  # noqa: F401  (transformers and torch need it)
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import T5Config, T5EncoderModel, T5Tokenizer

LONG = (
    "a breathtaking panoramic view of an ancient city built into the cliffs of a canyon at sunset, "
    "intricate stone bridges, hanging gardens, waterfalls, warm golden light, volumetric fog, "
    "highly detailed, 8 k, trending on artstation, by greg rutkowski and alphonse mucha, "
    "concept art, matte painting, octane render, unreal engine 5, sharp focus, cinematic lighting, "
)

# (text, max_length): punctuation, numbers, non-ASCII (accents, CJK, emoji), runs of spaces,
# special tokens written in the text, over-long prompts (120 and 300 as the PixArt pipelines
# use), the empty prompt.
CASES = [
    ("A man riding a horse on the beach.", 120),
    ("portrait of a cat, oil painting; (masterpiece) [detailed] {fantasy} -- 4k!!! #art @home 50% & more?", 120),
    ("3 apples, 12 oranges and 1,000,000 grapes in 2024 at 3.14 pm: 7/8 done", 120),
    ("café naïve Ünïcødé résumé, Ångström, Zürich, São Paulo", 120),
    ("日本語の文 东京 夜景 and 한국어 text", 120),
    ("a cute robot 🤖 with a 🐱 and a 🚀, ✨ sparkles ✨", 120),
    ("   lots   of     spaces\tand\ttabs\nand newlines   ", 120),
    ("Ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ ① ② ½ ﬁ ligature", 120),
    ("a </s> b <pad> c <unk> d", 120),
    ("x <extra_id_0> y<extra_id_99>z <extra_id_100> <extra_id_07> end </s>", 120),
    ("ends with eos </s>", 120),
    ("", 120),
    ("", 300),
    (LONG * 4, 120),
    (LONG * 9, 300),
    (LONG * 2 + "</s>" + LONG, 120),
    ("short prompt, padded to 300", 300),
]


def emulate(sp, text, max_length, extra_ids=100):
    """transformers' T5Tokenizer rules written out on sentencepiece (a cross-check)."""
    import re
    size = sp.get_piece_size()
    pat = re.compile(r"<pad>|</s>|<unk>|<extra_id_(\d+)>")
    parts, pos = [], 0
    for m in pat.finditer(text):
        if m.group(1) is not None and (str(int(m.group(1))) != m.group(1) or int(m.group(1)) >= extra_ids):
            continue
        parts.append((text[pos:m.start()], None))
        tid = {"<pad>": 0, "</s>": 1, "<unk>": 2}.get(m.group(0))
        if tid is None:
            tid = size - 1 + extra_ids - int(m.group(1))
        parts.append((m.group(0), tid))
        pos = m.end()
    parts.append((text[pos:], None))
    parts = [list(p) for p in parts if p[0]]
    for i, (t, tid) in enumerate(parts):
        if tid is not None and t.startswith("<extra_id_"):
            if i + 1 < len(parts) and parts[i + 1][1] is None:
                parts[i + 1][0] = parts[i + 1][0].lstrip()
            if i > 0 and parts[i - 1][1] is None:
                parts[i - 1][0] = parts[i - 1][0].rstrip()
    ids = []
    for t, tid in parts:
        if not t:
            continue
        ids += [tid] if tid is not None else [sp.piece_to_id(p) for p in sp.encode(t, out_type=str)]
    if len(ids) + 1 > max_length:
        ids = ids[: max_length - 1]
    if not ids or ids[-1] != 1:
        ids.append(1)
    return ids + [0] * (max_length - len(ids)), [1] * len(ids) + [0] * (max_length - len(ids))


def tokenizer_refs(model_dir):
    tok = T5Tokenizer.from_pretrained(os.path.join(model_dir, "tokenizer"))
    try:
        import sentencepiece as spm
        sp = spm.SentencePieceProcessor()
        sp.Load(os.path.join(model_dir, "tokenizer", "spiece.model"))
    except ImportError:
        sp = None
    # truncation that ends on a </s> written in the text: no second </s> is added
    cut = "a red cat </s> on a blue mat"
    cut_ids = tok(cut, add_special_tokens=False)["input_ids"]
    cases = CASES + [(cut, cut_ids.index(1) + 2)]
    out = []
    for text, n in cases:
        enc = tok(text, padding="max_length", max_length=n, truncation=True, add_special_tokens=True)
        ids, mask = list(enc["input_ids"]), list(enc["attention_mask"])
        assert len(ids) == n, (text, len(ids))
        if sp is not None:
            e_ids, e_mask = emulate(sp, text, n)
            if (e_ids, e_mask) != (ids, mask):
                print(f"NOTE: the sentencepiece emulation of T5Tokenizer differs on {text!r}:\n{e_ids}\n{ids}",
                      file=sys.stderr)
        out.append({"text": text, "max_length": n, "input_ids": ids, "attention_mask": mask})
    return tok, out


def encoder_refs(model_dir, sub, tok):
    folder = os.path.join(model_dir, sub)
    cfg = T5Config.from_json_file(os.path.join(folder, "config.json"))
    m = T5EncoderModel(cfg)
    sd = load_file(os.path.join(folder, "model.safetensors"))
    missing, unexpected = m.load_state_dict(sd, strict=False)
    # catimage's key names must be transformers' key names (embed_tokens is tied to shared)
    assert not unexpected and set(missing) <= {"encoder.embed_tokens.weight"}, (missing, unexpected)
    m.eval()
    texts = ["A man riding a horse on the beach, 3 apples!", "", LONG * 2]
    enc = tok(texts, padding="max_length", max_length=24, truncation=True, add_special_tokens=True,
              return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    with torch.no_grad():
        h = m(input_ids=ids, attention_mask=mask).last_hidden_state
        h_nomask = m(input_ids=ids).last_hidden_state
    return {"input_ids": ids.to(torch.int64).contiguous(), "attention_mask": mask.to(torch.int64).contiguous(),
            "last_hidden_state": h.float().contiguous(), "last_hidden_state_nomask": h_nomask.float().contiguous()}


def half_refs(model_dir, sub, tok, device, out_dir):
    """transformers' own fp16 and bf16 loads (from_pretrained: fp16 keeps `wo` in fp32) on
    `device`, for the same ids; plus an fp16 overflow case (embeddings and block 0's attention
    output scaled up so the residual overflows and transformers' inf clamp acts): its weights
    are written beside the references so catimage loads the very same values."""
    folder = os.path.join(model_dir, sub)
    texts = ["A man riding a horse on the beach, 3 apples!", "", LONG * 2]
    enc = tok(texts, padding="max_length", max_length=24, truncation=True, add_special_tokens=True,
              return_tensors="pt")
    ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
    big = os.path.join(out_dir, sub + "_big")
    os.makedirs(big, exist_ok=True)
    sd = load_file(os.path.join(folder, "model.safetensors"))
    sd["shared.weight"] = sd["shared.weight"] * 1.2e4
    sd["encoder.block.0.layer.0.SelfAttention.o.weight"] = sd["encoder.block.0.layer.0.SelfAttention.o.weight"] * 2e4
    save_file(sd, os.path.join(big, "model.safetensors"), {"format": "pt"})
    with open(os.path.join(folder, "config.json")) as f, open(os.path.join(big, "config.json"), "w") as g:
        g.write(f.read())
    out = {}
    for name, path in (("", folder), ("big_", big)):
        for dt_name, dt in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
            if name and dt is torch.bfloat16:
                continue
            try:
                m = T5EncoderModel.from_pretrained(path, dtype=dt)
            except TypeError:
                m = T5EncoderModel.from_pretrained(path, torch_dtype=dt)
            m = m.to(device).eval()
            wo = m.encoder.block[0].layer[1].DenseReluDense.wo.weight.dtype
            print(f"{sub} {name}{dt_name}: wo {wo}, q {m.encoder.block[0].layer[0].SelfAttention.q.weight.dtype}",
                  file=sys.stderr)
            with torch.no_grad():
                h = m(input_ids=ids, attention_mask=mask).last_hidden_state
            out[f"{name}last_hidden_state_{dt_name}"] = h.float().cpu().contiguous()
    out["input_ids"], out["attention_mask"] = ids.cpu().contiguous(), mask.cpu().contiguous()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="tiny-t5 folder with catimage's random weights")
    ap.add_argument("--out", required=True)
    ap.add_argument("--half-device", default="",
                    help="also write t5_encoder*_half.safetensors: fp16/bf16 outputs on this device (e.g. cuda)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)
    tok, cases = tokenizer_refs(a.model)
    meta = {"transformers": transformers.__version__, "torch": torch.__version__}
    with open(os.path.join(a.out, "t5_tokenizer_ids.json"), "w", encoding="utf-8") as f:
        json.dump({"made_with": meta, "cases": cases}, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    for sub, name in (("text_encoder", "t5_encoder"), ("text_encoder_relu", "t5_encoder_relu")):
        save_file(encoder_refs(a.model, sub, tok), os.path.join(a.out, name + ".safetensors"),
                  {k: str(v) for k, v in meta.items()})
        if a.half_device:
            save_file(half_refs(a.model, sub, tok, a.half_device, a.out), os.path.join(a.out, name + "_half.safetensors"),
                      {k: str(v) for k, v in meta.items()})
    print("wrote", a.out, meta, file=sys.stderr)


if __name__ == "__main__":
    main()
