#!/usr/bin/env python3
"""Reference outputs for catimage's parity tests (tests/fixtures/parity/), computed by the
public diffusers sources on the tiny random-weight models catimage writes itself.

    bash scripts/make_parity_fixtures.sh     # builds the models, sets PYTHONPATH, runs this

What runs here: diffusers' own UNet2DConditionModel, AutoencoderKL, AutoencoderTiny and
schedulers (loaded from the same folders catimage reads, strict state-dict loading), the
denoising loop as diffusers' StableDiffusion(XL)Pipeline.__call__ writes it, and, for the
CLIP text encoders, OpenAI CLIP's reference text transformer (clip/model.py) with the
transformers-format weights mapped onto it (transformers itself is not available offline
here). Everything in fp32 on the CPU. Nothing of diffusers or CLIP is committed: only the
tensors written by this script.
"""
import argparse
import json
import os

import torch

from diffusers import (AutoencoderKL, AutoencoderTiny, DDIMScheduler, DPMSolverMultistepScheduler,
                       EulerAncestralDiscreteScheduler, EulerDiscreteScheduler, LCMScheduler, UNet2DConditionModel)
from safetensors.torch import load_file, save_file

from fixture_io import load_model, openai_clip, token_ids




class ClipText(torch.nn.Module):
    """OpenAI CLIP's text transformer (clip/model.py) carrying transformers-format weights."""

    def __init__(self, folder, clip_model):
        super().__init__()
        cfg = json.load(open(os.path.join(folder, "config.json")))
        sd = load_file(os.path.join(folder, "model.safetensors"))
        width, layers, heads = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"]
        self.cfg = cfg
        mask = torch.empty(77, 77).fill_(float("-inf")).triu_(1)
        self.transformer = clip_model.Transformer(width, layers, heads, attn_mask=mask)
        self.token_embedding = torch.nn.Embedding(cfg["vocab_size"], width)
        self.positional_embedding = torch.nn.Parameter(torch.empty(77, width))
        self.ln_final = clip_model.LayerNorm(width, eps=cfg.get("layer_norm_eps", 1e-5))
        p = "text_model."
        with torch.no_grad():
            self.token_embedding.weight.copy_(sd[p + "embeddings.token_embedding.weight"])
            self.positional_embedding.copy_(sd[p + "embeddings.position_embedding.weight"])
            self.ln_final.weight.copy_(sd[p + "final_layer_norm.weight"])
            self.ln_final.bias.copy_(sd[p + "final_layer_norm.bias"])
            for i, blk in enumerate(self.transformer.resblocks):
                q = f"{p}encoder.layers.{i}."
                a = blk.attn
                a.in_proj_weight.copy_(torch.cat([sd[q + f"self_attn.{n}_proj.weight"] for n in "qkv"]))
                a.in_proj_bias.copy_(torch.cat([sd[q + f"self_attn.{n}_proj.bias"] for n in "qkv"]))
                a.out_proj.weight.copy_(sd[q + "self_attn.out_proj.weight"])
                a.out_proj.bias.copy_(sd[q + "self_attn.out_proj.bias"])
                for mine, theirs in (("ln_1", "layer_norm1"), ("ln_2", "layer_norm2")):
                    getattr(blk, mine).weight.copy_(sd[q + theirs + ".weight"])
                    getattr(blk, mine).bias.copy_(sd[q + theirs + ".bias"])
                    getattr(blk, mine).eps = cfg.get("layer_norm_eps", 1e-5)
                inner = sd[q + "mlp.fc1.weight"].shape[0]
                blk.mlp.c_fc = torch.nn.Linear(width, inner)
                blk.mlp.c_proj = torch.nn.Linear(inner, width)
                blk.mlp.c_fc.weight.copy_(sd[q + "mlp.fc1.weight"])
                blk.mlp.c_fc.bias.copy_(sd[q + "mlp.fc1.bias"])
                blk.mlp.c_proj.weight.copy_(sd[q + "mlp.fc2.weight"])
                blk.mlp.c_proj.bias.copy_(sd[q + "mlp.fc2.bias"])
                if cfg["hidden_act"] == "gelu":
                    blk.mlp.gelu = torch.nn.GELU()
        self.projection = sd.get("text_projection.weight")
        self.eval()

    def forward(self, ids):
        x = self.token_embedding(ids) + self.positional_embedding
        x = x.permute(1, 0, 2)
        blocks = list(self.transformer.resblocks)
        for blk in blocks[:-1]:
            x = blk(x)
        penultimate = x.permute(1, 0, 2)
        x = blocks[-1](x).permute(1, 0, 2)
        last = self.ln_final(x)
        eos = self.cfg["eos_token_id"]
        at = ids.argmax(-1) if eos == 2 else (ids == eos).int().argmax(-1)
        pooled = last[torch.arange(ids.shape[0]), at]
        proj = pooled @ self.projection.T if self.projection is not None else None
        return last, penultimate, pooled, proj




