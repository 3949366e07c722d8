#!/usr/bin/env python3
"""Converts idealo's NIMA weights (github.com/idealo/image-quality-assessment,
models/MobileNet/weights_mobilenet_aesthetic_0.07.hdf5 or weights_mobilenet_technical_0.11.hdf5,
saved by Keras' ModelCheckpoint(save_weights_only=True)) into a catimage NIMA scorer folder,
config.json + model.safetensors, for `catimage score --metric nima --scorer DIR`.

    /usr/bin/python3 scripts/nima_h5_to_safetensors.py weights_mobilenet_aesthetic_0.07.hdf5 weights/nima-aesthetic

Needs h5py and numpy only (Debian: python3-h5py python3-numpy); no Keras, no TensorFlow.

The model (idealo's src/handlers/model_builder.py, Nima.build): Keras' MobileNet v1
(input 224x224x3, include_top=False, pooling='avg'), Dropout(0.75), Dense(10, softmax).

What is read: the HDF5 layout Keras writes, model.save_weights / ModelCheckpoint at the file's
root, model.save under "model_weights/": the attribute layer_names (or layer_names0,
layer_names1, ... when Keras split it), and per layer a group with the attribute weight_names
and one dataset per name ("conv1/kernel:0" is the dataset kernel:0 in the group conv1 of the
layer's group). As Keras' load_weights does, the weights of a layer are taken in the order of
weight_names, whatever the names' prefix (a model built twice in one session names them
conv1_1/kernel:0).

What is written, in float32 (catimage's names are Keras' layer names with PyTorch's weight
names and layouts, so the libtorch module loads them by name):
  conv1.weight                 Conv2D kernel (kh, kw, in, out)            -> (out, in, kh, kw)
  conv_dw_K.weight             DepthwiseConv2D depthwise_kernel (kh, kw, in, dm)
                                                                          -> (in * dm, 1, kh, kw)
                               (output channel c * dm + m, as TensorFlow's depthwise_conv2d)
  conv_pw_K.weight             Conv2D 1x1 kernel                          -> (out, in, 1, 1)
  <conv>_bn.weight / .bias / .running_mean / .running_var
                               BatchNormalization gamma / beta / moving_mean / moving_variance
  dense.weight, dense.bias     the Dense layer (Keras names it dense_1 or dense): kernel
                               (in, n) -> (n, in); bias (n)
for K = 1..13. Every other layer must be weightless (input, padding, ReLU, pooling, dropout);
anything else is refused by name.

config.json: model_type "nima", base_model_name "MobileNet", alpha (conv1's filters / 32,
checked against every layer as Keras' int(filters * alpha)), depth_multiplier, image_size,
n_classes, padding and epsilon, and where the weights came from.
  padding "same": TensorFlow's asymmetric 'same' at stride 2 (ZeroPadding2D(((0, 1), (0, 1)))
      then 'valid'), the MobileNet of keras-applications >= 1.0.3 (Keras >= 2.2.1) and of
      tf.keras, which idealo's predict path runs since its TensorFlow 2.0 upgrade, and of
      Keras <= 2.1.4 (Conv2D padding='same');
  padding "symmetric": ZeroPadding2D((1, 1)) before every 3x3 convolution, the MobileNet of
      Keras 2.1.5 - 2.2.0 (keras-applications 1.0.2). idealo's published weights were trained
      in June 2018 with keras==2.1.* (2.1.6), that is with this network.
  A full model.save file records its layers' configs (the attribute model_config): then
  padding and epsilon are read from it and --padding must agree. A weights-only file does not:
  --padding says it (default "same", what idealo's current predict path computes).
"""
import argparse
import hashlib
import json
import os
import re
import struct
import sys

import numpy as np

NUM_BLOCKS = 13
# (pointwise filters, stride) of keras' _depthwise_conv_block calls, block_id 1..13
BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
BN_NAMES = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}
PADDINGS = ("same", "symmetric")


class ConversionError(Exception):
    pass


# --- safetensors without the safetensors package --------------------------------------------------

_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32,
           "U8": np.uint8}


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: numpy array}; written little-endian, names sorted, header padded to 8 bytes."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        code = next(k for k, v in _DTYPES.items() if a.dtype == v)
        data = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    """{name: numpy array} of a safetensors file."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        body = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        dt = np.dtype(_DTYPES[e["dtype"]]).newbyteorder("<")
        out[name] = np.frombuffer(body[b:end], dtype=dt).reshape(e["shape"]).copy()
    return out


# --- the Keras HDF5 layout -----------------------------------------------------------------------


def attr_strings(group, name):
    """Keras' load_attributes_from_hdf5_group: the attribute NAME, or NAME0, NAME1, ... when it was
    split to fit HDF5's object header; bytes decoded as UTF-8."""
    if name in group.attrs:
        data = list(group.attrs[name])
    else:
        data, i = [], 0
        while f"{name}{i}" in group.attrs:
            data.extend(group.attrs[f"{name}{i}"])
            i += 1
        if i == 0:
            return None
    return [d.decode("utf8") if isinstance(d, bytes) else str(d) for d in data]


