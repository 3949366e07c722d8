#!/usr/bin/env python3
"""Tiny random LoRA files and the reference tensors of catimage's LoRA parity tests
(tests/fixtures/lora/*.safetensors, tests/fixtures/parity/lora_reference.*).

    bash scripts/make_lora_fixtures.sh     # builds the tiny models, sets PYTHONPATH, runs this

The LoRAs: seeded random low-rank layers for catimage's tiny SD1 and SDXL models (the weights
catimage writes with seed 7), in the formats catimage merges: kohya (lora_unet_/lora_te_/
lora_te1_/lora_te2_, .lora_down/.lora_up/.alpha, 3x3 LoCon conv layers), PEFT
(unet./text_encoder.<module>.lora_A/.lora_B) and diffusers' attention-processor format; an SDXL kohya
file names the UNet by its original (sgm) blocks, as sd-scripts writes them.

What computes the references (fp32, CPU):
- UNet: diffusers v0.26.3 itself, on its non-PEFT path (peft is not installable here; v0.27
  removed the non-PEFT LoRA layers from its models, so its load_lora_weights needs peft):
  LoraLoaderMixin.lora_state_dict, what StableDiffusion(XL)Pipeline.load_lora_weights calls (its
  kohya -> diffusers key conversion and network alphas; with the UNet's config, so
  _maybe_map_sgm_blocks_to_diffusers maps sgm block names), UNet2DConditionModel.load_attn_procs
  (its LoRACompatibleLinear/Conv layers) and unet.fuse_lora(lora_scale); PEFT lora_A/lora_B keys
  are renamed to diffusers' lora.down/lora.up first (what its PEFT_TO_DIFFUSERS map does for
  attention layers), since load_attn_procs reads only that form. Recorded: every merged weight
  (one of more than 4096 elements at every s-th element of its flattening, s in the .json) and one
  UNet forward (one denoising step's model output) on fixed inputs.
- Text encoders: diffusers merges text-encoder LoRAs only into transformers' CLIPTextModel (v0.26
  by patching it, v0.27 through peft), and transformers is not available here. So an independent plain-torch script of the rule,
  W += scale * (alpha / r) * up @ down (no alpha: alpha = r), on the transformers-format weights,
  its modules found by matching kohya's '_' names against the weight names (and checked against
  diffusers' own kohya key conversion, DIFFUSERS_OLD_TO_PEFT-renamed), then OpenAI CLIP's
  reference text transformer (as make_parity_fixtures.py) on the merged weights. Recorded: the
  merged weights and the prompt embeddings the UNet receives.
Nothing of diffusers or CLIP is committed: only the LoRA files and the tensors written here.
"""
import argparse
import json
import os
import shutil
import tempfile

import torch

from diffusers import UNet2DConditionModel
from diffusers.loaders.lora import LoraLoaderMixin  # the lora_state_dict of StableDiffusion(XL)Pipeline
from diffusers.utils.state_dict_utils import DIFFUSERS_OLD_TO_PEFT, DIFFUSERS_TO_PEFT
from safetensors.torch import load_file, save_file

from fixture_io import load_model, openai_clip, token_ids
from make_parity_fixtures import ClipText

PROMPTS = ["a red cube on a table", "Two dogs, neon signs at dusk!"]
RANK = 4


def rand_layer(g, weight, rank, conv_kernel=True):
    """(down, up) for `weight`: a linear [out, in] gets [r, in], [out, r]; a conv [out, in, kh, kw]
    gets LoCon's [r, in, kh, kw], [out, r, 1, 1]."""
    out = weight.shape[0]
    if weight.dim() == 4:
        down = torch.randn(rank, *weight.shape[1:], generator=g) * 0.3
        up = torch.randn(out, rank, 1, 1, generator=g) * 0.3
    else:
        down = torch.randn(rank, weight.shape[1], generator=g) * 0.3
        up = torch.randn(out, rank, generator=g) * 0.3
    return down, up


def kohya(g, prefix, modules, weights, alphas):
    """kohya keys for `modules` (dotted paths into `weights`); alphas[i] None: no .alpha key."""
    sd = {}
    for m, a in zip(modules, alphas):
        down, up = rand_layer(g, weights[m + ".weight"], RANK)
        name = prefix + m.replace(".", "_")
        sd[name + ".lora_down.weight"], sd[name + ".lora_up.weight"] = down, up
        if a is not None:
            sd[name + ".alpha"] = torch.tensor(float(a))
    return sd


