#!/usr/bin/env python3
"""Reference outputs for catimage's PixArt parity tests (tests/fixtures/parity/pixart_*),
computed by the public diffusers v0.27.2 sources on the tiny random-weight PixArt folders
catimage writes itself.

    bash scripts/make_pixart_fixtures.sh     # builds the folders, sets PYTHONPATH, runs this

What runs here: diffusers' Transformer2DModel (norm_type "ada_norm_single", as PixArt's
folders name it; strict state-dict loading from catimage's safetensors, so the key names
must be diffusers'), get_2d_sincos_pos_embed, PixArtAlphaPipeline.__call__ from given
prompt_embeds / prompt_attention_mask / negative_prompt_embeds /
negative_prompt_attention_mask (no text encoder: its T5 is checked by the T5 fixtures) with
one generator per image, and the pipeline's resolution-binning helpers. fp32 on the CPU.
"""
import argparse
import json
import os

import torch

from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, PixArtAlphaPipeline, Transformer2DModel
from diffusers.models.embeddings import get_2d_sincos_pos_embed
from diffusers.pipelines.pixart_alpha.pipeline_pixart_alpha import ASPECT_RATIO_512_BIN, ASPECT_RATIO_1024_BIN
from safetensors.torch import save_file

from fixture_io import load_model