def read_keras_weights(path):
    """(ordered [(layer name, [(weight name, array), ...]), ...], root attrs dict, model_config or None)."""
    import h5py

    with h5py.File(path, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f
        names = attr_strings(root, "layer_names")
        if names is None:
            raise ConversionError("no layer_names attribute: not a Keras weights file "
                                  "(model.save_weights / model.save in HDF5)")
        layers = []
        for name in names:
            if name not in root:
                raise ConversionError(f"layer {name} is listed in layer_names but has no group")
            g = root[name]
            wn = attr_strings(g, "weight_names") or []
            ws = []
            for w in wn:
                if w not in g:
                    raise ConversionError(f"layer {name}: weight {w} is listed but missing")
                ws.append((w, np.array(g[w])))
            layers.append((name, ws))
        attrs = {}
        for k in ("keras_version", "backend"):
            v = root.attrs.get(k, f.attrs.get(k))
            if v is not None:
                attrs[k] = v.decode("utf8") if isinstance(v, bytes) else str(v)
        cfg = f.attrs.get("model_config")
        model_config = json.loads(cfg.decode("utf8") if isinstance(cfg, bytes) else cfg) if cfg is not None else None
    return layers, attrs, model_config


def short_name(weight_name):
    """conv1/kernel:0 -> kernel; conv1_1/conv1/gamma:0 -> gamma."""
    return weight_name.split("/")[-1].split(":")[0]


def config_from_model_config(model_config):
    """(padding, epsilon) from a model.save file's layer configs, or (None, None) when not told."""
    layers = (model_config or {}).get("config", {}).get("layers", [])
    by_name = {l.get("config", {}).get("name"): l for l in layers}
    padding = None
    pad = by_name.get("conv1_pad")
    if pad is not None:
        p = pad["config"].get("padding")
        p = [list(x) if isinstance(x, (list, tuple)) else [x, x] for x in (p if isinstance(p, (list, tuple)) else [p, p])]
        if p == [[0, 1], [0, 1]]:
            padding = "same"
        elif p == [[1, 1], [1, 1]]:
            padding = "symmetric"
        else:
            raise ConversionError(f"conv1_pad pads {p}: neither Keras MobileNet's (0, 1) nor (1, 1)")
    elif "conv1" in by_name and by_name["conv1"]["config"].get("padding") == "same":
        padding = "same"  # Keras <= 2.1.4: Conv2D(padding='same'), no ZeroPadding2D
    eps = {l["config"].get("epsilon") for l in layers if l.get("class_name") == "BatchNormalization"}
    if len(eps) > 1:
        raise ConversionError(f"BatchNormalization layers with different epsilons {sorted(eps)}")
    return padding, (eps.pop() if eps else None)


def convert(layers, alpha=None):
    """Keras layers -> ({catimage name: float32 array}, facts dict: alpha, depth_multiplier, n_classes)."""
    out, dense = {}, []
    conv_re = re.compile(r"^(conv1|conv_(?:dw|pw)_(\d+))(_bn)?$")
    for name, ws in layers:
        if not ws:
            continue  # input, padding, ReLU, pooling, dropout
        m = conv_re.match(name)
        if m and (m.group(2) is None or 1 <= int(m.group(2)) <= NUM_BLOCKS):
            if m.group(3):  # BatchNormalization
                got = {short_name(w): a for w, a in ws}
                if sorted(got) != sorted(BN_NAMES):
                    raise ConversionError(f"layer {name}: BatchNormalization weights {sorted(got)}, expected "
                                          f"{sorted(BN_NAMES)} (scale and center on)")
                for k, v in BN_NAMES.items():
                    out[f"{name}.{v}"] = got[k]
                continue
            if len(ws) != 1:
                raise ConversionError(f"layer {name}: {len(ws)} weights, expected a kernel only (use_bias=False)")
            w, k = ws[0]
            if k.ndim != 4 or k.shape[0] != k.shape[1]:
                raise ConversionError(f"layer {name}: {w} has shape {k.shape}, expected (k, k, in, out)")
            if name.startswith("conv_dw_"):
                if short_name(w) != "depthwise_kernel":
                    raise ConversionError(f"layer {name}: {w} is not a depthwise_kernel")
                kh, kw, c, dm = k.shape
                out[name + ".weight"] = k.reshape(kh, kw, c * dm).transpose(2, 0, 1)[:, None]
            else:
                if short_name(w) != "kernel":
                    raise ConversionError(f"layer {name}: {w} is not a kernel")
                out[name + ".weight"] = k.transpose(3, 2, 0, 1)
            continue
        got = {short_name(w): a for w, a in ws}
        if sorted(got) == ["bias", "kernel"] and got["kernel"].ndim == 2:
            dense.append(name)
            out["dense.weight"] = got["kernel"].T
            out["dense.bias"] = got["bias"]
            continue
        raise ConversionError(f"layer {name} ({', '.join(w for w, _ in ws)}) is not part of NIMA's MobileNet "
                              "(conv1, conv_dw_K, conv_pw_K, their _bn, one Dense); "
                              "a MobileNet with its ImageNet top (conv_preds) is not a NIMA model")
    if len(dense) != 1:
        raise ConversionError(f"expected one Dense layer (the 10-way softmax), found {len(dense)}: {dense}")
    # shapes: Keras' filters = int(filters * alpha)
    need = ["conv1.weight"] + [f"conv_{t}_{i}.weight" for i in range(1, NUM_BLOCKS + 1) for t in ("dw", "pw")]
    missing = [n for n in need if n not in out]
    if missing:
        raise ConversionError(f"missing layers: {', '.join(n[:-7] for n in missing)}")
    c1 = out["conv1.weight"].shape[0]
    if alpha is None:
        alpha = c1 / 32.0
    dm = out["conv_dw_1.weight"].shape[0] // c1
    c, expect = int(32 * alpha), {}
    expect["conv1.weight"] = (c, 3, 3, 3)
    for i, (f, _) in enumerate(BLOCKS, 1):
        expect[f"conv_dw_{i}.weight"] = (c * dm, 1, 3, 3)
        expect[f"conv_pw_{i}.weight"] = (int(f * alpha), c * dm, 1, 1)
        c = int(f * alpha)
    for n, s in expect.items():
        if tuple(out[n].shape) != s:
            raise ConversionError(f"{n[:-7]}: shape {tuple(out[n].shape)} (torch layout), expected {s} for "
                                  f"alpha {alpha}, depth_multiplier {dm}")
        bn = n[:-7] + "_bn"
        for v in BN_NAMES.values():
            if f"{bn}.{v}" not in out:
                raise ConversionError(f"missing layer {bn}")
            if out[f"{bn}.{v}"].shape != (s[0],):
                raise ConversionError(f"{bn}: {v} has shape {out[f'{bn}.{v}'].shape}, expected ({s[0]},)")
    if out["dense.weight"].shape[1] != c:
        raise ConversionError(f"Dense {dense[0]}: {out['dense.weight'].shape[1]} inputs, the pooled features are {c}")
    unused = set(out) - set(expect) - {f"{n[:-7]}_bn.{v}" for n in expect for v in BN_NAMES.values()} - \
        {"dense.weight", "dense.bias"}
    assert not unused, unused
    out = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}
    return out, {"alpha": alpha, "depth_multiplier": int(dm), "n_classes": int(out["dense.bias"].shape[0])}


