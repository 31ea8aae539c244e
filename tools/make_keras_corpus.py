"""make_keras_corpus.py: seeds for fuzz/fuzz_keras.c. Writes the Keras-layout fixtures of
tests/python/keras_fixtures.py to a temporary directory, reads each with h5py the way the
importer's reader process does (model_config, keras_version, backend, layer_names, weight_names,
float datasets) and stores it in the fuzz target's input format: the model_config JSON, a NUL,
then the extract stream records after it (see src/codecs/keras_h5.h).
Usage: /usr/bin/python3 tools/make_keras_corpus.py fuzz/corpus/keras"""
import hashlib
import os
import struct
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "python"))
import keras_fixtures  # noqa: E402


def _text(v):
    return v.decode("utf8") if isinstance(v, bytes) else str(v)


def _list(obj, name):
    if name in obj.attrs:
        return [_text(x) for x in np.atleast_1d(obj.attrs[name])]
    out, i = [], 0
    while "%s%d" % (name, i) in obj.attrs:
        out += [_text(x) for x in np.atleast_1d(obj.attrs["%s%d" % (name, i)])]
        i += 1
    return out


def _s16(s):
    b = s.encode("utf8")
    return struct.pack("<H", len(b)) + b


def encode(path):
    with h5py.File(path, "r") as f:
        if "model_config" not in f.attrs:
            return None
        cfg = _text(f.attrs["model_config"]).encode("utf8")
        rest = b""
        for key in ("keras_version", "backend"):
            if key in f.attrs:
                v = _text(f.attrs[key]).encode("utf8")
                rest += b"A" + _s16(key) + struct.pack("<I", len(v)) + v
        mw = f["model_weights"]
        rest += b"A" + _s16("model_weights") + struct.pack("<I", 1) + b"1"
        for ln in _list(mw, "layer_names"):
            g = mw[ln]
            names = _list(g, "weight_names")
            rest += b"L" + _s16(ln) + struct.pack("<I", len(names))
            for wn in names:
                d = g[wn]
                if d.size > (1 << 16):
                    return None  # (huge_dims: declared, never allocated) not a useful seed
                kind = d.dtype.kind
                code = {2: 3, 4: 1, 8: 2}.get(d.dtype.itemsize, 0) if kind == "f" else 0
                rest += b"W" + _s16(wn) + bytes([code, 1 if kind == "f" else 0,
                                                 d.dtype.itemsize, d.ndim])
                rest += b"".join(struct.pack("<Q", x) for x in d.shape)
                if code:
                    arr = np.asarray(d, dtype=np.float64 if code == 2 else np.float32)
                    rest += arr.astype(arr.dtype.newbyteorder("=")).tobytes()
        return cfg + b"\0" + rest + b"Z"


def main(out):
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        keras_fixtures.build(tmp)
        for name in sorted(os.listdir(tmp)):
            if not name.endswith(".h5"):
                continue
            try:
                seed = encode(os.path.join(tmp, name))
            except (OSError, KeyError, ValueError):
                continue  # the hostile files h5py itself cannot read
            if seed is None or len(seed) > 200000:
                continue
            h = hashlib.sha1(seed).hexdigest()[:12]
            with open(os.path.join(out, "%s-%s" % (name[:-3], h)), "wb") as fp:
                fp.write(seed)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/keras")