def mask_of(lengths, L):
    return torch.tensor([[1] * n + [0] * (L - n) for n in lengths], dtype=torch.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True, help="folder with tiny-pixart and tiny-pixart-ms (with weights)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)
    M = lambda *p: os.path.join(a.models, *p)
    t, ref = {}, {"diffusers": __import__("diffusers").__version__, "torch": torch.__version__,
                  "transformer": {}, "pipelines": {}, "bins": []}
    g = torch.Generator().manual_seed(4321)

    # --- 2-D sin-cos position embeddings ---------------------------------------------------
    for name, (dim, grid, base, scale) in {"square": (24, (4, 4), 4, 1), "wide": (24, (3, 5), 4, 1),
                                           "tall_ms": (24, (6, 4), 64, 2), "half": (16, (5, 3), 16, 0.5)}.items():
        t[f"pos.{name}"] = torch.from_numpy(get_2d_sincos_pos_embed(dim, grid, base_size=base,
                                                                    interpolation_scale=scale)).float()
        ref.setdefault("pos", {})[name] = {"dim": dim, "grid": list(grid), "base_size": base, "interpolation_scale": scale}

    # --- transformer forward ---------------------------------------------------------------
    models = {k: load_model(Transformer2DModel, M(k, "transformer")) for k in ("tiny-pixart", "tiny-pixart-ms")}
    assert not models["tiny-pixart"].use_additional_conditions and models["tiny-pixart-ms"].use_additional_conditions
    cases = {
        "masked": ("tiny-pixart", (2, 4, 8, 8), [999.0, 17.0], [7, 12], 12, False),
        "unmasked": ("tiny-pixart", (2, 4, 8, 8), [500.0, 3.0], None, 12, False),
        "nonsquare": ("tiny-pixart", (1, 4, 6, 10), [250.0], [3], 9, False),
        "ms_masked": ("tiny-pixart-ms", (2, 4, 8, 12), [999.0, 40.0], [5, 9], 9, True),
    }
    for case, (model, shape, steps, lengths, L, micro) in cases.items():
        m = models[model]
        x = torch.randn(*shape, generator=g)
        ctx = torch.randn(shape[0], L, m.config.caption_channels, generator=g)
        ts = torch.tensor(steps)
        kw = {"added_cond_kwargs": {"resolution": None, "aspect_ratio": None}}
        if micro:
            res = torch.tensor([[64.0, 96.0], [48.0, 80.0]])[: shape[0]]
            ar = (res[:, :1] / res[:, 1:]).clone()
            kw["added_cond_kwargs"] = {"resolution": res, "aspect_ratio": ar}
            t[f"tr.{case}.resolution"], t[f"tr.{case}.aspect_ratio"] = res, ar
        if lengths is not None:
            mask = mask_of(lengths, L)
            kw["encoder_attention_mask"] = mask
            t[f"tr.{case}.mask"] = mask.float()
        t[f"tr.{case}.sample"], t[f"tr.{case}.context"], t[f"tr.{case}.timesteps"] = x, ctx, ts
        t[f"tr.{case}.out"] = m(x, encoder_hidden_states=ctx, timestep=ts, return_dict=False, **kw)[0]
        ref["transformer"][case] = {"model": model, "micro": micro, "masked": lengths is not None}

    # --- pipeline from given embeddings ----------------------------------------------------
    def pipeline(case, model, steps, guidance, seeds, height, width, pos_len, neg_len, L=16):
        folder = M(model)
        sched = DPMSolverMultistepScheduler.from_config(
            json.load(open(os.path.join(folder, "scheduler", "scheduler_config.json"))))
        pipe = PixArtAlphaPipeline(tokenizer=None, text_encoder=None, transformer=models[model],
                                   vae=load_model(AutoencoderKL, os.path.join(folder, "vae")), scheduler=sched)
        B = len(seeds)
        D = models[model].config.caption_channels
        pe, pm = torch.randn(B, L, D, generator=g), mask_of(pos_len, L)
        ne, nm = torch.randn(B, L, D, generator=g), mask_of(neg_len, L)
        kw = dict(negative_prompt=None, num_inference_steps=steps, guidance_scale=guidance, height=height, width=width,
                  prompt_embeds=pe, prompt_attention_mask=pm, use_resolution_binning=False)
        if guidance > 1:
            kw.update(negative_prompt_embeds=ne, negative_prompt_attention_mask=nm)
        gens = lambda: [torch.Generator().manual_seed(s) for s in seeds]
        lat = pipe(generator=gens(), output_type="latent", **kw).images
        img = pipe(generator=gens(), output_type="pt", **kw).images
        u8 = (img.permute(0, 2, 3, 1) * 255).round().to(torch.uint8)  # diffusers' numpy_to_pil
        t[f"pipe.{case}.embeds"], t[f"pipe.{case}.mask"] = pe, pm.float()
        t[f"pipe.{case}.neg_embeds"], t[f"pipe.{case}.neg_mask"] = ne, nm.float()
        t[f"pipe.{case}.latents"], t[f"pipe.{case}.image"], t[f"pipe.{case}.uint8"] = lat, img, u8.float()
        ref["pipelines"][case] = {"model": model, "steps": steps, "guidance": guidance, "seeds": seeds,
                                  "height": height, "width": width,
                                  "saturated_fraction": float(((img <= 0) | (img >= 1)).float().mean())}

    pipeline("alpha_cfg", "tiny-pixart", 4, 4.5, [3, 1234], 16, 16, [5, 9], [1, 1])
    pipeline("alpha_nocfg_tall", "tiny-pixart", 3, 1.0, [5, 6], 24, 16, [16, 2], [1, 1])
    pipeline("ms_cfg_wide", "tiny-pixart-ms", 3, 3.0, [8, 9], 16, 24, [4, 11], [1, 1])

    # --- resolution binning ----------------------------------------------------------------
    for ss, table in ((64, ASPECT_RATIO_512_BIN), (128, ASPECT_RATIO_1024_BIN)):
        for h, w in ((512, 512), (768, 512), (512, 768), (1000, 300), (300, 1000), (600, 610), (1024, 576)):
            bh, bw = PixArtAlphaPipeline.classify_height_width_bin(h, w, ratios=table)
            ref["bins"].append({"sample_size": ss, "height": h, "width": w, "binned": [bh, bw]})
    img = torch.rand(1, 3, 20, 30, generator=g) * 2 - 1
    t["resize.in"] = img
    t["resize.out"] = PixArtAlphaPipeline.resize_and_crop_tensor(img, new_width=17, new_height=13)

    os.makedirs(a.out, exist_ok=True)
    save_file({k: v.contiguous().float() for k, v in t.items()}, os.path.join(a.out, "pixart_reference.safetensors"))
    with open(os.path.join(a.out, "pixart_reference.json"), "w", encoding="utf-8") as f:
        json.dump(ref, f, indent=1)
    for k, v in ref["pipelines"].items():
        print(k, "saturated", round(v["saturated_fraction"], 3))


if __name__ == "__main__":
    main()