def peft(g, component, modules, weights):
    sd = {}
    for m in modules:
        down, up = rand_layer(g, weights[m + ".weight"], RANK)
        sd[f"{component}.{m}.lora_A.weight"], sd[f"{component}.{m}.lora_B.weight"] = down, up
    return sd


# --- the independent rule (text encoders) ---------------------------------------------------

def layers_of(sd, component, weights):
    """{module: (down, up, alpha or None)} of `component` in LoRA state dict `sd`, modules found in
    `weights` (kohya: the weight whose path with '_' for '.' is the key's name)."""
    kohya_prefix = {"unet": ["lora_unet_"], "text_encoder": ["lora_te_", "lora_te1_"], "text_encoder_2": ["lora_te2_"]}
    by_us = {k[:-len(".weight")].replace(".", "_"): k[:-len(".weight")] for k in weights if k.endswith(".weight")}
    out = {}
    for k, v in sd.items():
        for p in kohya_prefix[component]:
            if k.startswith(p) and k.endswith(".lora_down.weight"):
                name = k[: -len(".lora_down.weight")]
                alpha = sd.get(name + ".alpha")
                out[by_us[name[len(p):]]] = (v, sd[name + ".lora_up.weight"], None if alpha is None else float(alpha))
        pre = component + "."
        if not k.startswith(pre):
            continue
        rest = k[len(pre):]
        if rest.endswith(".lora_A.weight"):  # PEFT
            m = rest[: -len(".lora_A.weight")]
            out[m] = (v, sd[pre + m + ".lora_B.weight"], None)
        elif rest.endswith(".lora_linear_layer.down.weight"):  # diffusers
            m = rest[: -len(".lora_linear_layer.down.weight")]
            out[m] = (v, sd[pre + m + ".lora_linear_layer.up.weight"], None)
        elif rest.endswith("_lora.down.weight"):  # diffusers' attention-processor names: to_k_lora -> k_proj
            base, proj = rest[: -len("_lora.down.weight")].rsplit(".", 1)
            m = base + "." + {"to_q": "q_proj", "to_k": "k_proj", "to_v": "v_proj", "to_out": "out_proj"}[proj]
            out[m] = (v, sd[pre + rest.replace(".down.weight", ".up.weight")], None)
    return out


def merged(weights, layers, scale):
    w = dict(weights)
    for m, (down, up, alpha) in layers.items():
        W = w[m + ".weight"].float()
        u = up.flatten(1).float()
        if alpha is not None:
            u = u * alpha / down.shape[0]
        w[m + ".weight"] = W + scale * (u @ down.flatten(1).float()).reshape(W.shape)
    return w


def check_against_diffusers_names(path, component, layers):
    """The modules our rule found for the text encoder are the ones diffusers' kohya conversion names."""
    sd, _ = LoraLoaderMixin.lora_state_dict(path)
    pre = component + "."
    names = set()
    for k in sd:
        if not k.startswith(pre):
            continue
        k = k[len(pre):]
        for table in (DIFFUSERS_OLD_TO_PEFT, DIFFUSERS_TO_PEFT):
            for old, new in table.items():
                k = k.replace(old, new)
        if k.endswith(".lora_A.weight"):
            names.add(k[: -len(".lora_A.weight")])
    assert names == set(layers), (sorted(names), sorted(layers))


def text_encoder(folder, weights, clip_model):
    """OpenAI CLIP's text transformer carrying `weights` (transformers names) and folder's config."""
    tmp = tempfile.mkdtemp()
    shutil.copy(os.path.join(folder, "config.json"), tmp)
    save_file({k: v.contiguous() for k, v in weights.items()}, os.path.join(tmp, "model.safetensors"))
    m = ClipText(tmp, clip_model)
    shutil.rmtree(tmp)
    return m


# --- diffusers (UNet) ------------------------------------------------------------------------

