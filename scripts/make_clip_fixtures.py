#!/usr/bin/env python3
"""Reference outputs for catimage's CLIP scoring tests (tests/test_scoring.cpp):
tests/fixtures/parity/clip_model.safetensors (+ clip_model.json) and the small synthetic PNG
images in tests/fixtures/scoring/.

    bash scripts/make_clip_fixtures.sh     # writes the tiny model's weights, runs this

What runs here:
  * the model: OpenAI CLIP's reference VisionTransformer and text Transformer (clip/model.py)
    carrying the transformers-format CLIPModel weights catimage wrote for
    tests/fixtures/tiny-clip (transformers itself is not available offline here); outputs as
    transformers' CLIPModel defines them: get_image_features, get_text_features, and
    logits_per_image = exp(logit_scale) * normalised image @ normalised text^T;
  * the image preprocessing: transformers' CLIPImageProcessor steps written out with PIL
    (convert("RGB"), Image.resize(..., BICUBIC, reducing_gap=None) of the shortest edge,
    centre crop at ((H - h) // 2, (W - w) // 2), rescale in float64, normalise in float32).
Everything in fp32 on the CPU. Nothing of CLIP is committed: only the tensors written here.
"""
import argparse
import json
import os

import numpy as np
import torch
from PIL import Image

from safetensors.torch import load_file, save_file

from fixture_io import openai_clip, token_ids


def copy_blocks(transformer, sd, prefix, cfg):
    """transformers' encoder layers (q/k/v/out_proj, layer_norm1/2, mlp.fc1/fc2) onto OpenAI's resblocks."""
    width, eps = cfg["hidden_size"], cfg.get("layer_norm_eps", 1e-5)
    for i, blk in enumerate(transformer.resblocks):
        q = f"{prefix}encoder.layers.{i}."
        a = blk.attn
        a.in_proj_weight.copy_(torch.cat([sd[q + f"self_attn.{n}_proj.weight"] for n in "qkv"]))
        a.in_proj_bias.copy_(torch.cat([sd[q + f"self_attn.{n}_proj.bias"] for n in "qkv"]))
        a.out_proj.weight.copy_(sd[q + "self_attn.out_proj.weight"])
        a.out_proj.bias.copy_(sd[q + "self_attn.out_proj.bias"])
        for mine, theirs in (("ln_1", "layer_norm1"), ("ln_2", "layer_norm2")):
            getattr(blk, mine).weight.copy_(sd[q + theirs + ".weight"])
            getattr(blk, mine).bias.copy_(sd[q + theirs + ".bias"])
            getattr(blk, mine).eps = eps
        inner = sd[q + "mlp.fc1.weight"].shape[0]
        blk.mlp.c_fc = torch.nn.Linear(width, inner)
        blk.mlp.c_proj = torch.nn.Linear(inner, width)
        blk.mlp.c_fc.weight.copy_(sd[q + "mlp.fc1.weight"])
        blk.mlp.c_fc.bias.copy_(sd[q + "mlp.fc1.bias"])
        blk.mlp.c_proj.weight.copy_(sd[q + "mlp.fc2.weight"])
        blk.mlp.c_proj.bias.copy_(sd[q + "mlp.fc2.bias"])
        if cfg.get("hidden_act", "quick_gelu") == "gelu":
            blk.mlp.gelu = torch.nn.GELU()


def copy_ln(ln, sd, key, eps):
    ln.weight.copy_(sd[key + ".weight"])
    ln.bias.copy_(sd[key + ".bias"])
    ln.eps = eps


class Vision(torch.nn.Module):
    """OpenAI CLIP's VisionTransformer with CLIPModel's vision_model.* and visual_projection.weight."""

    def __init__(self, cfg, sd, clip_model):
        super().__init__()
        v = cfg["vision_config"]
        width, eps = v["hidden_size"], v.get("layer_norm_eps", 1e-5)
        self.vt = clip_model.VisionTransformer(input_resolution=v["image_size"], patch_size=v["patch_size"], width=width,
                                               layers=v["num_hidden_layers"], heads=v["num_attention_heads"],
                                               output_dim=cfg["projection_dim"])
        p = "vision_model."
        with torch.no_grad():
            self.vt.conv1.weight.copy_(sd[p + "embeddings.patch_embedding.weight"])
            self.vt.class_embedding.copy_(sd[p + "embeddings.class_embedding"])
            self.vt.positional_embedding.copy_(sd[p + "embeddings.position_embedding.weight"])
            copy_ln(self.vt.ln_pre, sd, p + "pre_layrnorm", eps)
            copy_ln(self.vt.ln_post, sd, p + "post_layernorm", eps)
            copy_blocks(self.vt.transformer, sd, p, v)
            self.vt.proj.copy_(sd["visual_projection.weight"].T)  # OpenAI: x @ proj
        self.eval()

    def forward(self, pixel_values):
        return self.vt(pixel_values)


class Text(torch.nn.Module):
    """OpenAI CLIP's text transformer with CLIPModel's text_model.* and text_projection.weight."""

    def __init__(self, cfg, sd, clip_model):
        super().__init__()
        t = cfg["text_config"]
        width, eps = t["hidden_size"], t.get("layer_norm_eps", 1e-5)
        self.cfg = t
        n_pos = t.get("max_position_embeddings", 77)
        mask = torch.empty(n_pos, n_pos).fill_(float("-inf")).triu_(1)
        self.transformer = clip_model.Transformer(width, t["num_hidden_layers"], t["num_attention_heads"], attn_mask=mask)
        self.token_embedding = torch.nn.Embedding(t["vocab_size"], width)
        self.positional_embedding = torch.nn.Parameter(torch.empty(n_pos, width))
        self.ln_final = clip_model.LayerNorm(width, eps=eps)
        p = "text_model."
        with torch.no_grad():
            self.token_embedding.weight.copy_(sd[p + "embeddings.token_embedding.weight"])
            self.positional_embedding.copy_(sd[p + "embeddings.position_embedding.weight"])
            copy_ln(self.ln_final, sd, p + "final_layer_norm", eps)
            copy_blocks(self.transformer, sd, p, t)
        self.projection = sd["text_projection.weight"]
        self.eval()

    def forward(self, ids):
        x = self.token_embedding(ids) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        eos = self.cfg.get("eos_token_id", 2)
        at = ids.argmax(-1) if eos == 2 else (ids == eos).int().argmax(-1)
        return x[torch.arange(ids.shape[0]), at] @ self.projection.T




