#!/usr/bin/env python3
"""Reference outputs for catimage's NIMA scorer tests (tests/test_nima.cpp):
tests/fixtures/parity/nima_reference.{safetensors,json} and tests/fixtures/scoring/nima_*.png.

    bash scripts/make_nima_fixtures.sh     # writes the tiny model's weights, runs this

Keras and TensorFlow are not available here (not in Debian; no pip), so the reference is the
Keras *definition* run by a small numpy stand-in for the Keras layers it uses:
  * the network: keras-applications' own mobilenet.py builds the graph, called as idealo's
    Nima.build calls it (MobileNet(input_shape=(224, 224, 3), weights=None, include_top=False,
    pooling='avg'), then Dropout(0.75) and Dense(10, activation='softmax')), with alpha = the
    tiny model's. padding "same": keras-applications 1.0.8 (Debian's python3-keras-applications,
    the version tf.keras 2.0 wraps, what idealo predicts with today); padding "symmetric":
    keras-applications 1.0.2 (Keras 2.2.0; Keras 2.1.5/2.1.6 had the same network), from its
    public source (KERAS_APPLICATIONS_102). The layers (ZeroPadding2D, Conv2D, DepthwiseConv2D,
    BatchNormalization, ReLU / Activation(relu6), GlobalAveragePooling2D, Dropout, Dense) are
    written below in numpy float64 from their TensorFlow definitions (NHWC, HWIO kernels,
    TensorFlow's 'same' padding rule, tf.nn.batch_normalization, depthwise output channel
    c * depth_multiplier + m);
  * the weights: catimage's seeded random tiny model (tests/fixtures/tiny-nima) is written back
    into the HDF5 layout Keras' save_weights writes (layer_names / weight_names attributes, one
    group per layer of the model, datasets "<layer>/<weight>:0"), loaded as Keras' load_weights
    does (weighted layers in order), and run through scripts/nima_h5_to_safetensors.py, which
    must give back catimage's tensors bit for bit (also from a model.save-style file with
    tf.keras' layer names and a model_config, whose padding it reads);
  * the images: keras_preprocessing's own load_img(path, target_size=(224, 224)) (Debian's
    python3-keras-preprocessing 1.1.0, the version tf.keras 2.0 uses; interpolation "nearest",
    as idealo's TestDataGenerator calls it) and keras-applications' mobilenet.preprocess_input
    on the float64 batch idealo's generator fills; the score is idealo's calc_mean_score.
Nothing of Keras is committed: only the tensors written here and the PNG inputs.
"""
import argparse
import importlib
import importlib.util
import json
import os
import re
import sys

import h5py
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nima_h5_to_safetensors import BN_NAMES, convert_file, read_safetensors, write_safetensors  # noqa: E402

# --- a numpy stand-in for the Keras layers keras-applications' MobileNet and idealo's Nima use ---


class Backend:
    """The keras.backend functions the applications call."""

    @staticmethod
    def image_data_format():
        return "channels_last"

    @staticmethod
    def set_image_data_format(_):
        raise AssertionError("channels_last only")

    @staticmethod
    def floatx():
        return "float32"

    @staticmethod
    def backend():
        return "tensorflow"

    @staticmethod
    def is_keras_tensor(x):
        return isinstance(x, Tensor)

    @staticmethod
    def relu(x, alpha=0.0, max_value=None):
        assert alpha == 0.0
        y = np.maximum(x, 0.0)
        return y if max_value is None else np.minimum(y, max_value)


class Tensor:
    """A symbolic tensor: the layer that makes it from its input."""

    def __init__(self, layer, source):
        self.layer, self.source = layer, source


class Namer:
    """Keras' automatic layer names: "dense_1" (Keras 2.1: every prefix counts from 1) or "dense"
    then "dense_1" (tf.keras); Input layers are input_1 in both."""
    style = "keras"
    counts = {}

    @classmethod
    def name(cls, prefix):
        n = cls.counts.get(prefix, 0) + 1
        cls.counts[prefix] = n
        if cls.style == "tf.keras" and prefix != "input":
            return prefix if n == 1 else f"{prefix}_{n - 1}"
        return f"{prefix}_{n}"


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", name).lower().replace("2_d", "2d")


