"""keras3_fixtures.py: Keras 3 .keras archives, written at test time with h5py + zipfile + numpy
(Keras itself is not installed) in the layout keras/src/saving/saving_lib.py writes with
model.save("x.keras"): a zip (stored, as Python's zipfile writes it by default) of
metadata.json, config.json (serialize_keras_object(model)) and model.weights.h5 (H5IOStore:
<path>/vars/<i> per saveable; layers at <model path>/layers/<snake_case class>[_<n>], numbered
per container in the order of model.layers; optimizer variables under optimizer/), plus hostile
variants.

`python3 keras3_fixtures.py OUTDIR` writes OUTDIR/<case>.keras and OUTDIR/manifest.txt in the
format of keras_fixtures.py (ok lines with .x/.y float64 files, refuse lines with a substring)."""
import io
import json
import os
import re
import sys
import warnings
import zipfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keras_fixtures import (RNG, dense_cfg, dense_weights, forward, functional,  # noqa: E402
                            input_cfg, rand, sequential, simple)


# ---- the layout ---------------------------------------------------------------------------------
def to_snake_case(name):  # keras.src.utils.naming.to_snake_case
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def layer_paths(model, prefix=""):
    """(path, layer config) of every layer, as _save_state / _save_container_state name them:
    the model's `layers` (a Sequential's omit its InputLayer), per-container counters."""
    out, used = [], {}
    seq = model["class_name"] == "Sequential"
    for layer in model["config"]["layers"]:
        if seq and layer["class_name"] == "InputLayer":
            continue
        n = to_snake_case(layer["class_name"])
        if n in used:
            used[n] += 1
            n = "%s_%d" % (n, used[n])
        else:
            used[n] = 0
        p = (prefix + "/" if prefix else "") + "layers/" + n
        out.append((p, layer))
        if layer["class_name"] in ("Sequential", "Functional"):
            out.extend(layer_paths(layer, p))
    return out


def weights_h5(model, weights, root="layers", tamper=None, lazy=False):
    """model.weights.h5 bytes. weights: layer name -> [arrays] (vars/0, vars/1, ...). Keras 3.0
    creates every saveable's vars group; later H5IOStore.make defers it to the first variable
    (lazy: no group for a layer without variables, no root vars)."""
    bio = io.BytesIO()
    with h5py.File(bio, "w") as f:
        if not lazy:
            f.create_group("vars")  # the model object's own variables: none
        for path, layer in layer_paths(model):
            if root != "layers":
                path = path.replace("layers", root)
            arrays = weights.get(layer["config"]["name"], [])
            if lazy and not arrays:
                continue
            g = f.create_group(path).create_group("vars")
            for i, arr in enumerate(arrays):
                g.create_dataset(str(i), data=arr)
        o = f.create_group("optimizer").create_group("vars")
        o.create_dataset("0", data=np.int64(10))
        o.create_dataset("1", data=np.float32(0.001))
        if tamper:
            tamper(f)
    return bio.getvalue()


def archive(model, weights, version="3.3.3", compression=zipfile.ZIP_STORED, members=None,
            root="layers", tamper=None, config_text=None, lazy=False):
    """The .keras bytes; members: list of (name, bytes) replacing the default three."""
    cfg = dict(model)
    cfg.setdefault("build_config", {"input_shape": None})
    cfg.setdefault("compile_config", {"optimizer": "adam", "loss": "mse"})
    if members is None:
        members = [("metadata.json", json.dumps({"keras_version": version,
                                                 "date_saved": "2026-11-29@07:00:00"}).encode()),
                   ("config.json", (config_text if config_text is not None
                                    else json.dumps(cfg)).encode()),
                   ("model.weights.h5", weights_h5(model, weights, root, tamper, lazy))]
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", compression=compression) as z:
        for name, data in members:
            z.writestr(name, data)
    return bio.getvalue()


class Fixtures:
    def __init__(self, out):
        self.out = out
        self.lines = []

    def ok(self, case, nf, plan, data):
        with open(os.path.join(self.out, case + ".keras"), "wb") as f:
            f.write(data)
        X = RNG.normal(size=(29, nf)).astype(np.float32).astype(np.float64)
        Y = forward(X, plan)
        X.tofile(os.path.join(self.out, case + ".x"))
        np.ascontiguousarray(Y, dtype=np.float64).tofile(os.path.join(self.out, case + ".y"))
        self.lines.append("ok %s %d %d %d" % (case, X.shape[0], nf, Y.shape[1]))

    def refuse(self, case, substring, data):
        with open(os.path.join(self.out, case + ".keras"), "wb") as f:
            f.write(data)
        self.lines.append("refuse %s %s" % (case, substring))

    def done(self):
        with open(os.path.join(self.out, "manifest.txt"), "w") as f:
            f.write("\n".join(self.lines) + "\n")