def convert_file(path, out_dir, alpha=None, padding=None, image_size=224):
    """Writes out_dir/config.json and out_dir/model.safetensors; returns the config dict."""
    layers, attrs, model_config = read_keras_weights(path)
    tensors, facts = convert(layers, alpha)
    told_padding, told_eps = config_from_model_config(model_config)
    if told_padding and padding and told_padding != padding:
        raise ConversionError(f"its model_config pads \"{told_padding}\", but --padding is {padding}")
    version = attrs.get("keras_version", "")
    if not told_padding and not padding and version in ("2.1.5", "2.1.6", "2.2.0"):
        print(f"note: {path} was saved by Keras {version}, whose MobileNet pads symmetrically "
              "(ZeroPadding2D((1, 1))); the config says \"same\", what idealo's predict path on tf.keras "
              "computes; --padding symmetric converts for the network the weights were trained in",
              file=sys.stderr)
    with open(path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    cfg = {"model_type": "nima", "base_model_name": "MobileNet", "alpha": facts["alpha"],
           "depth_multiplier": facts["depth_multiplier"], "image_size": image_size, "n_classes": facts["n_classes"],
           "padding": told_padding or padding or "same", "epsilon": told_eps if told_eps is not None else 1e-3,
           "converted_from": {"file": os.path.basename(path), "sha256": sha, **attrs}}
    os.makedirs(out_dir, exist_ok=True)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), tensors,
                      {"format": "pt", "source": os.path.basename(path)})
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    return cfg


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", help="Keras .hdf5 (e.g. weights_mobilenet_aesthetic_0.07.hdf5)")
    ap.add_argument("out", help="scorer folder to write (config.json, model.safetensors)")
    ap.add_argument("--alpha", type=float, help="MobileNet width multiplier (default: conv1's filters / 32)")
    ap.add_argument("--padding", choices=PADDINGS,
                    help="same (tf.keras, Keras >= 2.2.1; default) or symmetric (Keras 2.1.5 - 2.2.0)")
    ap.add_argument("--image-size", type=int, default=224, help="input size (idealo's NIMA: 224)")
    a = ap.parse_args()
    try:
        cfg = convert_file(a.weights, a.out, a.alpha, a.padding, a.image_size)
    except ConversionError as e:
        print(f"error: {a.weights}: {e}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:  # h5py: not an HDF5 file, or not readable
        print(f"error: {a.weights}: cannot be read as HDF5: {e}", file=sys.stderr)
        sys.exit(2)
    print(f"wrote {a.out}/model.safetensors and config.json (MobileNet alpha {cfg['alpha']}, padding "
          f"{cfg['padding']}, {cfg['n_classes']} classes)")


if __name__ == "__main__":
    main()
