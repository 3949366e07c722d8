#!/usr/bin/env python3
"""The reference side of scripts/bench_vs_diffusers.sh: diffusers' UNet2DConditionModel,
built from the same config.json catimage's `bench` reads (random weights), timed on the same
shapes, dtype and threads. Prints one JSON object with the keys `catimage bench --json` writes.

Needs diffusers' public sources on PYTHONPATH (v0.27.2 on Debian's PyTorch 1.13; any recent
release on PyTorch 2.x); nothing of diffusers is committed to catimage.
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch

# diffusers v0.27.2 beside a newer stack (the GPU machine's accelerate and transformers need a
# newer huggingface_hub and the real safetensors, not the ones run with diffusers here):
# building a UNet from its config needs neither, so diffusers is told they are absent.
for _hidden in ("accelerate", "transformers", "peft"):
    sys.modules.setdefault(_hidden, None)
from diffusers import UNet2DConditionModel  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--cfg", action="store_true")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"])
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[a.dtype]
    dev = torch.device(a.device)
    torch.manual_seed(a.seed)
    cfg = json.load(open(a.config))
    t0 = time.perf_counter()
    unet = UNet2DConditionModel.from_config(cfg).eval().to(dev, dtype)
    build_s = time.perf_counter() - t0
    params = sum(p.numel() for p in unet.parameters())
    B, lat = a.batch * (2 if a.cfg else 1), a.size // 8
    x = torch.randn(B, unet.config.in_channels, lat, lat, device=dev, dtype=dtype)
    ctx = torch.randn(B, 77, unet.config.cross_attention_dim, device=dev, dtype=dtype)
    added = None
    if unet.config.addition_embed_type == "text_time":
        pooled_dim = unet.config.projection_class_embeddings_input_dim - 6 * unet.config.addition_time_embed_dim
        added = {"text_embeds": torch.randn(B, pooled_dim, device=dev, dtype=dtype),
                 "time_ids": torch.tensor([[a.size, a.size, 0, 0, a.size, a.size]] * B, device=dev, dtype=dtype)}
    t = torch.full((1,), 500.0, device=dev)
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    with torch.no_grad():
        for i in range(a.warmup + a.steps):
            sync()
            s = time.perf_counter()
            unet(x, t, encoder_hidden_states=ctx, added_cond_kwargs=added)
            sync()
            if i >= a.warmup:
                times.append(time.perf_counter() - s)
    out = {"tool": "diffusers", "arch": a.config, "parameters": params, "device": str(dev), "dtype": a.dtype,
           "batch": a.batch, "cfg": a.cfg, "size": a.size, "steps_timed": a.steps,
           "step_seconds_median": statistics.median(times), "step_seconds_min": min(times),
           "step_seconds_max": max(times), "step_seconds_all": times, "build_seconds": build_s,
           "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
           "torch_version": torch.__version__, "threads": torch.get_num_threads()}
    if dev.type == "cuda":
        out["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
        out["device_name"] = torch.cuda.get_device_name()
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
