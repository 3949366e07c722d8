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
