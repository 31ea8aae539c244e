"""make_keras3_corpus.py: seeds for fuzz/fuzz_keras3.c. Writes the .keras archives of
tests/python/keras3_fixtures.py to a temporary directory and, in each one that holds a readable
model.weights.h5, replaces that member by the extract stream the importer's reader process would
send for it (src/codecs/keras_h5.h: 'A' keras3_weights, an 'L' record per non-empty
<path>/vars group named by its path, 'W' records of vars/0, vars/1, ...; walked in name order
below "layers" or "_layer_checkpoint_dependencies"), so that the fuzz target exercises the zip
reader and the mapping without libhdf5; and each readable one also in the unzipped form
(config.json, NUL, stream). Hostile archives are kept as they are.
Usage: /usr/bin/python3 tools/make_keras3_corpus.py fuzz/corpus/keras3"""
import hashlib
import io
import os
import struct
import sys
import tempfile
import zipfile

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "python"))
import keras3_fixtures  # noqa: E402

OLD = "_layer_checkpoint_dependencies"


def _s16(s):
    b = s.encode("utf8")
    return struct.pack("<H", len(b)) + b


def _walk(f, path, shown, out):
    for name in f[path]:  # h5py: name order, as H5_INDEX_NAME
        full, show = path + "/" + name, shown + "/" + ("layers" if name == OLD else name)
        obj = f[full]
        if name == "vars":
            n = len(obj)
            if not n:
                continue
            out.append(b"L" + _s16(shown) + struct.pack("<I", n))
            for j in range(n):
                d = f["%s/%d" % (full, j)]
                kind = d.dtype.kind
                code = {2: 3, 4: 1, 8: 2}.get(d.dtype.itemsize, 0) if kind == "f" else 0
                rec = b"W" + _s16("%s/%d" % (full, j)) + bytes([code, 1 if kind == "f" else 0,
                                                                d.dtype.itemsize, d.ndim])
                rec += b"".join(struct.pack("<Q", x) for x in d.shape)
                if code:
                    arr = np.asarray(d, dtype=np.float64 if code == 2 else np.float32)
                    rec += arr.tobytes()
                out.append(rec)
        elif isinstance(obj, h5py.Group):
            _walk(f, full, show, out)


def stream(h5bytes):
    with h5py.File(io.BytesIO(h5bytes), "r") as f:
        out = [b"KH5\x01", b"A" + _s16("keras3_weights") + struct.pack("<I", 1) + b"1"]
        root = "layers" if "layers" in f else OLD
        if root in f:
            _walk(f, root, "layers", out)
        out.append(b"Z")
        return b"".join(out)


def convert(data):
    z = zipfile.ZipFile(io.BytesIO(data))
    members = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    out = []
    for name, d in members:
        if name == "model.weights.h5":
            d = stream(d)
        out.append((name, d))
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w") as w:
        for name, d in out:
            w.writestr(name, d)
    return bio.getvalue()


def main(out):
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        keras3_fixtures.build(tmp)
        for name in sorted(os.listdir(tmp)):
            if not name.endswith(".keras"):
                continue
            with open(os.path.join(tmp, name), "rb") as fp:
                data = fp.read()
            try:
                seed = convert(data)
            except Exception:  # hostile archives: kept as they are
                seed = data
            seeds = [seed]
            try:  # the unzipped form: config.json, NUL, the stream
                z = zipfile.ZipFile(io.BytesIO(seed))
                seeds.append(z.read("config.json") + b"\0" + z.read("model.weights.h5"))
            except Exception:
                pass
            for seed in seeds:
                if len(seed) > 200000:
                    continue
                h = hashlib.sha1(seed).hexdigest()[:12]
                with open(os.path.join(out, "%s-%s" % (name[:-6], h)), "wb") as fp:
                    fp.write(seed)


if __name__ == "__main__":
    import warnings
    warnings.simplefilter("ignore")
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/keras3")
