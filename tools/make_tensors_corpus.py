"""make_tensors_corpus.py DIR: seed files for fuzz/fuzz_tensors.c: small safetensors files
(written from the spec), .npy files (numpy.save: dtypes, big-endian, Fortran order, 0-d, empty)
and .npz archives (numpy.savez stored and savez_compressed deflate)."""
import io
import json
import os
import struct
import sys

import numpy as np


def safetensors_bytes(tensors, metadata=None):
    header, blobs, off = {}, [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def main(out):
    os.makedirs(out, exist_ok=True)
    a = np.arange(6, dtype="<f4").reshape(2, 3)
    seeds = {
        "st_basic.safetensors": safetensors_bytes(
            {"w": ("F32", (2, 3), a.tobytes()), "b": ("I64", (2,), np.arange(2).tobytes()),
             "s": ("F16", (), np.float16(1).tobytes()), "e": ("U8", (0,), b"")},
            {"format": "pt"}),
        "st_bf16.safetensors": safetensors_bytes({"x": ("BF16", (3,), b"\x80\x3f" * 3),
                                                  "m": ("BOOL", (2,), b"\x01\x00")}),
    }
    for name, arr in [("f8le", np.arange(4, dtype="<f8")), ("i4be", np.arange(6, dtype=">i4")),
                      ("fort", np.asfortranarray(np.arange(24, dtype="<i2").reshape(2, 3, 4))),
                      ("scalar", np.array(3.5)), ("empty", np.zeros((0, 3), dtype="u1")),
                      ("bool", np.array([True, False]))]:
        b = io.BytesIO()
        np.save(b, arr)
        seeds[name + ".npy"] = b.getvalue()
    b = io.BytesIO()
    np.savez(b, x=np.arange(3, dtype=">f4"), y=np.eye(2))
    seeds["stored.npz"] = b.getvalue()
    b = io.BytesIO()
    np.savez_compressed(b, x=np.arange(40, dtype="<i8"), z=np.ones((2, 2), dtype="f2"))
    seeds["deflate.npz"] = b.getvalue()
    for k, v in seeds.items():
        with open(os.path.join(out, k), "wb") as f:
            f.write(v)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/tensors")