def diffusers_unet(folder, lora_path, scale, fmt):
    unet = load_model(UNet2DConditionModel, folder)
    if fmt == "kohya":  # with the UNet's config: _maybe_map_sgm_blocks_to_diffusers renames sgm block names
        sd, alphas = LoraLoaderMixin.lora_state_dict(lora_path, unet_config=unet.config)
        sd = {k[len("unet."):]: v for k, v in sd.items() if k.startswith("unet.")}
        alphas = {k[len("unet."):]: v for k, v in (alphas or {}).items() if k.startswith("unet.")} or None
    elif fmt == "peft":
        sd = {k[len("unet."):].replace(".lora_A.", ".lora.down.").replace(".lora_B.", ".lora.up."): v
              for k, v in load_file(lora_path).items() if k.startswith("unet.")}
        alphas = None
    else:  # diffusers' processor format, handled by load_attn_procs itself
        sd, alphas = load_file(lora_path), None
    unet.load_attn_procs(sd, network_alphas=alphas)
    unet.fuse_lora(lora_scale=scale)
    return unet


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True, help="folder with tiny-sd1, tiny-sdxl (with catimage's seed-7 weights)")
    ap.add_argument("--clip", required=True, help="OpenAI CLIP checkout's clip/ folder")
    ap.add_argument("--vocab", required=True, help="tests/fixtures/clip-tiny-vocab")
    ap.add_argument("--loras", required=True, help="where the LoRA files go (tests/fixtures/lora)")
    ap.add_argument("--out", required=True, help="where lora_reference.* go (tests/fixtures/parity)")
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)
    clip_model, tok, vocab = openai_clip(a.clip, a.vocab)
    M = lambda *p: os.path.join(a.models, *p)
    os.makedirs(a.loras, exist_ok=True)
    g = torch.Generator().manual_seed(2024)

    unet_w = {k: load_file(M(k, "unet", "diffusion_pytorch_model.safetensors")) for k in ("tiny-sd1", "tiny-sdxl")}
    te_w = {(k, c): load_file(M(k, c, "model.safetensors"))
            for k, c in (("tiny-sd1", "text_encoder"), ("tiny-sdxl", "text_encoder"), ("tiny-sdxl", "text_encoder_2"))}

    # --- the LoRA files ----------------------------------------------------------------------
    sd1_unet = ["down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q",
                "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0",
                "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k",
                "down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj",
                "down_blocks.0.attentions.0.transformer_blocks.0.ff.net.2",
                "down_blocks.0.attentions.0.proj_in",  # a 1x1 conv in SD1
                "mid_block.attentions.0.transformer_blocks.0.attn2.to_v",
                "up_blocks.1.attentions.0.proj_out",
                "down_blocks.0.resnets.0.conv1",  # LoCon 3x3
                "down_blocks.0.resnets.0.time_emb_proj",
                "down_blocks.1.resnets.0.conv_shortcut",
                "down_blocks.0.downsamplers.0.conv",
                "up_blocks.0.upsamplers.0.conv",
                "mid_block.resnets.1.conv2"]
    te_mods = ["text_model.encoder.layers.0.self_attn.q_proj", "text_model.encoder.layers.0.self_attn.k_proj",
               "text_model.encoder.layers.0.self_attn.v_proj", "text_model.encoder.layers.0.self_attn.out_proj",
               "text_model.encoder.layers.1.mlp.fc1", "text_model.encoder.layers.1.mlp.fc2"]
    files = {}
    sd = kohya(g, "lora_unet_", sd1_unet, unet_w["tiny-sd1"], [2.0, None, 8, 1.0, 4, 3, None, 2, 2, 6, None, 1.5, 4, 2])
    sd.update(kohya(g, "lora_te_", te_mods, te_w[("tiny-sd1", "text_encoder")], [2, None, 1, 4, 3, None]))
    files["sd1-kohya"] = sd
    sd = peft(g, "unet", sd1_unet[:4] + ["down_blocks.0.resnets.0.conv1", "up_blocks.1.attentions.0.proj_out"],
              unet_w["tiny-sd1"])
    sd.update(peft(g, "text_encoder", te_mods[::2], te_w[("tiny-sd1", "text_encoder")]))
    files["sd1-peft"] = sd
    # diffusers' attention-processor format (UNet) and its text-encoder names
    sd = {}
    for m, proj in (("down_blocks.0.attentions.0.transformer_blocks.0.attn1", "to_q"),
                    ("up_blocks.1.attentions.0.transformer_blocks.0.attn2", "to_out")):
        target = m + "." + ("to_out.0" if proj == "to_out" else proj)
        down, up = rand_layer(g, unet_w["tiny-sd1"][target + ".weight"], RANK)
        sd[f"unet.{m}.processor.{proj}_lora.down.weight"], sd[f"unet.{m}.processor.{proj}_lora.up.weight"] = down, up
    down, up = rand_layer(g, unet_w["tiny-sd1"]["mid_block.attentions.0.proj_in.weight"], RANK)
    sd["unet.mid_block.attentions.0.proj_in.lora.down.weight"], sd["unet.mid_block.attentions.0.proj_in.lora.up.weight"] = down, up
    for m, key in (("text_model.encoder.layers.1.self_attn.k_proj", "text_model.encoder.layers.1.self_attn.to_k_lora"),
                   ("text_model.encoder.layers.0.mlp.fc2", "text_model.encoder.layers.0.mlp.fc2.lora_linear_layer")):
        down, up = rand_layer(g, te_w[("tiny-sd1", "text_encoder")][m + ".weight"], RANK)
        sd[f"text_encoder.{key}.down.weight"], sd[f"text_encoder.{key}.up.weight"] = down, up
    files["sd1-diffusers"] = sd

    sdxl_unet = ["down_blocks.1.attentions.0.transformer_blocks.1.attn2.to_k",
                 "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_out.0",
                 "down_blocks.1.attentions.0.proj_in",  # linear in SDXL
                 "mid_block.attentions.0.transformer_blocks.0.attn1.to_v",
                 "up_blocks.0.attentions.1.transformer_blocks.0.ff.net.2",
                 "down_blocks.0.resnets.0.conv1",
                 "up_blocks.0.resnets.0.conv_shortcut"]
    sd = kohya(g, "lora_unet_", sdxl_unet, unet_w["tiny-sdxl"], [4, 2, None, 1, 8, 2, 3])
    sd.update(kohya(g, "lora_te1_", te_mods[:2], te_w[("tiny-sdxl", "text_encoder")], [2, None]))
    sd.update(kohya(g, "lora_te2_", te_mods[3:], te_w[("tiny-sdxl", "text_encoder_2")], [1, 2, None]))
    files["sdxl-kohya"] = sd
    # kohya's SDXL files name the UNet by its original (sgm) blocks: input_blocks/middle_block/output_blocks
    sgm = [("input_blocks_3_1_transformer_blocks_1_attn2_to_k", "down_blocks.1.attentions.0.transformer_blocks.1.attn2.to_k"),
           ("input_blocks_1_0_in_layers_2", "down_blocks.0.resnets.0.conv1"),
           ("input_blocks_1_0_emb_layers_1", "down_blocks.0.resnets.0.time_emb_proj"),
           ("input_blocks_2_0_op", "down_blocks.0.downsamplers.0.conv"),
           ("input_blocks_3_0_skip_connection", "down_blocks.1.resnets.0.conv_shortcut"),
           ("middle_block_1_proj_in", "mid_block.attentions.0.proj_in"),
           ("middle_block_2_out_layers_3", "mid_block.resnets.1.conv2"),
           ("output_blocks_0_0_skip_connection", "up_blocks.0.resnets.0.conv_shortcut"),
           ("output_blocks_1_2_conv", "up_blocks.0.upsamplers.0.conv"),
           ("output_blocks_1_1_transformer_blocks_0_ff_net_0_proj",
            "up_blocks.0.attentions.1.transformer_blocks.0.ff.net.0.proj"),
           ("output_blocks_3_0_out_layers_3", "up_blocks.1.resnets.1.conv2")]
    sd = {}
    for i, (name, module) in enumerate(sgm):
        down, up = rand_layer(g, unet_w["tiny-sdxl"][module + ".weight"], RANK)
        sd[f"lora_unet_{name}.lora_down.weight"], sd[f"lora_unet_{name}.lora_up.weight"] = down, up
        if i % 3:
            sd[f"lora_unet_{name}.alpha"] = torch.tensor(float(i))
    sd.update(kohya(g, "lora_te1_", te_mods[2:3], te_w[("tiny-sdxl", "text_encoder")], [3]))
    sd.update(kohya(g, "lora_te2_", te_mods[5:], te_w[("tiny-sdxl", "text_encoder_2")], [2]))
    files["sdxl-kohya-sgm"] = sd
    sd = peft(g, "unet", sdxl_unet[:3], unet_w["tiny-sdxl"])
    sd.update(peft(g, "text_encoder_2", te_mods[1:3], te_w[("tiny-sdxl", "text_encoder_2")]))
    files["sdxl-peft"] = sd
    for name, sd in files.items():
        save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(a.loras, name + ".safetensors"))

    # --- references ----------------------------------------------------------------------------
    cases = {  # case: (model, LoRA file, format, scale)
        "sd1_kohya": ("tiny-sd1", "sd1-kohya", "kohya", 0.8),
        "sd1_peft": ("tiny-sd1", "sd1-peft", "peft", 1.0),
        "sd1_diffusers": ("tiny-sd1", "sd1-diffusers", "diffusers", -0.5),
        "sdxl_kohya": ("tiny-sdxl", "sdxl-kohya", "kohya", 0.7),
        "sdxl_sgm": ("tiny-sdxl", "sdxl-kohya-sgm", "kohya", 0.9),
        "sdxl_peft": ("tiny-sdxl", "sdxl-peft", "peft", 1.3),
    }
    t, meta = {}, {"diffusers": __import__("diffusers").__version__, "torch": torch.__version__, "prompts": PROMPTS,
                   "cases": {}}
    x = torch.randn(2, 4, 8, 8, generator=g)
    ts = torch.tensor([999.0, 17.0])
    t["sample"], t["timesteps"] = x, ts
    ctx = {"tiny-sd1": torch.randn(2, 77, 32, generator=g), "tiny-sdxl": torch.randn(2, 77, 64, generator=g)}
    t["context.tiny-sd1"], t["context.tiny-sdxl"] = ctx["tiny-sd1"], ctx["tiny-sdxl"]
    pooled = torch.randn(2, 16, generator=g)
    ids = torch.tensor([[64.0, 64, 0, 0, 64, 64], [48.0, 80, 8, 4, 64, 64]])
    t["text_embeds"], t["time_ids"] = pooled, ids
    for case, (model, lora, fmt, scale) in cases.items():
        path = os.path.join(a.loras, lora + ".safetensors")
        sd = load_file(path)
        unet = diffusers_unet(M(model, "unet"), path, scale, fmt)
        after = unet.state_dict()
        changed = sorted(k for k, v in after.items() if not torch.equal(v, unet_w[model][k]))
        assert changed, case
        strides = {}
        for k in changed:  # a large weight (3x3 convs) is recorded at every s-th element of its flattening
            s = -(-after[k].numel() // 4096)
            t[f"{case}.unet.{k}"] = after[k].flatten()[::s] if s > 1 else after[k]
            if s > 1:
                strides[k] = s
        kw = {}
        if model == "tiny-sdxl":
            kw["added_cond_kwargs"] = {"text_embeds": pooled, "time_ids": ids}
        t[f"{case}.unet_out"] = unet(x, ts, encoder_hidden_states=ctx[model], **kw).sample
        encoders = ["text_encoder"] + (["text_encoder_2"] if model == "tiny-sdxl" else [])
        pads = {("tiny-sd1", "text_encoder"): "<|endoftext|>", ("tiny-sdxl", "text_encoder"): "<|endoftext|>",
                ("tiny-sdxl", "text_encoder_2"): "!"}
        te_changed, outs = [], []
        for c in encoders:
            layers = layers_of(sd, c, te_w[(model, c)])
            if fmt == "kohya" and layers:
                check_against_diffusers_names(path, c, layers)
            w = merged(te_w[(model, c)], layers, scale)
            for m in layers:
                t[f"{case}.{c}.{m}.weight"] = w[m + ".weight"]
                te_changed.append(f"{c}.{m}.weight")
            enc = text_encoder(M(model, c), w, clip_model)
            last, pen, _, proj = enc(token_ids(tok, PROMPTS, vocab, pads[(model, c)]))
            outs.append((last, pen, proj))
        if model == "tiny-sdxl":
            t[f"{case}.context"] = torch.cat([outs[0][1], outs[1][1]], -1)
            t[f"{case}.pooled"] = outs[1][2]
        else:
            t[f"{case}.context"] = outs[0][0]
        meta["cases"][case] = {"model": model, "lora": lora + ".safetensors", "format": fmt, "scale": scale,
                               "unet_weights": changed, "unet_weight_strides": strides,
                               "text_encoder_weights": sorted(te_changed)}
        print(case, len(changed), "UNet weights,", len(te_changed), "text-encoder weights merged")
    os.makedirs(a.out, exist_ok=True)
    save_file({k: v.contiguous().float() for k, v in t.items()}, os.path.join(a.out, "lora_reference.safetensors"))
    with open(os.path.join(a.out, "lora_reference.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