def clip_image_processor(img, pp):
    """transformers' CLIPImageProcessor.preprocess for one PIL image -> (3, h, w) float32."""
    img = img.convert("RGB")
    w, h = img.size
    n = pp["size"]["shortest_edge"]
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = n, int(n * long / short)
    oh, ow = (new_long, new_short) if w <= h else (new_short, new_long)
    img = img.resize((ow, oh), resample=pp["resample"], reducing_gap=None)
    a = np.array(img).transpose(2, 0, 1)  # (3, oh, ow) uint8
    ch, cw = pp["crop_size"]["height"], pp["crop_size"]["width"]
    top, left = (oh - ch) // 2, (ow - cw) // 2
    assert top >= 0 and left >= 0
    a = a[:, top:top + ch, left:left + cw]
    a = (a.astype(np.float64) * pp["rescale_factor"]).astype(np.float32)
    mean = np.array(pp["image_mean"], dtype=np.float32)[:, None, None]
    std = np.array(pp["image_std"], dtype=np.float32)[:, None, None]
    return (a - mean) / std


def synthetic_images():
    """Small deterministic RGB images: (name, HxWx3 uint8). Landscape downscale, portrait
    downscale of pure noise (the worst case for 8-bit rounding), and an upscale."""
    rng = np.random.RandomState(20240611)
    y, x = np.mgrid[0:40, 0:48].astype(np.float64)
    grad = np.stack([255 * x / 47, 255 * y / 39, 127.5 + 127.5 * np.sin(x / 5.0 + y / 7.0)], -1)
    grad = np.clip(np.round(grad + rng.uniform(-8, 8, grad.shape)), 0, 255).astype(np.uint8)
    noise = rng.randint(0, 256, size=(56, 40, 3)).astype(np.uint8)
    y, x = np.mgrid[0:24, 0:20].astype(np.float64)
    small = np.stack([(x * 13 + y * 5) % 256, 255 * ((x // 4 + y // 4) % 2), 200 - 6 * y], -1)
    small = np.clip(small, 0, 255).astype(np.uint8)
    return [("gradient_48x40", grad), ("noise_40x56", noise), ("checker_20x24", small)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="the tiny-clip folder with catimage's random weights")
    ap.add_argument("--clip", required=True, help="OpenAI CLIP checkout's clip/ folder (model.py, simple_tokenizer.py)")
    ap.add_argument("--vocab", required=True, help="tests/fixtures/clip-tiny-vocab")
    ap.add_argument("--out", required=True, help="tests/fixtures/parity")
    ap.add_argument("--images", required=True, help="tests/fixtures/scoring (PNG images written here)")
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)
    clip_model, tok, vocab = openai_clip(a.clip, a.vocab)

    cfg = json.load(open(os.path.join(a.model, "config.json")))
    pp = json.load(open(os.path.join(a.model, "preprocessor_config.json")))
    sd = load_file(os.path.join(a.model, "model.safetensors"))
    vision, text = Vision(cfg, sd, clip_model), Text(cfg, sd, clip_model)

    t = {}
    g = torch.Generator().manual_seed(4321)
    size = cfg["vision_config"]["image_size"]
    pixel_values = torch.randn(2, 3, size, size, generator=g)
    prompts = ["a red cube on a table", "Two dogs, neon signs at dusk!", "",
               " ".join(["a very long prompt about a cat"] * 14)]  # more than 77 tokens: truncated
    ids = token_ids(tok, prompts, vocab, "<|endoftext|>")
    image_embeds, text_embeds = vision(pixel_values), text(ids)
    i_n = image_embeds / image_embeds.norm(dim=-1, keepdim=True)
    t_n = text_embeds / text_embeds.norm(dim=-1, keepdim=True)
    logits_per_image = (t_n @ i_n.T * sd["logit_scale"].exp()).T
    t.update({"clip.pixel_values": pixel_values, "clip.ids": ids.float(), "clip.image_embeds": image_embeds,
              "clip.text_embeds": text_embeds, "clip.logits_per_image": logits_per_image})

    os.makedirs(a.images, exist_ok=True)
    names = []
    for name, arr in synthetic_images():
        path = os.path.join(a.images, name + ".png")
        Image.fromarray(arr, "RGB").save(path, optimize=True)
        again = Image.open(path)
        assert np.array_equal(np.array(again.convert("RGB")), arr)
        t["pre." + name] = torch.from_numpy(clip_image_processor(again, pp)).unsqueeze(0).contiguous()
        names.append(name)

    t = {k: v.contiguous().float() for k, v in t.items()}
    os.makedirs(a.out, exist_ok=True)
    save_file(t, os.path.join(a.out, "clip_model.safetensors"))
    meta = {"torch": torch.__version__, "PIL": Image.__version__ if hasattr(Image, "__version__") else "",
            "prompts": prompts, "images": names}
    with open(os.path.join(a.out, "clip_model.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print("wrote", os.path.join(a.out, "clip_model.safetensors"), "with", len(t), "tensors")


if __name__ == "__main__":
    main()
