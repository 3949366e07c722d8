#!/usr/bin/env python3
"""The reference side of scripts/bench_vs_diffusers.sh: the diffusers (or, for T5, transformers)
model of a config.json catimage's `bench` reads, with random weights, timed on the same shapes,
dtype and threads as `catimage bench` gives its own: UNet2DConditionModel; PixArt's transformer
(PixArtTransformer2DModel, or Transformer2DModel with norm_type ada_norm_single before diffusers
0.28); aMUSEd's UVit2DModel; transformers' T5EncoderModel. Prints one JSON object with the keys
`catimage bench --json` writes.

Needs diffusers' public sources on PYTHONPATH (v0.27.2 on Debian's PyTorch 1.13; any recent
release on PyTorch 2.x) and, for T5, transformers; nothing of either is committed to catimage.
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch


def family(cfg):
    if cfg.get("model_type") == "t5":
        return "t5"
    cls = cfg.get("_class_name")
    if cls == "UNet2DConditionModel":
        return "unet"
    if cls == "UVit2DModel":
        return "uvit2d"
    if cls in ("PixArtTransformer2DModel", "Transformer2DModel"):
        return "pixart"
    sys.exit(f"bench_diffusers_model.py: _class_name {cls!r} is not benchmarked")


def diffusers_module():
    # diffusers v0.27.2 beside a newer stack (the GPU machine's accelerate and transformers need
    # a newer huggingface_hub and the real safetensors, not the ones run with diffusers here):
    # building a model from its config needs neither, so diffusers is told they are absent.
    for hidden in ("accelerate", "transformers", "peft"):
        sys.modules.setdefault(hidden, None)
    import diffusers

    return diffusers


def build(fam, cfg, a, dev, dtype):
    """The model and a function that runs one forward pass on fixed inputs, shaped as catimage's
    bench shapes them (src/diffusion/arch_bench.cpp)."""
    B = a.batch * (2 if a.cfg else 1)
    rnd = dict(device=dev, dtype=dtype)
    if fam == "t5":
        from transformers import T5Config, T5EncoderModel

        model = T5EncoderModel(T5Config(**cfg)).eval().to(dev, dtype)
        L = a.text_tokens or 120
        ids = torch.randint(0, model.config.vocab_size, (B, L), device=dev)
        mask = torch.ones(B, L, dtype=torch.long, device=dev)
        return model, lambda: model(input_ids=ids, attention_mask=mask)
    diffusers = diffusers_module()
    if fam == "unet":
        model = diffusers.UNet2DConditionModel.from_config(cfg).eval().to(dev, dtype)
        lat, L = a.size // 8, a.text_tokens or 77
        x = torch.randn(B, model.config.in_channels, lat, lat, **rnd)
        ctx = torch.randn(B, L, model.config.cross_attention_dim, **rnd)
        added = None
        if model.config.addition_embed_type == "text_time":
            pooled_dim = model.config.projection_class_embeddings_input_dim - 6 * model.config.addition_time_embed_dim
            added = {"text_embeds": torch.randn(B, pooled_dim, **rnd),
                     "time_ids": torch.tensor([[a.size, a.size, 0, 0, a.size, a.size]] * B, **rnd)}
        t = torch.full((1,), 500.0, device=dev)
        return model, lambda: model(x, t, encoder_hidden_states=ctx, added_cond_kwargs=added)
    if fam == "uvit2d":
        model = diffusers.UVit2DModel.from_config(cfg).eval().to(dev, dtype)
        tok, L = a.size // 16, a.text_tokens or 77
        ids = torch.randint(0, model.config.vocab_size, (B, tok, tok), device=dev)
        states = torch.randn(B, L, model.config.encoder_hidden_size, **rnd)
        pooled = torch.randn(B, model.config.cond_embed_dim, **rnd)
        micro = torch.tensor([[a.size, a.size, 0, 0, 6]] * B, **rnd)
        return model, lambda: model(ids, states, pooled, micro)
    # Before diffusers 0.28 PixArt's transformer is Transformer2DModel (norm_type ada_norm_single),
    # with the same keys and forward.
    cls = getattr(diffusers, cfg["_class_name"], None) or diffusers.Transformer2DModel
    if cls is diffusers.Transformer2DModel:
        cfg = {**cfg, "norm_type": "ada_norm_single"}
    model = cls.from_config(cfg).eval()
    if cfg.get("use_additional_conditions") is False and getattr(model, "use_additional_conditions", False):
        # diffusers 0.27 turns the micro-conditions on for every sample_size 128 (PixArt-Σ has none)
        from diffusers.models.normalization import AdaLayerNormSingle

        model.use_additional_conditions = False
        model.adaln_single = AdaLayerNormSingle(
            model.config.num_attention_heads * model.config.attention_head_dim, use_additional_conditions=False)
    model = model.to(dev, dtype)
    lat, L = a.size // 8, a.text_tokens or 120
    x = torch.randn(B, model.config.in_channels, lat, lat, **rnd)
    text_dim = model.config.caption_channels or model.config.cross_attention_dim
    ctx = torch.randn(B, L, text_dim, **rnd)
    mask = torch.ones(B, L, device=dev)
    t = torch.full((B,), 500.0, device=dev)
    added = {"resolution": None, "aspect_ratio": None}
    if getattr(model, "use_additional_conditions", model.config.sample_size == 128):
        added = {"resolution": torch.full((B, 2), float(a.size), **rnd), "aspect_ratio": torch.ones(B, 1, **rnd)}
    return model, lambda: model(x, encoder_hidden_states=ctx, timestep=t, added_cond_kwargs=added,
                                encoder_attention_mask=mask)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--cfg", action="store_true")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--text-tokens", type=int, default=0)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", default="", help="after the timed steps, a Chrome trace of --profile-calls more")
    ap.add_argument("--profile-calls", type=int, default=2)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[a.dtype]
    dev = torch.device(a.device)
    torch.manual_seed(a.seed)
    cfg = json.load(open(a.config))
    fam = family(cfg)
    t0 = time.perf_counter()
    model, step = build(fam, cfg, a, dev, dtype)
    build_s = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    with torch.no_grad():
        for i in range(a.warmup + a.steps):
            sync()
            s = time.perf_counter()
            step()
            sync()
            if i >= a.warmup:
                times.append(time.perf_counter() - s)
    out = {"tool": "diffusers" if fam != "t5" else "transformers", "arch": a.config, "family": fam,
           "parameters": params, "device": str(dev), "dtype": a.dtype, "batch": a.batch, "cfg": a.cfg,
           "size": None if fam == "t5" else a.size, "steps_timed": a.steps,
           "step_seconds_median": statistics.median(times), "step_seconds_min": min(times),
           "step_seconds_max": max(times), "step_seconds_all": times, "build_seconds": build_s,
           "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
           "torch_version": torch.__version__, "threads": torch.get_num_threads()}
    if dev.type == "cuda":
        out["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
        out["device_name"] = torch.cuda.get_device_name()
    if a.profile:  # as `catimage bench --profile`: Kineto's trace of a few more steps, untimed
        acts = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if dev.type == "cuda" else [])
        with torch.no_grad(), torch.profiler.profile(activities=acts, record_shapes=True) as prof:
            for _ in range(a.profile_calls):
                step()
            sync()
        prof.export_chrome_trace(a.profile)
        out["profile"], out["profile_calls"] = a.profile, a.profile_calls
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
