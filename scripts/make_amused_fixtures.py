#!/usr/bin/env python3
"""Reference outputs for catimage's aMUSEd tests (tests/fixtures/parity/amused_*), computed by
the public diffusers sources on the tiny random-weight aMUSEd folder catimage writes itself.

    bash scripts/make_amused_fixtures.sh     # builds the models, sets PYTHONPATH, runs this

What runs here: diffusers' own UVit2DModel, VQModel and AmusedScheduler (loaded from the same
folders catimage reads, strict state-dict loading) and diffusers' AmusedPipeline.__call__ on
them. transformers is not available offline, so the CLIP text encoder is OpenAI CLIP's
reference text transformer with the transformers-format weights mapped onto it (as
make_parity_fixtures.py does), its outputs handed to the pipeline as prompt_embeds /
encoder_hidden_states (the pipeline's own text branch computes exactly these: text_embeds and
hidden_states[-2]). Everything in fp32 on the CPU. Nothing of diffusers or CLIP is committed:
only the tensors written by this script.
"""
import argparse
import json
import os
import sys
import types

import torch

import diffusers
from diffusers import AmusedScheduler, UVit2DModel, VQModel
from safetensors.torch import save_file

from fixture_io import load_model, openai_clip, token_ids
from make_parity_fixtures import ClipText

# pipeline_amused.py imports two class names from transformers; nothing of them is used when
# the pipeline gets prompt embeddings. Stand-ins (after diffusers has checked availability).
_stub = types.ModuleType("transformers")
_stub.CLIPTextModelWithProjection = type("CLIPTextModelWithProjection", (), {})
_stub.CLIPTokenizer = type("CLIPTokenizer", (), {})
sys.modules.setdefault("transformers", _stub)
from diffusers.pipelines.amused.pipeline_amused import AmusedPipeline  # noqa: E402
from diffusers.models import attention_processor  # noqa: E402

# PyTorch 1.13's CPU baddbmm with beta=0 reads its uninitialised result buffer on small problems
# and now and then turns that garbage into NaN scores; diffusers' get_attention_scores (torch.empty
# + beta=0, AttnProcessor on PyTorch < 2) hits it with these tiny models. The same scores, without
# the garbage: a zero "mask" added with beta=1.
_get_attention_scores = attention_processor.Attention.get_attention_scores


def _attention_scores(self, query, key, attention_mask=None):
    if attention_mask is None:
        attention_mask = torch.zeros(query.shape[0], query.shape[1], key.shape[1], dtype=query.dtype)
    return _get_attention_scores(self, query, key, attention_mask)


attention_processor.Attention.get_attention_scores = _attention_scores