SCHEDULERS = {"ddim": DDIMScheduler, "euler": EulerDiscreteScheduler, "euler_ancestral": EulerAncestralDiscreteScheduler,
              "dpmpp_2m": DPMSolverMultistepScheduler, "lcm": LCMScheduler}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True, help="folder with tiny-sd1, tiny-sd2, tiny-sdxl, tiny-taesd (with weights)")
    ap.add_argument("--clip", required=True, help="OpenAI CLIP checkout's clip/ folder (model.py, simple_tokenizer.py)")
    ap.add_argument("--vocab", required=True, help="tests/fixtures/clip-tiny-vocab")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)
    clip_model, tok, vocab = openai_clip(a.clip, a.vocab)

    t, ref = {}, {"diffusers": __import__("diffusers").__version__, "torch": torch.__version__, "schedulers": {}, "pipelines": {}}
    g = torch.Generator().manual_seed(1234)
    M = lambda n: os.path.join(a.models, n)

    # --- text encoders -------------------------------------------------------------------
    prompts = ["a red cube on a table", "Two dogs, neon signs at dusk!", "", "an astronaut's horse -- 4K, (masterpiece:1.2)"]
    encoders = {"sd1": (M("tiny-sd1/text_encoder"), "<|endoftext|>"), "sd2": (M("tiny-sd2/text_encoder"), "!"),
                "sdxl1": (M("tiny-sdxl/text_encoder"), "<|endoftext|>"), "sdxl2": (M("tiny-sdxl/text_encoder_2"), "!")}
    te = {}
    for k, (folder, pad) in encoders.items():
        te[k] = (ClipText(folder, clip_model), pad)
        ids = token_ids(tok, prompts, vocab, pad)
        last, pen, pooled, proj = te[k][0](ids)
        t[f"te.{k}.ids"] = ids.float()
        t[f"te.{k}.last"], t[f"te.{k}.penultimate"], t[f"te.{k}.pooled"] = last, pen, pooled
        if proj is not None:
            t[f"te.{k}.text_embeds"] = proj
    ref["prompts"] = prompts

    # --- UNets, VAE, TAESD -----------------------------------------------------------------
    unets = {k: load_model(UNet2DConditionModel, M(f"tiny-{k}/unet")) for k in ("sd1", "sd2", "sdxl")}
    for k, unet in unets.items():
        x = torch.randn(2, 4, 8, 8, generator=g)
        ctx = torch.randn(2, 77, unet.config.cross_attention_dim, generator=g)
        ts = torch.tensor([999.0, 17.0])
        kw = {}
        if k == "sdxl":
            pooled = torch.randn(2, 16, generator=g)
            ids = torch.tensor([[64.0, 64, 0, 0, 64, 64], [48.0, 80, 8, 4, 64, 64]])
            kw["added_cond_kwargs"] = {"text_embeds": pooled, "time_ids": ids}
            t[f"unet.{k}.text_embeds"], t[f"unet.{k}.time_ids"] = pooled, ids
        t[f"unet.{k}.sample"], t[f"unet.{k}.context"], t[f"unet.{k}.timesteps"] = x, ctx, ts
        t[f"unet.{k}.out"] = unets[k](x, ts, encoder_hidden_states=ctx, **kw).sample
    x = torch.randn(1, 4, 7, 9, generator=g)
    ctx = torch.randn(1, 77, 32, generator=g)
    t["unet.sd2_odd.sample"], t["unet.sd2_odd.context"] = x, ctx
    t["unet.sd2_odd.out"] = unets["sd2"](x, torch.tensor([500.0]), encoder_hidden_states=ctx).sample
    vae = load_model(AutoencoderKL, M("tiny-sd1/vae"))
    z = torch.randn(2, 4, 8, 8, generator=g)
    img = torch.rand(1, 3, 16, 16, generator=g) * 2 - 1
    t["vae.latents"], t["vae.decoded"] = z, vae.decode(z).sample
    t["vae.image"], t["vae.encoded_mean"] = img, vae.encode(img).latent_dist.mean
    taesd = load_model(AutoencoderTiny, M("tiny-taesd"), missing_ok_prefix="encoder.")
    t["taesd.latents"], t["taesd.decoded"] = z, taesd.decode(z).sample

    # --- schedulers ------------------------------------------------------------------------
    sd = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
              steps_offset=1, timestep_spacing="leading")
    cases = {
        "ddim_sd": ("ddim", {**sd, "clip_sample": False, "set_alpha_to_one": False}),
        "ddim_trailing_v": ("ddim", {**sd, "clip_sample": False, "timestep_spacing": "trailing", "prediction_type": "v_prediction"}),
        "ddim_linspace_cos": ("ddim", {"beta_schedule": "squaredcos_cap_v2", "timestep_spacing": "linspace"}),
        "ddim_zero_snr_v": ("ddim", {**sd, "rescale_betas_zero_snr": True, "timestep_spacing": "trailing", "clip_sample": False,
                                     "prediction_type": "v_prediction"}),
        "euler_sd": ("euler", sd),
        "euler_linspace": ("euler", {**sd, "timestep_spacing": "linspace", "steps_offset": 0}),
        "euler_trailing_v": ("euler", {**sd, "timestep_spacing": "trailing", "prediction_type": "v_prediction"}),
        "euler_karras": ("euler", {**sd, "use_karras_sigmas": True}),
        "euler_a_sd": ("euler_ancestral", sd),
        "euler_a_trailing": ("euler_ancestral", {**sd, "timestep_spacing": "trailing"}),
        "dpmpp_2m_sd": ("dpmpp_2m", sd),
        "dpmpp_2m_linspace": ("dpmpp_2m", {**sd, "timestep_spacing": "linspace"}),
        "dpmpp_2m_trailing": ("dpmpp_2m", {**sd, "timestep_spacing": "trailing"}),
        "dpmpp_2m_karras": ("dpmpp_2m", {**sd, "use_karras_sigmas": True}),
        "dpmpp_2m_karras_v_heun": ("dpmpp_2m", {**sd, "use_karras_sigmas": True, "prediction_type": "v_prediction",
                                                "solver_type": "heun"}),
        "dpmpp_2m_no_lower_final": ("dpmpp_2m", {**sd, "lower_order_final": False, "final_sigmas_type": "sigma_min"}),
        "lcm_sd": ("lcm", sd),
        "lcm_25": ("lcm", {**sd, "original_inference_steps": 25}),
    }
    x0 = torch.randn(1, 4, 4, 4, generator=g)
    bias = torch.randn(1, 4, 4, 4, generator=g)
    t["sched.x0"], t["sched.bias"] = x0, bias
    for case, (name, cfg) in cases.items():
        entry = {"scheduler": name, "config": cfg, "runs": {}}
        for steps in (1, 2, 3, 4, 7, 10, 25, 50):
            if name == "lcm" and steps > cfg.get("original_inference_steps", 50):
                continue
            s = SCHEDULERS[name](**cfg)
            s.set_timesteps(steps)
            run = {"timesteps": [float(v) for v in s.timesteps.tolist()], "init_noise_sigma": float(s.init_noise_sigma)}
            if name in ("euler", "euler_ancestral", "dpmpp_2m"):
                run["sigmas"] = [float(v) for v in s.sigmas.tolist()]
            entry["runs"][str(steps)] = run
            if steps in (1, 4, 7):
                x = x0 * s.init_noise_sigma
                gg = [torch.Generator().manual_seed(7)]
                for ts in s.timesteps:
                    xi = s.scale_model_input(x, ts)
                    x = s.step(0.1 * xi + bias, ts, x, generator=gg).prev_sample
                t[f"sched.{case}.{steps}"] = x
        ref["schedulers"][case] = entry

    # --- pipelines: diffusers' denoising loop on these components ---------------------------
    def pipeline(case, model, scheduler, cfg_extra, steps, guidance, negatives, seeds, size, decoder=None):
        folder = M(model)
        base = json.load(open(os.path.join(folder, "scheduler", "scheduler_config.json")))
        cls = SCHEDULERS[scheduler] if scheduler else {"DDIMScheduler": DDIMScheduler,
                                                         "EulerDiscreteScheduler": EulerDiscreteScheduler}[base["_class_name"]]
        s = cls.from_config({**base, **cfg_extra})
        unet = unets[model.split("-")[1]]
        two = ["a red cube on a table", "Two dogs, neon signs at dusk!"]
        B = len(two)
        sdxl = model == "tiny-sdxl"
        if sdxl:
            def enc(texts, zero):
                e1, e2 = te["sdxl1"], te["sdxl2"]
                _, p1, _, _ = e1[0](token_ids(tok, texts, vocab, e1[1]))
                _, p2, _, proj = e2[0](token_ids(tok, texts, vocab, e2[1]))
                ctx = torch.cat([p1, p2], -1)
                if zero:
                    return torch.zeros_like(ctx), torch.zeros_like(proj)
                return ctx, proj
            ctx, pooled = enc(two, False)
            nctx, npooled = enc(negatives or [""] * B, negatives is None)
        else:
            e = te["sd1" if model == "tiny-sd1" else "sd2"]
            ctx = e[0](token_ids(tok, two, vocab, e[1]))[0]
            nctx = e[0](token_ids(tok, negatives or [""] * B, vocab, e[1]))[0]
        cfg = guidance > 1
        if decoder is None:
            dec_model = vae if model == "tiny-sd1" else load_model(AutoencoderKL, os.path.join(folder, "vae"))
            factor = 2 ** (len(dec_model.config.block_out_channels) - 1)
        else:
            dec_model, factor = decoder, 8
        s.set_timesteps(steps)
        gens = [torch.Generator().manual_seed(sd_) for sd_ in seeds]
        lat = torch.cat([torch.randn((1, 4, size // factor, size // factor), generator=gg) for gg in gens])
        lat = lat * s.init_noise_sigma
        hidden = torch.cat([nctx, ctx]) if cfg else ctx
        kw = {}
        if sdxl:
            ids = torch.tensor([[size, size, 0, 0, size, size]] * B, dtype=torch.float32)
            kw["added_cond_kwargs"] = {"text_embeds": torch.cat([npooled, pooled]) if cfg else pooled,
                                       "time_ids": torch.cat([ids, ids]) if cfg else ids}
        for ts in s.timesteps:
            inp = torch.cat([lat] * 2) if cfg else lat
            inp = s.scale_model_input(inp, ts)
            noise = unet(inp, ts, encoder_hidden_states=hidden, **kw).sample
            if cfg:
                u, c = noise.chunk(2)
                noise = u + guidance * (c - u)
            lat = s.step(noise, ts, lat, generator=gens).prev_sample
        image = dec_model.decode(lat / dec_model.config.scaling_factor).sample
        image = (image / 2 + 0.5).clamp(0, 1)
        t[f"pipe.{case}.latents"], t[f"pipe.{case}.image"] = lat, image
        ref["pipelines"][case] = {"model": model, "scheduler": scheduler or "", "scheduler_config": cfg_extra,
                                  "steps": steps, "guidance": guidance, "negatives": negatives, "seeds": seeds,
                                  "size": size, "prompts": two, "decoder": "tiny-taesd" if decoder is not None else "",
                                  "saturated_fraction": float(((image <= 0) | (image >= 1)).float().mean())}

    pipeline("sd1_ddim", "tiny-sd1", None, {}, 4, 5.0, ["blurry", ""], [3, 1234], 16)
    pipeline("sd1_euler_karras", "tiny-sd1", "euler", {"use_karras_sigmas": True}, 4, 5.0, None, [3, 1234], 16)
    pipeline("sd1_dpmpp", "tiny-sd1", "dpmpp_2m", {}, 5, 3.0, None, [3, 1234], 16)
    pipeline("sd1_lcm", "tiny-sd1", "lcm", {}, 3, 1.0, None, [3, 1234], 16)
    pipeline("sd1_taesd", "tiny-sd1", None, {}, 2, 5.0, None, [3, 1234], 32, decoder=taesd)
    pipeline("sd2_euler_a", "tiny-sd2", "euler_ancestral", {}, 2, 0.0, None, [5, 6], 16)
    pipeline("sd2_euler", "tiny-sd2", None, {}, 3, 4.0, ["ugly", "dark"], [5, 6], 16)
    pipeline("sdxl_euler", "tiny-sdxl", None, {}, 3, 5.0, None, [8, 9], 16)
    pipeline("sdxl_euler_neg", "tiny-sdxl", None, {}, 2, 5.0, ["blurry", "low quality"], [8, 9], 16)
    pipeline("sdxl_turbo", "tiny-sdxl", "euler_ancestral", {"timestep_spacing": "trailing"}, 1, 0.0, None, [8, 9], 16)

    os.makedirs(a.out, exist_ok=True)
    save_file({k: v.contiguous().float() for k, v in t.items()}, os.path.join(a.out, "reference.safetensors"))
    with open(os.path.join(a.out, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(ref, f, indent=1)
    for k, v in ref["pipelines"].items():
        print(k, "saturated", round(v["saturated_fraction"], 3))


if __name__ == "__main__":
    main()
