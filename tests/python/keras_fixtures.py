"""keras_fixtures.py: Keras-layout HDF5 model files, written at test time with h5py + numpy
(Keras itself is not installed): the groups, attributes and datasets Keras 1/2 (standalone and
tf.keras) and Keras 3 write with model.save("x.h5"), plus hostile variants.

`python3 keras_fixtures.py OUTDIR` writes OUTDIR/<case>.h5 and OUTDIR/manifest.txt, one line per
case:
    ok <case> <rows> <n_features> <n_outputs>      (+ <case>.x / <case>.y: float64 raw, row-major)
    refuse <case> <substring the error message must contain>
The expected outputs are a float64 numpy forward pass over the stored weights."""
import json
import os
import sys

import h5py
import numpy as np

RNG = np.random.RandomState(1234)


# ---- forward pass ---------------------------------------------------------------------------
def act(name, z):
    if name in ("linear", None):
        return z
    if name == "relu":
        return np.maximum(z, 0)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "elu":
        return np.where(z > 0, z, np.expm1(np.minimum(z, 0)))
    if name == "selu":
        return 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 *
                                             np.expm1(np.minimum(z, 0)))
    if name == "softplus":
        return np.logaddexp(0, z)
    if name == "softsign":
        return z / (1 + np.abs(z))
    if name in ("swish", "silu"):
        return z / (1 + np.exp(-z))
    if name == "gelu":
        from math import erf
        return 0.5 * z * (1 + np.vectorize(erf)(z / np.sqrt(2)))
    if name == "exponential":
        return np.exp(z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(name)


def forward(X, plan):
    """plan: list of ('dense', W[in,out], b or None, act) | ('act', name)."""
    h = X.astype(np.float64)
    for step in plan:
        if step[0] == "dense":
            _, W, b, a = step
            h = h @ W.astype(np.float64)
            if b is not None:
                h = h + b.astype(np.float64)
            h = act(a, h)
        elif step[0] == "leaky":
            slope = np.asarray(step[1], dtype=np.float64)
            h = np.where(h > 0, h, h * slope)
        elif step[0] == "bn":
            _, gamma, beta, mean, var, eps = step
            f = lambda v: v.astype(np.float64)
            h = (h - f(mean)) / np.sqrt(f(var) + eps)
            if gamma is not None:
                h = h * f(gamma)
            if beta is not None:
                h = h + f(beta)
        else:
            h = act(step[1], h)
    return h


# ---- config pieces -----------------------------------------------------------------------------
def policy(k3, name="float32"):
    if k3:
        return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name},
                "registered_name": None}
    return name


def dense_cfg(name, units, activation, use_bias=True, k3=False, input_shape=None, trainable=True,
              keras1=False):
    if keras1:
        c = {"name": name, "output_dim": units, "activation": activation, "bias": use_bias,
             "init": "glorot_uniform", "trainable": trainable}
    else:
        c = {"name": name, "trainable": trainable, "dtype": policy(k3), "units": units,
             "activation": activation, "use_bias": use_bias,
             "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
             "bias_initializer": {"class_name": "Zeros", "config": {}},
             "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
             "kernel_constraint": None, "bias_constraint": None}
    if input_shape is not None:
        c["batch_input_shape"] = [None, input_shape]
    layer = {"class_name": "Dense", "config": c}
    if k3:
        layer["module"] = "keras.layers"
        layer["registered_name"] = None
    return layer


def input_cfg(name, n, k3=False):
    if k3:
        return {"class_name": "InputLayer", "module": "keras.layers", "registered_name": None,
                "config": {"batch_shape": [None, n], "dtype": "float32", "sparse": False,
                           "name": name}}
    return {"class_name": "InputLayer",
            "config": {"batch_input_shape": [None, n], "dtype": "float32", "sparse": False,
                       "ragged": False, "name": name}}


def simple(cls, name, k3=False, **cfg):
    c = {"name": name, "trainable": True, "dtype": policy(k3)}
    c.update(cfg)
    layer = {"class_name": cls, "config": c}
    if k3:
        layer["module"] = "keras.layers"
        layer["registered_name"] = None
    return layer


