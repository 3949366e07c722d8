#!/usr/bin/env python3
"""The reference side of scripts/bench_pipeline_vs_diffusers.sh: whole-pipeline calls of diffusers'
DiffusionPipeline on the same model folder `catimage bench --pipeline` times (random weights,
scripts/make_bench_pipelines.sh), timed as catimage times its own: prompts in, uint8 images on the
CPU out (diffusers' output_type="np" then the same rounding to uint8 catimage does), the first
WARMUP calls untimed, new per-image CPU generators on every call. Prints one JSON object with the
keys `catimage bench --pipeline --json` writes. Both cycle the same prompt file over each batch
(--prompts; default configs/example_prompts.txt).

--compile MODE applies the torch.compile recipe of diffusers' "Accelerate inference" guide
(optimization/fp16): inductor's conv_1x1_as_mm, coordinate-descent tuning, no epilogue fusion;
UNet and VAE (aMUSEd: VQ-GAN) channels-last; the UNet (or transformer) and the decoder's decode
compiled with `mode` and fullgraph=True. The first call's time (compilation included) is reported as first_call_seconds and
compile_seconds = first call - median call.

Needs a recent diffusers (its src/ on PYTHONPATH, never committed), transformers and PyTorch 2.x
for --compile; eager runs also work on diffusers v0.27.2 with PyTorch 1.13.
"""
import argparse
import json
import math
import os
import resource
import statistics
import time

import numpy as np
import torch

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def compile_pipeline(pipe, mode):
    """diffusers' torch.compile recipe (docs: optimization/fp16, "torch.compile")."""
    cfg = torch._inductor.config
    cfg.conv_1x1_as_mm = True
    cfg.coordinate_descent_tuning = True
    cfg.epilogue_fusion = False
    cfg.coordinate_descent_check_all_directions = True
    denoiser = "unet" if getattr(pipe, "unet", None) is not None else "transformer"
    model = getattr(pipe, denoiser)
    if denoiser == "unet":
        model.to(memory_format=torch.channels_last)
    setattr(pipe, denoiser, torch.compile(model, mode=mode, fullgraph=True))
    for name in ("vae", "vqvae"):  # aMUSEd decodes with a VQ-GAN
        decoder = getattr(pipe, name, None)
        if decoder is not None:
            decoder.to(memory_format=torch.channels_last)
            decoder.decode = torch.compile(decoder.decode, mode=mode, fullgraph=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pipeline", required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--size", type=int, default=0, help="0: the pipeline's default")
    ap.add_argument("--inference-steps", type=int, required=True)
    ap.add_argument("--guidance", type=float, required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default="fp16", choices=sorted(DTYPES))
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--compile", default="", help="a torch.compile mode (max-autotune, reduce-overhead, default)")
    ap.add_argument("--prompts", default=os.path.join(os.path.dirname(__file__), "..", "configs", "example_prompts.txt"),
                    help="one prompt a line, cycled over each batch (catimage bench --pipeline's default file)")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    with open(a.prompts, encoding="utf-8-sig") as f:
        prompt_list = [line.strip() for line in f if line.strip()]
    import diffusers

    dev = torch.device(a.device)
    t0 = time.perf_counter()
    pipe = diffusers.DiffusionPipeline.from_pretrained(a.pipeline, torch_dtype=DTYPES[a.dtype]).to(dev)
    pipe.set_progress_bar_config(disable=True)
    if a.compile:
        compile_pipeline(pipe, a.compile)
    load_s = time.perf_counter() - t0
    size = a.size or None

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    times, first = [], 0.0
    with torch.inference_mode():
        for i in range(a.warmup + a.runs):
            seeds = [a.seed + i * a.batch + b for b in range(a.batch)]
            gens = [torch.Generator("cpu").manual_seed(s) for s in seeds]
            if type(pipe).__name__.startswith("Amused"):
                # AmusedPipeline takes one generator, on the device its scheduler samples tokens on
                gens = torch.Generator(dev).manual_seed(seeds[0])
            prompts = [prompt_list[b % len(prompt_list)] for b in range(a.batch)]
            sync()
            s = time.perf_counter()
            out = pipe(prompt=prompts, num_inference_steps=a.inference_steps, guidance_scale=a.guidance,
                       height=size, width=size, generator=gens, output_type="np").images
            images = np.clip(np.round(out * 255), 0, 255).astype(np.uint8)
            sync()
            t = time.perf_counter() - s
            if i == 0:
                first = t
            if i >= a.warmup:
                times.append(t)
    med = statistics.median(times)
    h, w = images.shape[1:3]
    res = {
        "tool": "diffusers" + (f" compiled ({a.compile})" if a.compile else " eager"),
        "mode": "pipeline",
        "pipeline": a.pipeline,
        "pipeline_class": type(pipe).__name__,
        "scheduler": type(pipe.scheduler).__name__,
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "dtype": a.dtype,
        "batch": a.batch,
        "width": int(w),
        "height": int(h),
        "inference_steps": a.inference_steps,
        "guidance": a.guidance,
        "runs": a.runs,
        "warmup": a.warmup,
        "run_seconds_median": med,
        "run_seconds_min": min(times),
        "run_seconds_max": max(times),
        "run_seconds_all": times,
        "images_per_second": a.batch / med,
        "first_call_seconds": first,
        "load_seconds": load_s,
        "threads": 0 if dev.type == "cuda" else torch.get_num_threads(),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "torch_version": torch.__version__,
        "diffusers_version": diffusers.__version__,
    }
    if a.compile:
        res["compile_mode"] = a.compile
        res["compile_seconds"] = first - med
    if dev.type == "cuda":
        res["peak_gpu_mib"] = torch.cuda.max_memory_allocated(dev) / 2**20
    assert all(math.isfinite(t) for t in times)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
