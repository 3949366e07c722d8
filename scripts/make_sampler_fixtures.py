#!/usr/bin/env python3
"""Reference timesteps and sigmas for catimage's sampler names (tests/fixtures/parity/
samplers_reference.json): for each sampler name as A1111 and ComfyUI users write it, what
diffusers' own scheduler gives with the configuration diffusers' documentation maps that name
to, on three model folders' scheduler_config.json files.

    bash scripts/make_sampler_fixtures.sh     # sets PYTHONPATH, runs this

The mapping below is written from diffusers' scheduler overview (docs/source/en/api/schedulers/
overview.md, the A1111/k-diffusion table and "Noise schedules and schedule types"), not from
catimage's tables, so the test (Parity.SamplerNamesMatchDiffusersWithTheMappedConfig) checks
catimage's reading of each name against it:
  Euler -> EulerDiscreteScheduler, Euler a -> EulerAncestralDiscreteScheduler,
  DPM++ 2M -> DPMSolverMultistepScheduler, DPM++ 2M Karras -> the same with use_karras_sigmas=True,
  DPM++ 2M SDE -> the same with algorithm_type="sde-dpmsolver++";
  Karras -> use_karras_sigmas=True; sgm_uniform, simple -> timestep_spacing="trailing";
  exponential -> timestep_spacing="linspace", use_exponential_sigmas=True.
Two readings are catimage's own, as the table has no row for them: ComfyUI's "normal" (A1111's
"Uniform") is timestep_spacing="linspace"; DDIM and LCM are DDIMScheduler and LCMScheduler.
A schedule that sets one of the sigma options sets the other false (diffusers refuses two at
once, e.g. exponential on a folder whose file asks for Karras). A name without a schedule is
the class from the folder's file as it is (diffusers' from_config).

Run with diffusers v0.32.2 (the first release whose exponential sigmas are evenly spaced in log
sigma for DPM-Solver, #9954; its scheduler files run on Debian's PyTorch 1.13 with
huggingface_hub v0.21.4). Every case and trajectory here without exponential sigmas gives the
same numbers under v0.27.2, the release the other parity fixtures use (checked when this was
written).
Nothing of diffusers is committed: only the JSON this writes.
"""
import argparse
import json

import torch

import diffusers
from diffusers import (DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                       EulerDiscreteScheduler, LCMScheduler)

# Model folders' scheduler_config.json, as their Hugging Face repositories hold them.
FOLDERS = {
    # runwayml/stable-diffusion-v1-5: PNDM, no timestep_spacing (each class's default applies)
    "sd15": {"_class_name": "PNDMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
             "beta_start": 0.00085, "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True,
             "steps_offset": 1, "trained_betas": None, "clip_sample": False},
    # stabilityai/stable-diffusion-xl-base-1.0: Euler, "leading"
    "sdxl": {"_class_name": "EulerDiscreteScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
             "beta_start": 0.00085, "clip_sample": False, "interpolation_type": "linear", "num_train_timesteps": 1000,
             "prediction_type": "epsilon", "sample_max_value": 1.0, "set_alpha_to_one": False,
             "skip_prk_steps": True, "steps_offset": 1, "timestep_spacing": "leading", "trained_betas": None,
             "use_karras_sigmas": False},
    # a fine-tune shipping DPM-Solver++ with Karras sigmas on
    "dpm_karras": {"_class_name": "DPMSolverMultistepScheduler", "algorithm_type": "dpmsolver++",
                   "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
                   "lower_order_final": True, "num_train_timesteps": 1000, "prediction_type": "epsilon",
                   "solver_order": 2, "solver_type": "midpoint", "steps_offset": 1, "thresholding": False,
                   "timestep_spacing": "leading", "trained_betas": None, "use_karras_sigmas": True},
}

# A1111's sampler -> (diffusers' class, what it sets)
CLASSES = {"Euler": (EulerDiscreteScheduler, {}), "Euler a": (EulerAncestralDiscreteScheduler, {}),
           "DPM++ 2M": (DPMSolverMultistepScheduler, {}),
           "DPM++ 2M SDE": (DPMSolverMultistepScheduler, {"algorithm_type": "sde-dpmsolver++"}),
           "DDIM": (DDIMScheduler, {}), "LCM": (LCMScheduler, {})}