def sequential(name, layers, k3=False, list_form=False):
    if list_form:  # standalone Keras <= 2.1: config is the bare list of layers
        return {"class_name": "Sequential", "config": layers}
    cfg = {"name": name, "layers": layers}
    if k3:
        cfg["trainable"] = True
        cfg["dtype"] = policy(True)
        return {"module": "keras", "class_name": "Sequential", "config": cfg,
                "registered_name": None}
    return {"class_name": "Sequential", "config": cfg}


def functional(name, layers, k3=False, order=None):
    """Chain the layers in list order (first = InputLayer); `order` permutes how they are
    listed in the config (the chain stays the same)."""
    out = []
    prev = None
    for layer in layers:
        layer = json.loads(json.dumps(layer))
        lname = layer["config"]["name"]
        if prev is None:
            nodes = []
        elif k3:
            nodes = [{"args": [{"class_name": "__keras_tensor__",
                                "config": {"shape": [None, 1], "dtype": "float32",
                                           "keras_history": [prev, 0, 0]}}],
                      "kwargs": {}}]
        else:
            nodes = [[[prev, 0, 0, {}]]]
        layer["name"] = lname
        layer["inbound_nodes"] = nodes
        out.append(layer)
        prev = lname
    first = out[0]["config"]["name"]
    if order:
        out = [out[i] for i in order]
    cfg = {"name": name, "trainable": True, "layers": out}
    if k3:
        cfg["input_layers"] = [first, 0, 0]
        cfg["output_layers"] = [prev, 0, 0]
        return {"module": "keras", "class_name": "Functional", "config": cfg,
                "registered_name": "Functional"}
    cfg["input_layers"] = [[first, 0, 0]]
    cfg["output_layers"] = [[prev, 0, 0]]
    return {"class_name": "Functional", "config": cfg}


# ---- files --------------------------------------------------------------------------------------
def text_attr(obj, key, value, vlen):
    if vlen:
        obj.attrs[key] = value
    else:
        obj.attrs[key] = value.encode("utf8")  # h5py: fixed-length bytes, as Keras 2 wrote


def list_attr(obj, key, values, vlen, chunks=1):
    if not values:
        obj.attrs[key] = np.array([])  # Keras 2 writes an empty float array
        return
    if vlen:
        data = [v for v in values]
    else:
        data = np.array([v.encode("utf8") for v in values])
    if chunks == 1:
        obj.attrs[key] = data
    else:
        for i, part in enumerate(np.array_split(np.asarray(data, dtype=object if vlen else None),
                                                chunks)):
            obj.attrs["%s%d" % (key, i)] = list(part) if vlen else part


def write_model(path, config, groups, version="2.4.0", k3=False, userblock=0, chunks=1,
                with_config=True, extra=None):
    """groups: list of (layer group name, [(weight name, array), ...]) in layer_names order."""
    kw = {"userblock_size": userblock} if userblock else {}
    with h5py.File(path, "w", **kw) as f:
        vlen = k3
        if with_config:
            text_attr(f, "model_config", config if isinstance(config, str) else json.dumps(config),
                      vlen)
        text_attr(f, "keras_version", version, vlen)
        text_attr(f, "backend", "tensorflow", vlen)
        text_attr(f, "training_config", json.dumps({"loss": "mse"}), vlen)
        g = f.create_group("model_weights")
        text_attr(g, "keras_version", version, vlen)
        text_attr(g, "backend", "tensorflow", vlen)
        list_attr(g, "layer_names", [n for n, _ in groups], vlen, chunks)
        for lname, weights in groups:
            lg = g.create_group(lname)
            list_attr(lg, "weight_names", [w for w, _ in weights], vlen)
            for wname, arr in weights:
                lg.create_dataset(wname, data=arr)
        if k3:
            t = g.create_group("top_level_model_weights")
            t.attrs["weight_names"] = []
        o = f.create_group("optimizer_weights")
        o.create_dataset("adam/iteration", data=np.int64(10))
        if extra:
            extra(f)


def rand(*shape, dtype=np.float32):
    return (RNG.normal(size=shape) * 0.5).astype(dtype)