def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True, help="folder with tiny-amused, tiny-uvit2d-bias (with weights)")
    ap.add_argument("--clip", required=True, help="OpenAI CLIP checkout's clip/ folder (model.py, simple_tokenizer.py)")
    ap.add_argument("--vocab", required=True, help="tests/fixtures/clip-tiny-vocab")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)
    clip_model, tok, vocab = openai_clip(a.clip, a.vocab)

    t = {}
    ref = {"diffusers": diffusers.__version__, "torch": torch.__version__, "pipelines": {}, "schedulers": {}}
    g = torch.Generator().manual_seed(4321)
    root = os.path.join(a.models, "tiny-amused")
    M = lambda n: os.path.join(root, n)

    # --- modules ---------------------------------------------------------------------------
    tr = load_model(UVit2DModel, M("transformer"))
    ids = torch.randint(0, tr.config.vocab_size, (2, 4, 4), generator=g)
    ids[0, 1, 2] = ids[1, 3, 0] = 39  # the mask token
    ehs = torch.randn(2, 7, tr.config.encoder_hidden_size, generator=g)
    pooled = torch.randn(2, tr.config.cond_embed_dim, generator=g)
    micro = torch.tensor([[16.0, 16, 0, 0, 6], [32, 48, 4, 8, 5.5]])
    t.update({"uvit.ids": ids.float(), "uvit.ehs": ehs, "uvit.pooled": pooled, "uvit.micro": micro,
              "uvit.logits": tr(ids, ehs, pooled, micro)})
    bias = load_model(UVit2DModel, os.path.join(a.models, "tiny-uvit2d-bias"))
    ids = torch.randint(0, bias.config.vocab_size, (2, 3, 5), generator=g)
    ehs = torch.randn(2, 6, bias.config.encoder_hidden_size, generator=g)
    pooled = torch.randn(2, bias.config.cond_embed_dim, generator=g)
    t.update({"uvit_bias.ids": ids.float(), "uvit_bias.ehs": ehs, "uvit_bias.pooled": pooled,
              "uvit_bias.micro": micro, "uvit_bias.logits": bias(ids, ehs, pooled, micro)})

    vq = load_model(VQModel, M("vqvae"))
    tokens = torch.randint(0, vq.config.num_vq_embeddings, (2, 4, 3), generator=g)
    shape = (2, 4, 3, vq.config.latent_channels)
    t["vq.tokens"], t["vq.decoded"] = tokens.float(), vq.decode(tokens, force_not_quantize=True, shape=shape).sample
    img = torch.rand(1, 3, 16, 16, generator=g) * 2 - 1
    latents = vq.encode(img).latents
    quant, _, (_, _, indices) = vq.quantize(latents)
    t["vq.image"], t["vq.latents"], t["vq.quantized"] = img, latents, quant
    t["vq.indices"] = indices.reshape(1, 4, 4).float()

    # --- scheduler: trajectories on fixed logits, one generator per row ----------------------
    cases = {"cosine": ({"masking_schedule": "cosine"}, 6, (2, 0), None),
             "linear_scalar_temp": ({"masking_schedule": "linear"}, 5, 1.5, "partial")}
    for case, (cfg, steps, temperature, start) in cases.items():
        s = AmusedScheduler(mask_token_id=39, **cfg)
        s.set_timesteps(steps, temperature)
        logits = torch.randn(steps, 2, 32, 4, 5, generator=g) * 3
        sample0 = torch.full((2, 4, 5), 39, dtype=torch.long)
        if start == "partial":
            keep = torch.rand(2, 4, 5, generator=g) < 0.3
            sample0 = torch.where(keep, torch.randint(0, 32, (2, 4, 5), generator=g), sample0)
        seeds = [11, 12]
        prev, pred = [], []
        for row, seed in enumerate(seeds):
            gen = torch.Generator().manual_seed(seed)
            x = sample0[row:row + 1]
            pr, po = [], []
            for i, ts in enumerate(s.timesteps):
                out = s.step(logits[i, row:row + 1], ts, x, generator=gen)
                x = out.prev_sample
                pr.append(out.prev_sample)
                po.append(out.pred_original_sample)
            prev.append(torch.stack(pr))
            pred.append(torch.stack(po))
        t[f"sched.{case}.logits"], t[f"sched.{case}.sample0"] = logits, sample0.float()
        t[f"sched.{case}.prev"] = torch.cat(prev, 1).float()  # (steps, 2, 4, 5)
        t[f"sched.{case}.pred"] = torch.cat(pred, 1).float()
        t[f"sched.{case}.temperatures"] = s.temperatures
        ref["schedulers"][case] = {"config": cfg, "steps": steps, "seeds": seeds,
                                   "temperature": list(temperature) if isinstance(temperature, tuple) else temperature,
                                   "timesteps": s.timesteps.tolist()}

    # --- the text encoder and diffusers' AmusedPipeline, batch 1 per seed ---------------------
    te = ClipText(M("text_encoder"), clip_model)
    pad = "<|endoftext|>"
    prompts = ["a red cube on a table", "Two dogs, neon signs at dusk!", "", "blurry", "low quality"]
    _, pen, _, proj = te(token_ids(tok, prompts, vocab, pad))
    t["te.ids"], t["te.penultimate"], t["te.text_embeds"] = token_ids(tok, prompts, vocab, pad).float(), pen, proj
    pipe = AmusedPipeline(vqvae=vq, tokenizer=None, text_encoder=None, transformer=tr,
                          scheduler=AmusedScheduler.from_config(json.load(open(M("scheduler/scheduler_config.json")))))
    pipe.set_progress_bar_config(disable=True)

    def encode(text):
        _, p, _, e = te(token_ids(tok, [text], vocab, pad))
        return e, p

    def run(case, steps, guidance, negatives, seeds, width, height):
        two = ["a red cube on a table", "Two dogs, neon signs at dusk!"]
        images, tokens = [], []
        for i, (prompt, seed) in enumerate(zip(two, seeds)):
            e, p = encode(prompt)
            ne, np_ = encode(negatives[i] if negatives else "")
            kw = dict(prompt_embeds=e, encoder_hidden_states=p, num_inference_steps=steps, guidance_scale=guidance,
                      width=width, height=height)
            if guidance > 1:
                kw.update(negative_prompt_embeds=ne, negative_encoder_hidden_states=np_)
            img = pipe(generator=torch.Generator().manual_seed(seed), output_type="np", **kw).images
            lat = pipe(generator=torch.Generator().manual_seed(seed), output_type="latent", **kw).images
            images.append(torch.from_numpy((img * 255).round()).float())
            tokens.append(lat.float())
        t[f"pipe.{case}.image"] = torch.cat(images)  # (B, H, W, 3) uint8 values
        t[f"pipe.{case}.tokens"] = torch.cat(tokens)
        ref["pipelines"][case] = {"steps": steps, "guidance": guidance, "negatives": negatives, "seeds": seeds,
                                  "width": width, "height": height, "prompts": two}

    run("cfg_default", 12, 10.0, None, [3, 1234], 16, 16)
    run("negative", 5, 4.0, ["blurry", "low quality"], [5, 6], 16, 16)
    run("no_cfg_wide", 3, 1.0, None, [8, 9], 32, 16)

    os.makedirs(a.out, exist_ok=True)
    save_file({k: v.contiguous().float() for k, v in t.items()}, os.path.join(a.out, "amused_reference.safetensors"))
    with open(os.path.join(a.out, "amused_reference.json"), "w", encoding="utf-8") as f:
        json.dump(ref, f, indent=1)
    for k in ref["pipelines"]:
        img = t[f"pipe.{k}.image"]
        print(k, "mean", round(float(img.mean()), 1), "std", round(float(img.std()), 1))


if __name__ == "__main__":
    main()