SCHEDULES = {
    "": {},
    "Karras": {"use_karras_sigmas": True, "use_exponential_sigmas": False},
    "Exponential": {"timestep_spacing": "linspace", "use_exponential_sigmas": True, "use_karras_sigmas": False},
    "trailing": {"timestep_spacing": "trailing", "use_karras_sigmas": False, "use_exponential_sigmas": False},
    "linspace": {"timestep_spacing": "linspace", "use_karras_sigmas": False, "use_exponential_sigmas": False},
}
# name as users write it -> (the A1111 sampler, the schedule's config)
NAMES = {
    "Euler": ("Euler", ""), "euler": ("Euler", ""), "EulerDiscreteScheduler": ("Euler", ""),
    "Euler a": ("Euler a", ""), "euler_ancestral": ("Euler a", ""), "k_euler_a": ("Euler a", ""),
    "DPM++ 2M": ("DPM++ 2M", ""), "dpmpp_2m": ("DPM++ 2M", ""),
    "DDIM": ("DDIM", ""), "LCM": ("LCM", ""), "lcm": ("LCM", ""),
    "DPM++ 2M SDE": ("DPM++ 2M SDE", ""), "dpmpp_2m_sde": ("DPM++ 2M SDE", ""),
    "DPM++ 2M SDE Karras": ("DPM++ 2M SDE", "Karras"), "dpmpp_2m_sde exponential": ("DPM++ 2M SDE", "Exponential"),
    "DPM++ 2M Karras": ("DPM++ 2M", "Karras"), "dpmpp_2m karras": ("DPM++ 2M", "Karras"),
    "DPM++ 2M, Karras": ("DPM++ 2M", "Karras"), "Sampler: DPM++ 2M, Schedule type: Karras": ("DPM++ 2M", "Karras"),
    "Euler Karras": ("Euler", "Karras"), "euler karras": ("Euler", "Karras"),
    "Euler Exponential": ("Euler", "Exponential"), "euler exponential": ("Euler", "Exponential"),
    "DPM++ 2M Exponential": ("DPM++ 2M", "Exponential"), "dpmpp_2m exponential": ("DPM++ 2M", "Exponential"),
    "Euler SGM Uniform": ("Euler", "trailing"), "euler sgm_uniform": ("Euler", "trailing"),
    "euler simple": ("Euler", "trailing"), "euler_ancestral sgm_uniform": ("Euler a", "trailing"),
    "Euler a, Schedule type: SGM Uniform": ("Euler a", "trailing"), "dpmpp_2m sgm_uniform": ("DPM++ 2M", "trailing"),
    "ddim sgm_uniform": ("DDIM", "trailing"),
    "euler normal": ("Euler", "linspace"), "Euler Uniform": ("Euler", "linspace"),
    "euler_ancestral normal": ("Euler a", "linspace"), "dpmpp_2m normal": ("DPM++ 2M", "linspace"),
    "DPM++ 2M Uniform": ("DPM++ 2M", "linspace"), "ddim normal": ("DDIM", "linspace"),
}
STEPS = (1, 2, 4, 7, 25)
# Denoising trajectories of the samplers that draw noise each step through their step function
# (DPM++ 2M SDE: midpoint and heun, epsilon and v-prediction): name, folder config.
TRAJECTORIES = {
    "sde_midpoint": ("DPM++ 2M SDE", FOLDERS["sd15"]),
    "sde_karras_sdxl": ("DPM++ 2M SDE Karras", FOLDERS["sdxl"]),
    "sde_heun": ("DPM++ 2M SDE", {**FOLDERS["sd15"], "solver_type": "heun"}),
    "sde_exponential_v": ("dpmpp_2m_sde exponential", {**FOLDERS["sd15"], "prediction_type": "v_prediction"}),
}
TRAJECTORY_STEPS = (1, 2, 4, 7)


def floats(t):
    return [float(v) for v in t.tolist()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    diffusers.utils.logging.set_verbosity_error()  # from_config's notes on the other classes' keys
    ref = {"diffusers": diffusers.__version__, "torch": torch.__version__, "folders": FOLDERS, "names": {},
           "cases": {}}
    for name, (sampler, schedule) in NAMES.items():
        case = f"{sampler} | {schedule}" if schedule else sampler
        ref["names"][name] = case
        if case in ref["cases"]:
            continue
        cls, sets = CLASSES[sampler]
        entry = {"class": cls.__name__, "config": {**sets, **SCHEDULES[schedule]}, "runs": {}}
        for folder, cfg in FOLDERS.items():
            entry["runs"][folder] = {}
            for steps in STEPS:
                s = cls.from_config({**cfg, **entry["config"]})
                s.set_timesteps(steps)
                run = {"timesteps": floats(s.timesteps), "init_noise_sigma": float(s.init_noise_sigma)}
                if sampler in ("Euler", "Euler a", "DPM++ 2M", "DPM++ 2M SDE"):
                    run["sigmas"] = floats(s.sigmas)
                entry["runs"][folder][str(steps)] = run
        ref["cases"][case] = entry
    # trajectories: the loop of catimage's scheduler parity test, model output 0.1 * input + bias
    g = torch.Generator().manual_seed(1234)
    x0, bias = torch.randn(1, 4, 4, 4, generator=g), torch.randn(1, 4, 4, 4, generator=g)
    ref["x0"], ref["bias"] = floats(x0.flatten()), floats(bias.flatten())
    ref["trajectories"] = {}
    for case, (name, cfg) in TRAJECTORIES.items():
        sampler, schedule = NAMES[name]
        cls, sets = CLASSES[sampler]
        entry = {"name": name, "folder_config": cfg, "runs": {}}
        for steps in TRAJECTORY_STEPS:
            s = cls.from_config({**cfg, **sets, **SCHEDULES[schedule]})
            s.set_timesteps(steps)
            x = x0 * s.init_noise_sigma
            gen = torch.Generator().manual_seed(7)  # the noise each step draws, as catimage's test draws it
            for t in s.timesteps:
                x = s.step(0.1 * s.scale_model_input(x, t) + bias, t, x, generator=gen).prev_sample
            entry["runs"][str(steps)] = floats(x.flatten())
        ref["trajectories"][case] = entry
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(ref, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"{len(ref['names'])} names, {len(ref['cases'])} cases -> {a.out}")


if __name__ == "__main__":
    main()