def k3_seq(name, layers):
    return sequential(name, layers, k3=True)


def bn_cfg(name, center=True, scale=True, eps=1e-3):
    return simple("BatchNormalization", name, k3=True, axis=-1, momentum=0.99, epsilon=eps,
                  center=center, scale=scale)


def zip_patch(data, name, fn):
    """Apply fn(bytearray, data offset, size) to a stored member's bytes."""
    z = zipfile.ZipFile(io.BytesIO(data))
    info = z.getinfo(name)
    b = bytearray(data)
    off = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    fn(b, off, info.compress_size)
    return bytes(b)


def lying_size(data, name, size):
    """Declare `size` uncompressed bytes (and the CRC of that prefix) for a deflated member
    that inflates to more, in both its local and its central header."""
    import struct
    import zlib
    z = zipfile.ZipFile(io.BytesIO(data))
    info = z.getinfo(name)
    crc = zlib.crc32(z.read(name)[:size])
    b = bytearray(data)
    struct.pack_into("<I", b, info.header_offset + 14, crc)
    struct.pack_into("<I", b, info.header_offset + 22, size)
    i = data.find(b"PK\x01\x02")
    while i >= 0:
        nlen = struct.unpack_from("<H", b, i + 28)[0]
        if bytes(b[i + 46:i + 46 + nlen]) == name.encode():
            struct.pack_into("<I", b, i + 16, crc)
            struct.pack_into("<I", b, i + 24, size)
        i = data.find(b"PK\x01\x02", i + 1)
    return bytes(b)