class Fixtures:
    def __init__(self, out):
        self.out = out
        self.lines = []

    def ok(self, case, nf, plan, **kw):
        path = os.path.join(self.out, case + ".h5")
        write_model(path, **kw)
        X = RNG.normal(size=(37, nf)).astype(np.float32).astype(np.float64)
        Y = forward(X, plan)
        X.tofile(os.path.join(self.out, case + ".x"))
        np.ascontiguousarray(Y, dtype=np.float64).tofile(os.path.join(self.out, case + ".y"))
        self.lines.append("ok %s %d %d %d" % (case, X.shape[0], nf, Y.shape[1]))

    def refuse(self, case, substring, writer=None, **kw):
        path = os.path.join(self.out, case + ".h5")
        if writer:
            writer(path)
        else:
            write_model(path, **kw)
        self.lines.append("refuse %s %s" % (case, substring))

    def done(self):
        with open(os.path.join(self.out, "manifest.txt"), "w") as f:
            f.write("\n".join(self.lines) + "\n")


def dense_weights(nin, units, bias=True, dtype=np.float32):
    W = rand(nin, units, dtype=dtype)
    b = rand(units, dtype=dtype) if bias else None
    return W, b


def k2_names(lname, W, b):
    ws = [(lname + "/kernel:0", W)]
    if b is not None:
        ws.append((lname + "/bias:0", b))
    return ws


def k3_names(prefix, lname, W, b):
    ws = [(prefix + "/" + lname + "/kernel", W)]
    if b is not None:
        ws.append((prefix + "/" + lname + "/bias", b))
    return ws


