"""Helpers the fixture scripts (scripts/make_*_fixtures.py) share: loading a tiny model folder
catimage wrote into the reference library's class, and CLIP token ids as catimage's tokenizer
pads them. The reference libraries themselves come from PYTHONPATH (never committed)."""
import json
import os

import torch
from safetensors.torch import load_file


def load_model(cls, folder, missing_ok_prefix=None):
    """cls (a diffusers ModelMixin) built from folder/config.json, with the weights catimage wrote
    in folder/diffusion_pytorch_model.safetensors loaded strictly: catimage's key names must be
    diffusers' key names. Keys under `missing_ok_prefix` may be absent (TAESD's encoder, which
    catimage does not write), nothing may be unexpected. In eval mode."""
    m = cls.from_config(json.load(open(os.path.join(folder, "config.json"))))
    sd = load_file(os.path.join(folder, "diffusion_pytorch_model.safetensors"))
    if missing_ok_prefix is None:
        m.load_state_dict(sd, strict=True)
    else:
        missing, unexpected = m.load_state_dict(sd, strict=False)
        assert not unexpected and all(k.startswith(missing_ok_prefix) for k in missing), (missing, unexpected)
    return m.eval()


def token_ids(tok, texts, vocab, pad):
    """CLIP ids (len(texts), 77): <|startoftext|>, at most 75 BPE ids of tok.encode(text),
    <|endoftext|>, then `pad` tokens, as CLIPTokenizer with padding="max_length" gives them."""
    bos, eos = vocab["<|startoftext|>"], vocab["<|endoftext|>"]
    out = []
    for t in texts:
        ids = [bos] + tok.encode(t)[:75] + [eos]
        out.append(ids + [vocab[pad]] * (77 - len(ids)))
    return torch.tensor(out)


def openai_clip(clip_dir, vocab_dir):
    """OpenAI CLIP's reference code (the clip/ folder of its checkout: model.py and
    simple_tokenizer.py, put on sys.path) with its BPE tokenizer built from the tiny vocabulary
    in vocab_dir (merges.txt, vocab.json). Without ftfy its text fixer is the identity, which is
    what ftfy.fix_text does to the plain-ASCII prompts of the fixtures.
    Returns (the clip/model.py module, the SimpleTokenizer, the vocabulary dict)."""
    import gzip
    import sys
    import tempfile
    import types

    sys.path.insert(0, clip_dir)
    try:
        import ftfy  # noqa: F401  (simple_tokenizer's text fixer)
    except ImportError:
        sys.modules["ftfy"] = types.SimpleNamespace(fix_text=lambda s: s)
    import model as clip_model
    import simple_tokenizer

    merges = open(os.path.join(vocab_dir, "merges.txt"), encoding="utf-8").read().rstrip("\n")
    gz = os.path.join(tempfile.mkdtemp(), "bpe.txt.gz")
    gzip.open(gz, "wb").write(merges.encode("utf-8"))
    vocab = json.load(open(os.path.join(vocab_dir, "vocab.json"), encoding="utf-8"))
    return clip_model, simple_tokenizer.SimpleTokenizer(gz), vocab