def build(out):
    fx = Fixtures(out)

    # 1. Sequential: InputLayer, Dense relu, Dropout, Dense relu, Dense softmax
    W1, b1 = dense_weights(8, 16)
    W2, b2 = dense_weights(16, 12)
    W3, b3 = dense_weights(12, 3)
    seq = k3_seq("sequential", [input_cfg("input_layer", 8, k3=True),
                                dense_cfg("dense", 16, "relu", k3=True),
                                simple("Dropout", "dropout", k3=True, rate=0.5, seed=None),
                                dense_cfg("dense_1", 12, "relu", k3=True),
                                dense_cfg("dense_2", 3, "softmax", k3=True)])
    seq_w = {"dense": [W1, b1], "dense_1": [W2, b2], "dense_2": [W3, b3]}
    seq_plan = [("dense", W1, b1, "relu"), ("dense", W2, b2, "relu"),
                ("dense", W3, b3, "softmax")]
    fx.ok("k3_seq", 8, seq_plan, archive(seq, seq_w))
    fx.ok("k3_seq_deflate", 8, seq_plan, archive(seq, seq_w, compression=zipfile.ZIP_DEFLATED))

    def seed_state(f):  # a SeedGenerator's state below a Dropout: random state, ignored
        f["layers/dropout"].create_group("seed_generator").create_group("vars").create_dataset(
            "0", data=np.array([1337, 0], dtype=np.uint32))
    fx.ok("k3_seq_seedgen", 8, seq_plan, archive(seq, seq_w, tamper=seed_state))
    # tf.keras 2.13-2.15 spelled the layer containers _layer_checkpoint_dependencies
    fx.ok("k3_seq_tf213", 8, seq_plan, archive(seq, seq_w, version="2.13.1",
                                               root="_layer_checkpoint_dependencies"))
    # a later Keras 3: groups only for layers with variables; the weights member last, after
    # the assets (written from a temporary file for a large model)
    lazy = zipfile_members(archive(seq, seq_w, version="3.10.0", lazy=True))
    fx.ok("k3_seq_lazy", 8, seq_plan,
          archive(seq, seq_w, members=[m for m in lazy if m[0] != "model.weights.h5"] +
                  [("assets/readme.txt", b"x")] +
                  [m for m in lazy if m[0] == "model.weights.h5"]))
    # written to an unseekable stream (a remote path): sizes and CRCs in data descriptors
    class Unseekable(io.RawIOBase):
        def __init__(self):
            self.b = bytearray()

        def writable(self):
            return True

        def write(self, d):
            self.b += d
            return len(d)

    stream = Unseekable()
    with zipfile.ZipFile(stream, "w") as z:
        for n, d in zipfile_members(archive(seq, seq_w)):
            with z.open(n, "w") as f:
                f.write(d)
    fx.ok("k3_seq_streamed", 8, seq_plan, bytes(stream.b))
    # no metadata.json: Keras does not need it either
    no_meta = [(n, d) for n, d in zipfile_members(archive(seq, seq_w)) if n != "metadata.json"]
    fx.ok("k3_seq_nometa", 8, seq_plan, archive(seq, seq_w, members=no_meta))

    # 2. Functional chain with BatchNormalization; config lists the layers out of chain order
    W1, b1 = dense_weights(6, 10)
    g, be, mu = rand(10), rand(10), rand(10)
    var = np.abs(rand(10)) + 0.5
    W2, b2 = dense_weights(10, 7)
    W3, b3 = dense_weights(7, 2)
    fn = functional("functional", [input_cfg("inp", 6, k3=True),
                                   dense_cfg("d_in", 10, "relu", k3=True),
                                   bn_cfg("bn", eps=1e-3),
                                   dense_cfg("d_mid", 7, "tanh", k3=True),
                                   dense_cfg("d_out", 2, "linear", k3=True)],
                    k3=True, order=[0, 1, 2, 4, 3])
    fn_w = {"d_in": [W1, b1], "bn": [g, be, mu, var], "d_mid": [W2, b2], "d_out": [W3, b3]}
    fx.ok("k3_functional", 6, [("dense", W1, b1, "relu"), ("bn", g, be, mu, var, 1e-3),
                               ("dense", W2, b2, "tanh"), ("dense", W3, b3, "linear")],
          archive(fn, fn_w))

    # 3. nested Sequential inside a Sequential, BatchNormalization without center, PReLU,
    # LeakyReLU, float64 weights
    W1, b1 = dense_weights(5, 9, dtype=np.float64)
    W2, b2 = dense_weights(9, 9)
    gs, mu2 = rand(9), rand(9)
    var2 = np.abs(rand(9)) + 0.25
    alpha = np.abs(rand(9)) * 0.3
    W3, b3 = dense_weights(9, 4)
    inner = k3_seq("inner", [dense_cfg("i_d1", 9, "linear", k3=True),
                             dense_cfg("i_d2", 9, "linear", k3=True),
                             bn_cfg("i_bn", center=False, eps=1e-2)])
    nest = k3_seq("outer", [input_cfg("x", 5, k3=True), inner,
                            simple("PReLU", "prelu", k3=True, shared_axes=None),
                            simple("LeakyReLU", "leaky", k3=True, negative_slope=0.2),
                            dense_cfg("o_d", 4, "sigmoid", k3=True)])
    nest_w = {"i_d1": [W1, b1], "i_d2": [W2, b2], "i_bn": [gs, mu2, var2], "prelu": [alpha],
              "o_d": [W3, b3]}
    fx.ok("k3_nested", 5, [("dense", W1, b1, "linear"), ("dense", W2, b2, "linear"),
                           ("bn", gs, None, mu2, var2, 1e-2), ("leaky", alpha),
                           ("leaky", 0.2), ("dense", W3, b3, "sigmoid")],
          archive(nest, nest_w))

    # 4. two nested models of the same class: sequential, sequential_1
    Wa, ba = dense_weights(4, 3)
    Wb, bb = dense_weights(3, 2)
    twice = k3_seq("twice", [input_cfg("x", 4, k3=True),
                             k3_seq("s_a", [dense_cfg("a", 3, "tanh", k3=True)]),
                             k3_seq("s_b", [dense_cfg("b", 2, "linear", k3=True)])])
    fx.ok("k3_two_nested", 4, [("dense", Wa, ba, "tanh"), ("dense", Wb, bb, "linear")],
          archive(twice, {"a": [Wa, ba], "b": [Wb, bb]}))

    # ---- refusals ---------------------------------------------------------------------------
    good = archive(seq, seq_w)
    fx.refuse("k3_truncated", "not a readable zip archive", good[:len(good) // 2])
    fx.refuse("k3_truncated_tail", "not a readable zip archive", good[:-30])

    def flip(b, off, size):
        b[off + size // 2] ^= 0x01
    fx.refuse("k3_bad_crc", "CRC", zip_patch(good, "config.json", flip))
    fx.refuse("k3_bad_crc_weights", "CRC", zip_patch(good, "model.weights.h5", flip))
    bomb = [("metadata.json", b"{}"), ("config.json", b" " * (65 << 20)),
            ("model.weights.h5", b"")]
    fx.refuse("k3_zip_bomb", "more than the limit",
              archive(seq, seq_w, compression=zipfile.ZIP_DEFLATED, members=bomb))
    fx.refuse("k3_lying_size", "member config.json",
              lying_size(archive(seq, seq_w, compression=zipfile.ZIP_DEFLATED), "config.json",
                         100))
    fx.refuse("k3_no_config", "no config.json",
              archive(seq, seq_w, members=[(n, d) for n, d in zipfile_members(good)
                                           if n != "config.json"]))
    fx.refuse("k3_no_weights", "no model.weights.h5",
              archive(seq, seq_w, members=[(n, d) for n, d in zipfile_members(good)
                                           if n != "model.weights.h5"]))
    npz = [(n, d) for n, d in zipfile_members(good) if n != "model.weights.h5"]
    fx.refuse("k3_npz_weights", "model.weights.npz",
              archive(seq, seq_w, members=npz + [("model.weights.npz", b"PK\x05\x06" + bytes(18))]))
    fx.refuse("k3_weights_not_h5", "not an HDF5 file",
              archive(seq, seq_w, members=[(n, d if n != "model.weights.h5" else b"{}")
                                           for n, d in zipfile_members(good)]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile's "Duplicate name"
        fx.refuse("k3_twice", "two members have the same name",
                  archive(seq, seq_w, members=zipfile_members(good) + [("config.json", b"{}")]))
    many = zipfile_members(good) + [("assets/%d" % i, b"") for i in range(10001)]
    fx.refuse("k3_many_members", "more than 10000", archive(seq, seq_w, members=many))
    fx.refuse("k3_config_not_json", "config.json is not valid JSON",
              archive(seq, seq_w, config_text='{"class_name": "Sequential", '))
    fx.refuse("k3_config_array", "config.json is not a JSON object",
              archive(seq, seq_w, config_text="[1, 2]"))
    fx.refuse("k3_meta_not_json", "metadata.json is not a JSON object",
              archive(seq, seq_w, members=[(n, d if n != "metadata.json" else b"nope")
                                           for n, d in zipfile_members(good)]))
    fx.refuse("k3_bzip2", "compression method 12",
              archive(seq, seq_w, compression=zipfile.ZIP_BZIP2))
    short = dict(seq_w, dense_1=[seq_w["dense_1"][0]])
    fx.refuse("k3_missing_var", "holds 1 weight arrays, the config's layer needs 2",
              archive(seq, short))
    nol = {k: v for k, v in seq_w.items() if k != "dense_2"}
    fx.refuse("k3_missing_layer", "no variables at 'layers/dense_2/vars'", archive(seq, nol))
    extra = dict(seq_w, dropout=[rand(3)])
    fx.refuse("k3_extra_weights", "which no layer of config.json has", archive(seq, extra))
    bad = dict(seq_w, dense_1=[rand(16, 11), rand(11)])
    fx.refuse("k3_shape", "has shape [16, 11], the config needs [16, 12]", archive(seq, bad))

    def gap(f):
        d = f["layers/dense/vars"]
        d["2"] = d["1"][()]
        del d["1"]
    fx.refuse("k3_vars_gap", "no object 'layers/dense/vars/1'", archive(seq, seq_w, tamper=gap))

    def softlink(f):
        d = f["layers/dense/vars"]
        del d["1"]
        d["1"] = h5py.SoftLink("/layers/dense_1/vars/1")
    fx.refuse("k3_softlink", "soft or external link", archive(seq, seq_w, tamper=softlink))

    def vars_dataset(f):
        del f["layers/dense_1/vars"]
        f["layers/dense_1"].create_dataset("vars", data=np.zeros(3))
    fx.refuse("k3_vars_not_group", "'layers/dense_1/vars' is not a group",
              archive(seq, seq_w, tamper=vars_dataset))

    def root_vars(f):
        f["vars"].create_dataset("0", data=np.zeros(3, dtype=np.float32))
    fx.refuse("k3_root_vars", "the model object itself holds 1 weights",
              archive(seq, seq_w, tamper=root_vars))

    def legacy(f):
        f.attrs["model_config"] = "{}"
    fx.refuse("k3_weights_legacy", "no layer_names attribute", archive(seq, seq_w, tamper=legacy))
    fx.refuse("k3_weights_empty", "not in Keras 3's layout",
              archive(seq, seq_w, members=[(n, d if n != "model.weights.h5" else
                                            weights_h5(sequential("s", [], k3=True), {},
                                                       root="elsewhere"))
                                           for n, d in zipfile_members(good)]))
    conv = k3_seq("conv", [input_cfg("x", 8, k3=True),
                           simple("Conv1D", "c", k3=True, filters=2, kernel_size=3),
                           dense_cfg("dense", 3, "linear", k3=True)])
    fx.refuse("k3_conv", "a convolution layer", archive(conv, {}))
    custom = json.loads(json.dumps(seq))
    custom["config"]["layers"][1]["module"] = "my_project.layers"
    fx.refuse("k3_custom", "a custom layer", archive(custom, seq_w))
    sub = {"module": "__main__", "class_name": "MyModel", "config": {"name": "m"},
           "registered_name": "MyModel"}
    fx.refuse("k3_subclassed", "is not a Sequential or Functional model", archive(sub, {},
              members=[("config.json", json.dumps(sub).encode()),
                       ("model.weights.h5", weights_h5(k3_seq("s", []), {}))]))
    fx.done()


def zipfile_members(data):
    z = zipfile.ZipFile(io.BytesIO(data))
    return [(i.filename, z.read(i.filename)) for i in z.infolist()]


if __name__ == "__main__":
    os.makedirs(sys.argv[1], exist_ok=True)
    build(sys.argv[1])