def build(out):
    fx = Fixtures(out)

    # 1. tf.keras 2.x Sequential, first Dense carries batch_input_shape; relu/relu/sigmoid
    W1, b1 = dense_weights(11, 6)
    W2, b2 = dense_weights(6, 6)
    W3, b3 = dense_weights(6, 1)
    cfg = sequential("sequential_1", [dense_cfg("dense_1", 6, "relu", input_shape=11),
                                      dense_cfg("dense_2", 6, "relu"),
                                      dense_cfg("dense_3", 1, "sigmoid")])
    fx.ok("k2_seq", 11, [("dense", W1, b1, "relu"), ("dense", W2, b2, "relu"),
                         ("dense", W3, b3, "sigmoid")],
          config=cfg, groups=[("dense_1", k2_names("dense_1", W1, b1)),
                              ("dense_2", k2_names("dense_2", W2, b2)),
                              ("dense_3", k2_names("dense_3", W3, b3))], version="2.2.4")

    # 2. standalone Keras 2.1: config is a bare list; linear output with 3 units
    W1, b1 = dense_weights(9, 16)
    W2, b2 = dense_weights(16, 3)
    cfg = sequential(None, [dense_cfg("d1", 16, "tanh", input_shape=9),
                            dense_cfg("d2", 3, "linear")], list_form=True)
    fx.ok("k21_list", 9, [("dense", W1, b1, "tanh"), ("dense", W2, b2, "linear")],
          config=cfg, groups=[("d1", k2_names("d1", W1, b1)), ("d2", k2_names("d2", W2, b2))],
          version="2.1.2")

    # 3. Keras 3 Sequential: InputLayer batch_shape, Dropout, softmax over 4 classes
    W1, b1 = dense_weights(5, 13)
    W2, b2 = dense_weights(13, 4)
    cfg = sequential("sequential_4", [input_cfg("input_layer", 5, k3=True),
                                      dense_cfg("dense_8", 13, "relu", k3=True),
                                      simple("Dropout", "dropout", True, rate=0.3, seed=None,
                                             noise_shape=None),
                                      dense_cfg("dense_9", 4, "softmax", k3=True)], k3=True)
    fx.ok("k3_seq", 5, [("dense", W1, b1, "relu"), ("dense", W2, b2, "softmax")],
          config=cfg, k3=True, version="3.5.0",
          groups=[("dense_8", k3_names("sequential_4", "dense_8", W1, b1)),
                  ("dropout", []),
                  ("dense_9", k3_names("sequential_4", "dense_9", W2, b2))])

    # 4. tf.keras 2.x Functional: use_bias=False, Dense(linear) + Activation(sigmoid) on a
    # hidden layer, Flatten of a flat input, layers listed out of chain order in the config
    W1, _ = dense_weights(7, 10, bias=False)
    W2, b2 = dense_weights(10, 2)
    layers = [input_cfg("input_1", 7), dense_cfg("dense", 10, "linear", use_bias=False),
              simple("Activation", "act", activation="sigmoid"),
              simple("Flatten", "flatten", data_format="channels_last"),
              dense_cfg("dense_1", 2, "tanh")]
    cfg = functional("model", layers, order=[0, 2, 1, 3, 4])
    fx.ok("k2_functional", 7, [("dense", W1, None, "sigmoid"), ("dense", W2, b2, "tanh")],
          config=cfg, version="2.14.0",
          groups=[("input_1", []), ("act", []), ("dense", k2_names("dense", W1, None)),
                  ("flatten", []), ("dense_1", k2_names("dense_1", W2, b2))])

    # 5. Keras 3 Functional (keras_history inbound nodes), float64 weights, a 512-byte user
    # block before the superblock, layer_names split in chunks (layer_names0, layer_names1)
    W1, b1 = dense_weights(4, 8, dtype=np.float64)
    W2, b2 = dense_weights(8, 8, dtype=np.float64)
    W3, b3 = dense_weights(8, 1, dtype=np.float64)
    layers = [input_cfg("input_layer", 4, k3=True), dense_cfg("dense", 8, "relu", k3=True),
              dense_cfg("dense_1", 8, "sigmoid", k3=True), dense_cfg("dense_2", 1, "linear",
                                                                       k3=True)]
    cfg = functional("functional", layers, k3=True)
    fx.ok("k3_functional", 4, [("dense", W1, b1, "relu"), ("dense", W2, b2, "sigmoid"),
                               ("dense", W3, b3, "linear")],
          config=cfg, k3=True, version="3.4.1", userblock=512, chunks=2,
          groups=[("dense", k3_names("functional", "dense", W1, b1)),
                  ("dense_1", k3_names("functional", "dense_1", W2, b2)),
                  ("dense_2", k3_names("functional", "dense_2", W3, b3)),
                  ("input_layer", [])])

    # 6. Keras 3 nested Sequential (flattened): weights of the inner model in one group
    W1, b1 = dense_weights(6, 12)
    W2, b2 = dense_weights(12, 5)
    W3, b3 = dense_weights(5, 1)
    inner = sequential("sequential_5", [input_cfg("input_layer_5", 6, k3=True),
                                        dense_cfg("dense_20", 12, "relu", k3=True),
                                        simple("Dropout", "dropout_5", True, rate=0.2),
                                        dense_cfg("dense_21", 5, "relu", k3=True)], k3=True)
    cfg = sequential("sequential_8", [input_cfg("input_layer_8", 6, k3=True), inner,
                                      simple("Dropout", "dropout_6", True, rate=0.5),
                                      dense_cfg("dense_27", 1, "sigmoid", k3=True)], k3=True)
    fx.ok("k3_nested", 6, [("dense", W1, b1, "relu"), ("dense", W2, b2, "relu"),
                           ("dense", W3, b3, "sigmoid")],
          config=cfg, k3=True, version="3.4.1",
          groups=[("sequential_5", k3_names("sequential_5", "dense_20", W1, b1) +
                   k3_names("sequential_5", "dense_21", W2, b2)),
                  ("dropout_6", []),
                  ("dense_27", k3_names("sequential_8", "dense_27", W3, b3))])

    # 7. tf.keras nested model with a frozen first sublayer: Keras stores trainable weights
    # first (dense_b), then the frozen ones (dense_a)
    W1, b1 = dense_weights(3, 4)
    W2, b2 = dense_weights(4, 2)
    inner = sequential("base", [dense_cfg("dense_a", 4, "relu", input_shape=3, trainable=False),
                                dense_cfg("dense_b", 2, "linear")])
    cfg = sequential("outer", [input_cfg("inp", 3), inner, simple("Activation", "sm",
                                                                  activation="softmax")])
    fx.ok("k2_nested_frozen", 3, [("dense", W1, b1, "relu"), ("dense", W2, b2, "softmax")],
          config=cfg, version="2.7.0",
          groups=[("base", k2_names("dense_b", W2, b2) + k2_names("dense_a", W1, b1)),
                  ("sm", [])])

    # 8. two activations in a row (relu then softmax) and an Activation before any Dense
    W1, b1 = dense_weights(5, 6)
    cfg = sequential("s", [input_cfg("in", 5), simple("Activation", "pre", activation="tanh"),
                           dense_cfg("d", 6, "relu"),
                           simple("Activation", "post", activation="softmax")])
    fx.ok("act_chain", 5, [("act", "tanh"), ("dense", W1, b1, "relu"), ("act", "softmax")],
          config=cfg, version="2.9.0", groups=[("d", k2_names("d", W1, b1))])

    # 9. float16 weights, Keras 1 config names (output_dim, bias)
    W1, b1 = dense_weights(4, 3, dtype=np.float16)
    cfg = sequential("k1", [dense_cfg("dense_1", 3, "sigmoid", input_shape=4, keras1=True)])
    fx.ok("k1_f16", 4, [("dense", W1, b1, "sigmoid")], config=cfg, version="1.2.2",
          groups=[("dense_1", [("dense_1_W", W1), ("dense_1_b", b1)])])

    # 10. BatchNormalization (tf.keras: axis as a list), between Dense(linear) and an Activation
    W1, b1 = dense_weights(6, 9)
    W2, b2 = dense_weights(9, 2)
    g, be = rand(9) + 1, rand(9)
    mu, var = rand(9), np.abs(rand(9)) + 0.5
    bn = simple("BatchNormalization", "batch_normalization", axis=[1], momentum=0.99,
                epsilon=0.001, center=True, scale=True)
    cfg = sequential("s", [input_cfg("in", 6), dense_cfg("dense", 9, "linear"), bn,
                           simple("Activation", "a", activation="relu"),
                           dense_cfg("dense_1", 2, "softmax")])
    fx.ok("k2_batchnorm", 6, [("dense", W1, b1, "linear"), ("bn", g, be, mu, var, 0.001),
                              ("act", "relu"), ("dense", W2, b2, "softmax")],
          config=cfg, version="2.10.0",
          groups=[("dense", k2_names("dense", W1, b1)),
                  ("batch_normalization", [("batch_normalization/gamma:0", g),
                                           ("batch_normalization/beta:0", be),
                                           ("batch_normalization/moving_mean:0", mu),
                                           ("batch_normalization/moving_variance:0", var)]),
                  ("a", []), ("dense_1", k2_names("dense_1", W2, b2))])

    # 11. Keras 3 nested Sequential holding Dense, BatchNormalization(center=False), Dense: the
    # group lists the trainable weights of every sublayer, then the moving statistics
    W1, b1 = dense_weights(3, 5)
    W2, b2 = dense_weights(5, 2)
    g = rand(5) + 1
    mu, var = rand(5), np.abs(rand(5)) + 0.2
    inner = sequential("sequential", [input_cfg("input_layer", 3, k3=True),
                                      dense_cfg("dense", 5, "tanh", k3=True),
                                      simple("BatchNormalization", "bn", True, axis=-1,
                                             epsilon=0.01, center=False, scale=True),
                                      dense_cfg("dense_1", 2, "sigmoid", k3=True)], k3=True)
    cfg = sequential("outer", [input_cfg("input_layer_1", 3, k3=True), inner], k3=True)
    fx.ok("k3_nested_bn", 3, [("dense", W1, b1, "tanh"), ("bn", g, None, mu, var, 0.01),
                              ("dense", W2, b2, "sigmoid")],
          config=cfg, k3=True, version="3.3.3",
          groups=[("sequential", k3_names("sequential", "dense", W1, b1) +
                   [("sequential/bn/gamma", g)] + k3_names("sequential", "dense_1", W2, b2) +
                   [("sequential/bn/moving_mean", mu), ("sequential/bn/moving_variance", var)])])

    # 12. MNIST-style: Flatten of a [4, 3] input first (the converted model takes 12 features,
    # the input flattened in C order)
    W1, b1 = dense_weights(12, 5)
    W2, b2 = dense_weights(5, 2)
    flat = simple("Flatten", "flatten", data_format="channels_last")
    flat["config"]["batch_input_shape"] = [None, 4, 3]
    cfg = sequential("mnistish", [flat, dense_cfg("dense", 5, "relu"),
                                  dense_cfg("dense_1", 2, "softmax")])
    fx.ok("flatten_nd", 12, [("dense", W1, b1, "relu"), ("dense", W2, b2, "softmax")],
          config=cfg, version="2.3.1",
          groups=[("flatten", []), ("dense", k2_names("dense", W1, b1)),
                  ("dense_1", k2_names("dense_1", W2, b2))])

    # 13. the other Keras activations the mlp kind has, hidden and as outputs
    acts = ["elu", "selu", "softplus", "softsign", "swish", "silu", "gelu", "exponential"]
    nf = 4
    plan, layers, groups = [], [input_cfg("input_layer", nf, k3=True)], []
    width = nf
    for i, a in enumerate(acts):
        W, b = dense_weights(width, 6 if i + 1 < len(acts) else 3)
        W = W * 0.5
        plan.append(("dense", W, b, a))
        layers.append(dense_cfg("dense_%d" % i, W.shape[1], a, k3=True))
        groups.append(("dense_%d" % i, k3_names("sequential", "dense_%d" % i, W, b)))
        width = W.shape[1]
    fx.ok("k3_activations", nf, plan, config=sequential("sequential", layers, k3=True), k3=True,
          version="3.1.0", groups=groups)

    # 14. LeakyReLU (tf.keras alpha), PReLU (Keras 3: a per-feature alpha weight), ReLU with a
    # negative slope, and a softmax Activation after the last one
    W1, b1 = dense_weights(5, 7)
    W2, b2 = dense_weights(7, 6)
    W3, b3 = dense_weights(6, 3)
    alpha = np.abs(rand(6)) * 0.5
    cfg = sequential("s", [input_cfg("in", 5, k3=True), dense_cfg("d1", 7, "linear", k3=True),
                           simple("LeakyReLU", "leaky", True, negative_slope=0.1),
                           dense_cfg("d2", 6, "linear", k3=True),
                           simple("PReLU", "prelu", True, shared_axes=None),
                           dense_cfg("d3", 3, "linear", k3=True),
                           simple("ReLU", "r", True, max_value=None, negative_slope=0.05,
                                  threshold=0.0),
                           simple("Activation", "sm", True, activation="softmax")], k3=True)
    fx.ok("k3_leaky", 5, [("dense", W1, b1, "linear"), ("leaky", 0.1),
                          ("dense", W2, b2, "linear"), ("leaky", alpha),
                          ("dense", W3, b3, "linear"), ("leaky", 0.05), ("act", "softmax")],
          config=cfg, k3=True, version="3.2.1",
          groups=[("d1", k3_names("s", "d1", W1, b1)), ("leaky", []),
                  ("d2", k3_names("s", "d2", W2, b2)), ("prelu", [("s/prelu/alpha", alpha)]),
                  ("d3", k3_names("s", "d3", W3, b3)), ("r", []), ("sm", [])])
    W1, b1 = dense_weights(4, 3)
    cfg = sequential("s", [dense_cfg("d", 3, "linear", input_shape=4),
                           simple("LeakyReLU", "lr", alpha=0.3)])
    fx.ok("k2_leaky_out", 4, [("dense", W1, b1, "linear"), ("leaky", 0.3)], config=cfg,
          version="2.6.0", groups=[("d", k2_names("d", W1, b1)), ("lr", [])])

    # ---- refusals ------------------------------------------------------------------------------
    W1, b1 = dense_weights(4, 3)
    good = sequential("s", [input_cfg("in", 4), dense_cfg("d", 3, "relu")])
    gw = [("d", k2_names("d", W1, b1))]
    fx.refuse("weights_only", "weights-only", config=good, groups=gw, with_config=False)
    def k3_weights(path):  # what Keras 3 model.save_weights("x.weights.h5") writes
        with h5py.File(path, "w") as f:
            v = f.create_group("layers/dense/vars")
            v.create_dataset("0", data=W1)
            v.create_dataset("1", data=b1)
            f.create_group("optimizer/vars")
    fx.refuse("k3_weights_file", "Keras 3 weights file", writer=k3_weights)
    fx.refuse("missing_weight", "missing weights", config=good,
              groups=[("d", [("d/kernel:0", W1)])],
              extra=lambda f: f["model_weights/d"].attrs.__setitem__(
                  "weight_names", np.array([b"d/kernel:0", b"d/bias:0"])))
    fx.refuse("missing_layer", "with weights", config=good, groups=[])
    fx.refuse("shape_mismatch", "has shape", config=good,
              groups=[("d", k2_names("d", rand(4, 5), rand(5)))])
    fx.refuse("bias_mismatch", "has shape", config=good,
              groups=[("d", k2_names("d", W1, rand(7)))])
    fx.refuse("int_weights", "HDF5 type class", config=good,
              groups=[("d", k2_names("d", W1.astype(np.int32), b1))])
    fx.refuse("bn_axis", "feature axis", groups=gw, config=sequential("s", [
        input_cfg("in", 4), simple("BatchNormalization", "bn", axis=2), dense_cfg("d", 3, "relu")]))
    fx.refuse("bn_negative_variance", "not positive", config=sequential("s", [
        input_cfg("in", 4), simple("BatchNormalization", "bn", axis=-1, epsilon=0.0),
        dense_cfg("d", 3, "relu")]),
        groups=[("bn", [("bn/gamma:0", rand(4)), ("bn/beta:0", rand(4)),
                        ("bn/moving_mean:0", rand(4)),
                        ("bn/moving_variance:0", -np.ones(4, np.float32))])] + gw)
    fx.refuse("nonfinite", "non-finite", config=good,
              groups=[("d", k2_names("d", np.full((4, 3), np.nan, np.float32), b1))])

    def huge(path):
        write_model(path, config=sequential("s", [input_cfg("in", 4),
                                                  dense_cfg("d", 1 << 30, "relu")]),
                    groups=[], extra=lambda f: _huge_group(f))
    fx.refuse("huge_dims", "budget", writer=huge)
    fx.refuse("huge_units", "units", groups=gw, config=json.loads(
        json.dumps(good).replace('"units": 3', '"units": 99999999999')))
    fx.refuse("not_json", "not valid JSON", config='{"class_name": "Sequential", "config": [',
              groups=gw)
    fx.refuse("deep_json", "not valid JSON", config="[" * 100000 + "]" * 100000, groups=gw)
    nest = dense_cfg("d", 3, "relu", input_shape=4)
    for i in range(40):
        nest = sequential("n%d" % i, [nest])
    fx.refuse("deep_models", "nested deeper", config=nest, groups=gw)
    fx.refuse("not_object", "not a JSON object", config="[1, 2]", groups=gw)
    fx.refuse("conv", "convolution", config=sequential("s", [
        input_cfg("in", 4), simple("Conv2D", "conv2d", filters=3, kernel_size=[3, 3]),
        dense_cfg("d", 3, "relu")]), groups=gw)
    fx.refuse("lstm", "recurrent", config=sequential("s", [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 10, 4],
                                                "name": "in"}},
        simple("LSTM", "lstm", units=8), dense_cfg("d", 3, "relu")]), groups=gw)
    fx.refuse("seq_input", "rank 3", config=sequential("s", [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 10, 4],
                                                "name": "in"}},
        dense_cfg("d", 3, "relu")]), groups=gw)
    fx.refuse("custom_act", "custom activation", config=sequential("s", [
        input_cfg("in", 4), dense_cfg("d", 3, "custom>my_act")]), groups=gw)
    fx.refuse("other_act", "'hard_sigmoid'", config=sequential("s", [
        input_cfg("in", 4), dense_cfg("d", 3, "hard_sigmoid")]), groups=gw)
    fx.refuse("custom_layer", "custom layer", config=sequential("s", [
        input_cfg("in", 4), {"class_name": "MyDense", "module": "my_project.layers",
                             "config": {"name": "mine"}}]), groups=gw)
    fx.refuse("unknown_layer", "unknown layer class", config=sequential("s", [
        input_cfg("in", 4), simple("Frobnicate", "f")]), groups=gw)
    fx.refuse("lambda", "Lambda", config=sequential("s", [
        input_cfg("in", 4), simple("Lambda", "l", function="x * 2")]), groups=gw)
    fx.refuse("mixed_precision", "mixed_float16", config=sequential("s", [
        input_cfg("in", 4), json.loads(json.dumps(dense_cfg("d", 3, "relu", k3=True)).replace(
            '"float32"', '"mixed_float16"'))]), groups=gw)
    # a branch: the Functional output does not use every layer
    branch = functional("m", [input_cfg("in", 4), dense_cfg("d", 3, "relu")])
    side = dense_cfg("side", 2, "relu")
    side["name"] = "side"
    side["inbound_nodes"] = [[["in", 0, 0, {}]]]
    branch["config"]["layers"].append(side)
    fx.refuse("branch", "branches", config=branch,
              groups=gw + [("side", k2_names("side", rand(4, 2), rand(2)))])
    add = functional("m", [input_cfg("in", 4), dense_cfg("d", 3, "relu")])
    add["config"]["layers"][1]["inbound_nodes"] = [[["in", 0, 0, {}], ["in", 0, 0, {}]]]
    fx.refuse("merge", "2 inputs", config=add, groups=gw)
    fx.refuse("two_outputs", "2 outputs", config=json.loads(json.dumps(
        functional("m", [input_cfg("in", 4), dense_cfg("d", 3, "relu")])).replace(
            '"output_layers": [["d", 0, 0]]', '"output_layers": [["d", 0, 0], ["in", 0, 0]]')),
        groups=gw)

    def ext_link(path):
        write_model(path, config=good, groups=[("d", [("d/bias:0", b1)])],
                    extra=lambda f: (f["model_weights/d"].attrs.__setitem__(
                        "weight_names", np.array([b"d/kernel:0", b"d/bias:0"])),
                        f["model_weights/d/d"].__setitem__(
                            "kernel:0", h5py.ExternalLink("/etc/passwd", "/x"))))
    fx.refuse("external_link", "external link", writer=ext_link)

    def ext_storage(path):
        with open(path + ".raw", "wb") as r:
            r.write(W1.tobytes())

        def add_ext(f):
            g = f["model_weights/d/d"]
            g.create_dataset("kernel:0", shape=(4, 3), dtype=np.float32,
                             external=[(os.path.basename(path) + ".raw", 0, W1.nbytes)])
            f["model_weights/d"].attrs["weight_names"] = np.array([b"d/kernel:0", b"d/bias:0"])
        write_model(path, config=good, groups=[("d", [("d/bias:0", b1)])], extra=add_ext)
    fx.refuse("external_storage", "other files", writer=ext_storage)

    def truncated(path):
        write_model(path, config=good, groups=gw)
        data = open(path, "rb").read()
        open(path, "wb").write(data[:len(data) // 3])
    fx.refuse("truncated", "HDF5", writer=truncated)

    def garbage(path):
        open(path, "wb").write(b"\x89HDF\r\n\x1a\n" + bytes(RNG.randint(0, 256, 3000,
                                                                       dtype=np.uint8)))
    fx.refuse("garbage", "HDF5", writer=garbage)

    def flipped(path):
        write_model(path, config=good, groups=gw)
        data = bytearray(open(path, "rb").read())
        for i in range(8, len(data), 97):
            data[i] ^= 0x5A
        open(path, "wb").write(bytes(data))
    fx.refuse("bitflips", "HDF5", writer=flipped)
    fx.done()


def _huge_group(f):
    g = f["model_weights"]
    g.attrs["layer_names"] = np.array([b"d"])
    lg = g.create_group("d")
    lg.attrs["weight_names"] = np.array([b"d/kernel:0", b"d/bias:0"])
    lg.create_dataset("d/kernel:0", shape=(4, 1 << 30), dtype=np.float32)  # never allocated
    lg.create_dataset("d/bias:0", shape=(1 << 30,), dtype=np.float32)


if __name__ == "__main__":
    os.makedirs(sys.argv[1], exist_ok=True)
    build(sys.argv[1])