class Layer:
    weight_order = ()  # Keras' build order of the layer's weights

    def __init__(self, name=None, **kwargs):
        self.name = name or Namer.name(snake(type(self).__name__))
        self.kwargs = kwargs
        self.weights = {}

    def __call__(self, x):
        return Tensor(self, x)

    def config(self):
        return {"name": self.name}

    def has_weights(self):
        return bool(self.weight_order)


def pad2d(x, top, bottom, left, right):
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))


def same_pads(size, k, s):
    """TensorFlow's 'same': out = ceil(size / s), the padding split with the extra one after."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def windows(x, k, s):
    """(N, H, W, C) -> (N, Ho, Wo, C, k, k) 'valid' windows at stride s."""
    w = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))
    return w[:, ::s, ::s]


def as_pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


class InputLayer(Layer):
    pass


def Input(shape=None, **_):  # noqa: N802 (Keras' name)
    return Tensor(InputLayer(name=Namer.name("input")), None)


class ZeroPadding2D(Layer):
    def __init__(self, padding=(1, 1), name=None, **kw):
        super().__init__(name, **kw)
        p = padding
        if isinstance(p, int):
            p = ((p, p), (p, p))
        elif isinstance(p[0], int):
            p = ((p[0], p[0]), (p[1], p[1]))
        self.padding = tuple(tuple(q) for q in p)

    def config(self):
        return {"name": self.name, "padding": [list(q) for q in self.padding]}

    def run(self, x):
        (t, b), (l, r) = self.padding
        return pad2d(x, t, b, l, r)


class Conv2D(Layer):
    weight_order = ("kernel", "bias")

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", use_bias=True, name=None, **kw):
        super().__init__(name, **kw)
        self.filters, self.k, self.s, self.padding, self.use_bias = filters, as_pair(kernel_size)[0], \
            as_pair(strides)[0], padding, use_bias
        if not use_bias:
            self.weight_order = ("kernel",)

    def config(self):
        return {"name": self.name, "filters": self.filters, "padding": self.padding, "strides": [self.s, self.s]}

    def pad(self, x):
        if self.padding == "valid":
            return x
        t, b = same_pads(x.shape[1], self.k, self.s)
        l, r = same_pads(x.shape[2], self.k, self.s)
        return pad2d(x, t, b, l, r)

    def run(self, x):
        k = self.weights["kernel"]
        assert k.shape == (self.k, self.k, x.shape[3], self.filters), (self.name, k.shape, x.shape)
        y = np.einsum("nhwcij,ijco->nhwo", windows(self.pad(x), self.k, self.s), k)
        return y + self.weights["bias"] if self.use_bias else y


class DepthwiseConv2D(Conv2D):
    weight_order = ("depthwise_kernel", "bias")

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, use_bias=True, name=None,
                 **kw):
        super().__init__(None, kernel_size, strides, padding, use_bias, name, **kw)
        self.dm = depth_multiplier
        self.weight_order = ("depthwise_kernel", "bias") if use_bias else ("depthwise_kernel",)

    def run(self, x):
        k = self.weights["depthwise_kernel"]
        n, c = x.shape[0], x.shape[3]
        assert k.shape == (self.k, self.k, c, self.dm), (self.name, k.shape, x.shape)
        y = np.einsum("nhwcij,ijcm->nhwcm", windows(self.pad(x), self.k, self.s), k)
        y = y.reshape(n, y.shape[1], y.shape[2], c * self.dm)  # output channel c * dm + m
        return y + self.weights["bias"] if self.use_bias else y


class BatchNormalization(Layer):
    weight_order = ("gamma", "beta", "moving_mean", "moving_variance")

    def __init__(self, axis=-1, epsilon=1e-3, name=None, **kw):  # Keras' default epsilon
        super().__init__(name, **kw)
        assert axis in (-1, 3)
        self.epsilon = epsilon

    def config(self):
        return {"name": self.name, "epsilon": self.epsilon}

    def run(self, x):
        w = self.weights  # tf.nn.batch_normalization at inference: (x - mean) * rsqrt(var + eps) * gamma + beta
        return (x - w["moving_mean"]) / np.sqrt(w["moving_variance"] + self.epsilon) * w["gamma"] + w["beta"]


class ReLU(Layer):
    def __init__(self, max_value=None, name=None, **kw):
        super().__init__(name, **kw)
        self.max_value = max_value

    def run(self, x):
        return Backend.relu(x, max_value=self.max_value)


class Activation(Layer):
    def __init__(self, activation, name=None, **kw):
        super().__init__(name, **kw)
        self.fn = activation

    def run(self, x):
        return softmax(x) if self.fn == "softmax" else self.fn(x)


class GlobalAveragePooling2D(Layer):
    def run(self, x):
        return x.mean(axis=(1, 2))


class Dropout(Layer):
    def __init__(self, rate, name=None, **kw):
        super().__init__(name, **kw)

    def run(self, x):
        return x  # inference


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


class Dense(Layer):
    weight_order = ("kernel", "bias")

    def __init__(self, units, activation=None, name=None, **kw):
        super().__init__(name, **kw)
        self.units, self.activation = units, activation
        self.logits = None

    def run(self, x):
        self.logits = x @ self.weights["kernel"] + self.weights["bias"]
        return softmax(self.logits) if self.activation == "softmax" else self.logits


class Model:
    def __init__(self, inputs, outputs, name=None):
        chain, t = [], outputs
        while t is not None:
            chain.append(t.layer)
            t = t.source
        self.layers = chain[::-1]  # a chain: Keras' layer order
        self.inputs, self.output, self.name = inputs, outputs, name

    def load_weights_h5(self, path):
        """Keras' load_weights_from_hdf5_group: the file's layers that have weights, in order, onto the
        model's layers that have weights, in order; each layer's weights in weight_names order."""
        with h5py.File(path, "r") as f:
            root = f["model_weights"] if "model_weights" in f else f
            names = [n.decode() for n in root.attrs["layer_names"]]
            filled = [n for n in names if len(root[n].attrs["weight_names"])]  # noqa: E501
            weighted = [l for l in self.layers if l.has_weights()]
            assert len(filled) == len(weighted), (len(filled), len(weighted))
            for name, layer in zip(filled, weighted):
                wn = [w.decode() for w in root[name].attrs["weight_names"]]
                assert len(wn) == len(layer.weight_order), (name, wn)
                for short, w in zip(layer.weight_order, wn):
                    layer.weights[short] = np.array(root[name][w], dtype=np.float64)

    def predict(self, x):
        outs = {}
        for layer in self.layers:
            if isinstance(layer, InputLayer):
                y = x
            else:
                y = layer.run(y)
            outs[layer.name] = y
        return outs


def layers_module():
    import types
    m = types.SimpleNamespace()
    for cls in (ZeroPadding2D, Conv2D, DepthwiseConv2D, BatchNormalization, ReLU, Activation, GlobalAveragePooling2D,
                Dropout, Dense):
        setattr(m, cls.__name__, cls)
    m.Input = Input
    return m


def models_module():
    import types
    return types.SimpleNamespace(Model=Model)


# --- idealo's NIMA built with keras-applications' MobileNet ----------------------------------------


def keras_applications_102(src):
    """keras-applications 1.0.2's package from its source folder, under another name, wired to the
    stand-in (it reads the Keras submodules when its modules are imported)."""
    spec = importlib.util.spec_from_file_location("keras_applications_102", os.path.join(src, "__init__.py"),
                                                  submodule_search_locations=[src])
    pkg = importlib.util.module_from_spec(spec)
    sys.modules["keras_applications_102"] = pkg
    spec.loader.exec_module(pkg)
    pkg.set_keras_submodules(backend=Backend, engine=None, layers=layers_module(), models=models_module(),
                             utils=None)
    return importlib.import_module("keras_applications_102.mobilenet")


def build_nima(mobilenet_module, alpha, depth_multiplier, style, pass_modules):
    """idealo's Nima.build: MobileNet(input_shape=(224, 224, 3), weights=None, include_top=False,
    pooling='avg'), Dropout(0.75), Dense(10, activation='softmax')."""
    Namer.style, Namer.counts = style, {}
    kw = dict(backend=Backend, layers=layers_module(), models=models_module(), utils=None) if pass_modules else {}
    base = mobilenet_module.MobileNet(input_shape=(224, 224, 3), alpha=alpha, depth_multiplier=depth_multiplier,
                                      weights=None, include_top=False, pooling="avg", **kw)
    x = Dropout(0.75)(base.output)
    x = Dense(units=10, activation="softmax")(x)
    return Model(base.inputs, x)


# --- catimage's tensors <-> the Keras layout ------------------------------------------------------


def keras_weights(layer, sd):
    """The Keras arrays of `layer` (in its weight order) from catimage's tensors (the inverse of
    nima_h5_to_safetensors.convert)."""
    n = layer.name
    if isinstance(layer, BatchNormalization):
        return [sd[f"{n}.{BN_NAMES[k]}"] for k in layer.weight_order]
    if isinstance(layer, DepthwiseConv2D):
        w = sd[n + ".weight"][:, 0]  # (c * dm, kh, kw)
        kh, kw = w.shape[1:]
        return [w.transpose(1, 2, 0).reshape(kh, kw, -1, layer.dm)]
    if isinstance(layer, Conv2D):
        return [sd[n + ".weight"].transpose(2, 3, 1, 0)]
    if isinstance(layer, Dense):
        return [sd["dense.weight"].T, sd["dense.bias"]]
    raise AssertionError(n)


def write_keras_h5(path, model, sd, full_save, keras_version):
    """The HDF5 file Keras writes: save_weights (full_save False) or model.save (weights under
    model_weights/, the layers' configs in the model_config attribute)."""
    with h5py.File(path, "w") as f:
        root = f.create_group("model_weights") if full_save else f
        # as Keras: a list of bytes, which numpy makes fixed-length strings; [] for a weightless layer
        root.attrs["layer_names"] = np.array([l.name.encode("utf8") for l in model.layers])
        root.attrs["backend"] = b"tensorflow"
        root.attrs["keras_version"] = keras_version.encode("utf8")
        for layer in model.layers:
            g = root.create_group(layer.name)
            values = keras_weights(layer, sd) if layer.has_weights() else []
            names = [f"{layer.name}/{w}:0".encode("utf8") for w in layer.weight_order[:len(values)]]
            g.attrs["weight_names"] = np.array(names) if names else []
            for wn, v in zip(names, values):
                g.create_dataset(wn.decode(), data=np.asarray(v, dtype=np.float32))
        if full_save:
            cfg = {"class_name": "Model", "config": {"name": model.name, "layers": [
                {"class_name": type(l).__name__, "config": l.config()} for l in model.layers]}}
            f.attrs["model_config"] = json.dumps(cfg).encode("utf8")
            f.attrs["keras_version"] = keras_version.encode("utf8")
            f.attrs["backend"] = b"tensorflow"


# --- images ---------------------------------------------------------------------------------------


def fnv1a64(data):
    """catimage's util/hash fnv1a64: FNV-1a with the offset basis 1469598103934665603 (FNV's is
    14695981039346656037; catimage's image keys are made with this one)."""
    h = 1469598103934665603
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def synthetic_images():
    """Inputs beside the CLIP fixtures' three (all upscaled to 224): a downscale whose width and
    height are not multiples of 224, an RGBA image (load_img's convert("RGB") drops alpha) and a
    greyscale one (replicated into RGB)."""
    y, x = np.mgrid[0:250, 0:331]
    big = np.stack([(x * 7 + y * 3) % 256, (x * 2 + y * 11) % 256, 255 * (((x // 9) + (y // 7)) % 2)], -1)
    y, x = np.mgrid[0:20, 0:30]
    rgba = np.stack([x * 8, y * 12, (x * y) % 256, (x * 37 + y * 11) % 256], -1)
    y, x = np.mgrid[0:13, 0:17]
    grey = (x * 15 + y * 9) % 256
    return [("nima_pattern_331x250", big.astype(np.uint8), "RGB"), ("nima_rgba_30x20", rgba.astype(np.uint8), "RGBA"),
            ("nima_grey_17x13", grey.astype(np.uint8), "L")]


def pil_nearest_indices(n_in, n_out):
    """The source index of each output column of PIL's resize(NEAREST) (what load_img calls),
    read off an image whose pixels are their own column numbers."""
    row = Image.fromarray(np.arange(n_in, dtype=np.int32)[None, :], "I")
    return np.array(row.resize((n_out, 1), Image.NEAREST), dtype=np.int64)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="the tiny-nima folder with catimage's random weights")
    ap.add_argument("--keras-applications-102", required=True,
                    help="keras-applications 1.0.2's keras_applications/ source folder")
    ap.add_argument("--out", required=True, help="tests/fixtures/parity")
    ap.add_argument("--images", required=True, help="tests/fixtures/scoring (PNG inputs; nima_*.png written here)")
    a = ap.parse_args()
    import keras_applications
    import keras_applications.mobilenet as mobilenet_108
    import keras_preprocessing
    from keras_preprocessing.image import load_img

    assert keras_applications.__version__ == "1.0.8", keras_applications.__version__
    mobilenet_102 = keras_applications_102(a.keras_applications_102)
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    sd = {k: v.astype(np.float64) for k, v in read_safetensors(os.path.join(a.model, "model.safetensors")).items()}
    sd32 = read_safetensors(os.path.join(a.model, "model.safetensors"))
    alpha, dm = cfg["alpha"], cfg.get("depth_multiplier", 1)
    import tempfile
    work = tempfile.mkdtemp()

    # the weights in Keras' layouts, and back through the converter
    variants = {"same": (mobilenet_108, True, "1.0.8"), "symmetric": (mobilenet_102, False, "1.0.2")}
    models = {}
    for padding, (mod, pass_modules, version) in variants.items():
        for style, full_save, keras_version in (("keras", False, "2.1.6"), ("tf.keras", True, "2.2.4-tf")):
            model = build_nima(mod, alpha, dm, style, pass_modules)
            h5 = os.path.join(work, f"{padding}-{style}.h5")
            write_keras_h5(h5, model, sd32, full_save, keras_version)
            folder = os.path.join(work, f"{padding}-{style}")
            got = convert_file(h5, folder, padding=None if full_save else padding)
            assert got["padding"] == padding, (h5, got["padding"])
            assert got["alpha"] == alpha and got["depth_multiplier"] == dm, got
            back = read_safetensors(os.path.join(folder, "model.safetensors"))
            assert sorted(back) == sorted(sd32), sorted(set(back) ^ set(sd32))
            for k in sd32:
                assert back[k].dtype == np.float32 and np.array_equal(back[k], sd32[k]), k
            model.load_weights_h5(h5)
            models.setdefault(padding, model)
        print(f"padding {padding}: keras-applications {version}; {len(sd32)} tensors converted back bit for bit "
              f"from save_weights and model.save files")
    names = [l.name for l in models["same"].layers]
    assert names[:4] == ["input_1", "conv1_pad", "conv1", "conv1_bn"] and names[-2:] == ["dropout_1", "dense_1"], names
    assert "conv_pad_1" not in names and "conv_pad_2" in names  # 1.0.8 pads explicitly at stride 2 only
    assert "conv_pad_1" in [l.name for l in models["symmetric"].layers]

    # the images: keras_preprocessing's load_img + keras-applications' preprocess_input, idealo's way
    t, meta_images = {}, []
    os.makedirs(a.images, exist_ok=True)
    for name, arr, mode in synthetic_images():
        path = os.path.join(a.images, name + ".png")
        Image.fromarray(arr, mode).save(path, optimize=True)
    inputs = ["gradient_48x40", "noise_40x56", "checker_20x24", "nima_pattern_331x250", "nima_rgba_30x20",
              "nima_grey_17x13"]
    size = cfg["image_size"]
    X = np.empty((len(inputs), size, size, 3))  # float64, as idealo's TestDataGenerator
    for i, name in enumerate(inputs):
        path = os.path.join(a.images, name + ".png")
        rgb = np.asarray(Image.open(path).convert("RGB"))
        img = np.asarray(load_img(path, target_size=(size, size)))
        rows, cols = pil_nearest_indices(rgb.shape[0], size), pil_nearest_indices(rgb.shape[1], size)
        assert np.array_equal(img, rgb[rows][:, cols]), name  # load_img is convert("RGB") + those indices
        X[i] = img
        meta_images.append({"name": name, "width": rgb.shape[1], "height": rgb.shape[0],
                            "rgb_fnv1a64": fnv1a64(rgb.tobytes())})
    X = mobilenet_108.preprocess_input(X, backend=Backend).astype(np.float32)  # Keras feeds float32
    table = mobilenet_108.preprocess_input(np.arange(256, dtype=np.float64), backend=Backend).astype(np.float32)
    t["preprocess.table"] = table
    sizes = [1, 2, 13, 17, 20, 24, 30, 40, 48, 56, 97, 111, 223, 224, 225, 250, 331, 448, 500, 512, 640, 1000, 1023,
             1024, 4000]
    for n in sizes:
        t[f"nearest.{n}"] = pil_nearest_indices(n, size).astype(np.int32)
    for i, name in enumerate(inputs):  # a checksum of each input as the model sees it
        assert np.array_equal(X[i], table[np.asarray(load_img(os.path.join(a.images, name + ".png"),
                                                              target_size=(size, size)))])

    # the outputs
    for padding, model in models.items():
        outs = model.predict(X.astype(np.float64))
        probs = outs[model.layers[-1].name]
        features = outs[model.layers[-3].name]  # global average pooling
        dense = model.layers[-1]
        # idealo's calc_mean_score: the distribution normalised, then sum of i * p_i, i = 1..10
        p = probs / probs.sum(-1, keepdims=True)
        score = (p * np.arange(1, 11)).sum(-1)
        t[f"{padding}.features"] = features.astype(np.float32)
        t[f"{padding}.logits"] = dense.logits.astype(np.float32)
        t[f"{padding}.probs"] = probs.astype(np.float32)
        t[f"{padding}.score"] = score.astype(np.float32)
        t[f"{padding}.conv1_relu"] = outs["conv1_relu"][:, :4, :4, :].transpose(0, 3, 1, 2).astype(np.float32)
        print(f"padding {padding}: scores {np.round(score, 4).tolist()}; feature spread across images "
              f"{features.std(0).mean():.4f} (mean {features.mean():.4f})")
    d = np.abs(t["same.score"] - t["symmetric.score"])
    print(f"same vs symmetric padding: scores differ by up to {d.max():.4f}")

    os.makedirs(a.out, exist_ok=True)
    write_safetensors(os.path.join(a.out, "nima_reference.safetensors"),
                      {k: np.ascontiguousarray(v) for k, v in t.items()})
    import PIL
    meta = {"keras_applications": [keras_applications.__version__, "1.0.2"],
            "keras_preprocessing": keras_preprocessing.__version__, "PIL": PIL.__version__,
            "numpy": np.__version__, "images": meta_images, "nearest_sizes": sizes, "image_size": size,
            "alpha": alpha}
    with open(os.path.join(a.out, "nima_reference.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    import shutil
    shutil.rmtree(work)
    print("wrote", os.path.join(a.out, "nima_reference.safetensors"), "with", len(t), "tensors")


if __name__ == "__main__":
    main()
