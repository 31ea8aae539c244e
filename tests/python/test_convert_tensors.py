"""`trove convert` for plain tensors: safetensors, .npy and .npz in, and back out.

Fixtures are written here at test time: .npy/.npz by numpy (np.save, np.savez,
np.savez_compressed), safetensors by a writer that follows the format specification (8-byte
little-endian header length, JSON header, contiguous data), bfloat16 bits by torch. Every round
trip is compared bit for bit. Hostile files must be refused with exit status 1, the reason in the
message and no output file; the same files are replayed through the ASan/UBSan build of the
parser (build/asan-fuzz/fuzz_tensors) when it is built."""
import io
import json
import os
import struct
import subprocess
import zipfile

import numpy as np
import pytest

from convert_helpers import convert

import trove

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
ASAN_REPLAY = os.path.join(ROOT, "build", "asan-fuzz", "fuzz_tensors")

NP_OF = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
         "I8": "i1", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?",
         "BF16": "<u2"}
TROVE_OF = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
            "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
            "U16": "uint16", "U32": "uint32", "U64": "uint64", "BOOL": "bool"}


# ---- safetensors written and read from the specification --------------------------------

def st_bytes(tensors, metadata=None, pad=True):
    """tensors: name -> (dtype, shape, raw bytes), laid out contiguously in order."""
    header, blobs, off = {}, [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def st_read(path):
    """A strict reader following the spec: returns ({name: (dtype, shape, bytes)}, metadata)."""
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    assert 8 + n <= len(data)
    text = data[8:8 + n]
    assert text[:1] == b"{"

    def no_dups(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), "duplicate keys"
        return dict(pairs)

    header = json.loads(text.decode("utf-8"), object_pairs_hook=no_dups)
    meta = header.pop("__metadata__", None)
    buf = data[8 + n:]
    out, ranges = {}, []
    for name, e in header.items():
        b, end = e["data_offsets"]
        size = np.dtype(NP_OF[e["dtype"]]).itemsize * int(np.prod(e["shape"], dtype=np.int64))
        assert end - b == size
        ranges.append((b, end))
        out[name] = (e["dtype"], tuple(e["shape"]), buf[b:end])
    at = 0
    for b, end in sorted(ranges):
        assert b == at, "hole or overlap"
        at = end
    assert at == len(buf), "unindexed bytes"
    return out, meta, n


def read_trove(path):
    f = trove.open(str(path))
    out = {}
    for name in f.keys():
        t = f.tensors[name]
        a = np.asarray(f.array(name, bfloat16="uint16"))
        out[name] = (t.dtype, tuple(a.shape), a.tobytes())
    return out, f.metadata


def sample_tensors():
    rng = np.random.default_rng(7)
    import torch
    bf = torch.tensor([1.5, -2.25, 3e38, float("inf")], dtype=torch.bfloat16)
    t = {
        "w.f64": ("F64", (3, 4), rng.standard_normal((3, 4)).astype("<f8").tobytes()),
        "w.f32": ("F32", (2, 3, 2), rng.standard_normal((2, 3, 2)).astype("<f4").tobytes()),
        "w.f16": ("F16", (5,), rng.standard_normal(5).astype("<f2").tobytes()),
        "w.bf16": ("BF16", (2, 2), bf.view(torch.int16).numpy().astype("<i2").tobytes()),
        "i64": ("I64", (4,), np.array([-1, 2**62, 0, 7], "<i8").tobytes()),
        "i32": ("I32", (2, 1), np.array([-5, 9], "<i4").tobytes()),
        "i16": ("I16", (3,), np.array([-300, 0, 300], "<i2").tobytes()),
        "i8": ("I8", (2,), np.array([-128, 127], "i1").tobytes()),
        "u8": ("U8", (3,), bytes([0, 128, 255])),
        "u16": ("U16", (1,), np.array([65535], "<u2").tobytes()),
        "u32": ("U32", (1,), np.array([4000000000], "<u4").tobytes()),
        "u64": ("U64", (1,), np.array([2**64 - 1], "<u8").tobytes()),
        "mask": ("BOOL", (2, 2), bytes([1, 0, 0, 1])),
        "scalar": ("F32", (), np.float32(2.5).tobytes()),
        "empty": ("F32", (0, 3), b""),
        "nested/name.with spaces": ("F64", (1,), np.float64(1).tobytes()),
    }
    return t


def test_safetensors_roundtrip(tmp_path):
    t = sample_tensors()
    meta = {"format": "pt", "note": "caf\u00e9"}
    src = tmp_path / "m.safetensors"
    src.write_bytes(st_bytes(t, meta))
    dst = tmp_path / "m.trove"
    r = convert(src, dst)
    assert r.returncode == 0, r.stderr
    got, m = read_trove(dst)
    assert set(got) == set(t)
    for name, (dtype, shape, raw) in t.items():
        assert got[name] == (TROVE_OF[dtype], shape, raw), name
    assert m["x-safetensors-metadata"] == meta
    assert m["lineage"]["source"]["format"] == "safetensors"
    assert "kind" not in m
    # and back out: the spec reader gets the same tensors and metadata
    back = tmp_path / "back.safetensors"
    r = convert(dst, back)
    assert r.returncode == 0, r.stderr
    st, stmeta, hlen = st_read(back)
    assert hlen % 8 == 0
    assert st == {k: (d, tuple(s), raw) for k, (d, s, raw) in t.items()}
    assert stmeta == meta


def test_safetensors_unpadded_header_and_no_metadata(tmp_path):
    t = {"a": ("F32", (3,), np.arange(3, dtype="<f4").tobytes())}
    src = tmp_path / "u.safetensors"
    src.write_bytes(st_bytes(t, pad=False))
    r = convert(src, tmp_path / "u.trove")
    assert r.returncode == 0, r.stderr
    got, m = read_trove(tmp_path / "u.trove")
    assert got["a"][2] == t["a"][2] and "x-safetensors-metadata" not in m


def _hostile_safetensors():
    f4 = np.arange(4, dtype="<f4").tobytes()
    ok = st_bytes({"a": ("F32", (4,), f4)})

    def hdr(obj_text, data=b""):
        h = obj_text.encode() if isinstance(obj_text, str) else obj_text
        return struct.pack("<Q", len(h)) + h + data

    cases = {
        "len_past_end": (struct.pack("<Q", 1000) + b'{"a": 1}', "runs past the end"),
        "len_over_limit": (struct.pack("<Q", 200 << 20) + b"{}", "exceeds the limit"),
        "bad_json": (hdr('{"a": {"dtype": "F32",'), "header JSON"),
        "not_object_entry": (hdr('{"a": 3}'), "is not an object"),
        "dup_key": (hdr('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                        '"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f4[:8]),
                    "duplicate"),
        "overlap": (hdr('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                        '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', f4[:12]),
                    "overlaps"),
        "hole": (hdr('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                     '"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', f4[:12]),
                 "a hole"),
        "trailing": (hdr('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f4),
                     "not indexed"),
        "end_oob": (hdr('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', f4[:8]),
                    "not within"),
        "begin_gt_end": (hdr('{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}', f4[:8]),
                         "not within"),
        "size_mismatch": (hdr('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', f4[:8]),
                          "give 12 bytes"),
        "huge_shape": (hdr('{"a":{"dtype":"F64","shape":[4611686018427387904,8],'
                           '"data_offsets":[0,8]}}', f4[:8]), "overflows"),
        "negative_dim": (hdr('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', f4[:4]),
                         "non-negative"),
        "f8_dtype": (hdr('{"a":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}', f4[:4]),
                     "F8_E4M3, which trove does not store"),
        "unknown_dtype": (hdr('{"a":{"dtype":"Q7","shape":[4],"data_offsets":[0,4]}}', f4[:4]),
                          "not a safetensors dtype"),
        "meta_not_string": (hdr('{"__metadata__":{"k":1},"a":{"dtype":"U8","shape":[1],'
                                '"data_offsets":[0,1]}}', b"x"), "is not a string"),
        "rank9": (hdr('{"a":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}}',
                      b"x"), "rank 9"),
        "missing_fields": (hdr('{"a":{"dtype":"U8","shape":[1]}}', b"x"), "needs"),
        "offsets_floats": (hdr('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0.0,1]}}', b"x"),
                           "non-negative integers"),
        "nul_in_name": (hdr('{"a\\u0000b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
                            b"x"), "header JSON"),
        "header_array": (hdr("[1, 2]      "), "JSON object"),
    }
    for cut in (9, 20, len(ok) - 20, len(ok) - 1):
        cases["trunc_%d" % cut] = (ok[:cut], "")
    return cases


HOSTILE_ST = _hostile_safetensors()


@pytest.mark.parametrize("case", sorted(HOSTILE_ST))
def test_safetensors_hostile(tmp_path, case):
    data, why = HOSTILE_ST[case]
    src = tmp_path / (case + ".safetensors")
    src.write_bytes(data)
    dst = tmp_path / "out.trove"
    r = convert(src, dst)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert why in r.stderr, r.stderr
    assert not dst.exists()


# ---- npy / npz --------------------------------------------------------------------------

NPY_ARRAYS = {
    "f8": np.arange(12, dtype="<f8").reshape(3, 4) / 7,
    "f4_be": np.arange(6, dtype=">f4").reshape(2, 3) - 2.5,
    "f2": np.array([1.5, -0.0, np.inf], dtype="<f2"),
    "i8_be": np.array([-(2**62), 5], dtype=">i8"),
    "i4": np.arange(5, dtype="<i4"),
    "i2_be": np.array([-2, 300], dtype=">i2"),
    "i1": np.array([-128, 127], dtype="i1"),
    "u1": np.arange(10, dtype="u1"),
    "u2_be": np.array([1, 65535], dtype=">u2"),
    "u4": np.array([7], dtype="<u4"),
    "u8_be": np.array([2**64 - 1], dtype=">u8"),
    "bool": np.array([[True, False], [False, True]]),
    "fortran2": np.asfortranarray(np.arange(12, dtype="<f4").reshape(3, 4)),
    "fortran3_be": np.asfortranarray(np.arange(60, dtype=">i8").reshape(3, 4, 5)),
    "scalar": np.array(3.25),
    "empty": np.zeros((0, 4), dtype="<f4"),
    "fortran_empty": np.asfortranarray(np.zeros((3, 0), dtype="<f8")),
}


@pytest.mark.parametrize("case", sorted(NPY_ARRAYS))
def test_npy_roundtrip(tmp_path, case):
    arr = NPY_ARRAYS[case]
    src = tmp_path / (case + ".npy")
    np.save(src, arr)
    dst = tmp_path / (case + ".trove")
    r = convert(src, dst, "--name", "x")
    assert r.returncode == 0, r.stderr
    f = trove.open(str(dst))
    assert list(f.keys()) == ["x"]
    got = np.asarray(f.array("x"))
    want = arr.astype(arr.dtype.newbyteorder("<"), order="C")
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()
    # back to .npy: numpy reads the same array
    back = tmp_path / "back.npy"
    r = convert(dst, back)
    assert r.returncode == 0, r.stderr
    b = np.load(back, allow_pickle=False)
    assert b.dtype == want.dtype and b.shape == want.shape and b.tobytes() == want.tobytes()


def test_npy_default_name(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(3))
    assert convert(tmp_path / "a.npy", tmp_path / "a.trove").returncode == 0
    assert list(trove.open(str(tmp_path / "a.trove")).keys()) == ["array"]


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_roundtrip(tmp_path, compressed):
    arrs = {k: v for k, v in NPY_ARRAYS.items()}
    src = tmp_path / "a.npz"
    (np.savez_compressed if compressed else np.savez)(src, *[np.arange(4)], **arrs)
    dst = tmp_path / "a.trove"
    r = convert(src, dst)
    assert r.returncode == 0, r.stderr
    f = trove.open(str(dst))
    ref = np.load(src, allow_pickle=False)
    assert sorted(f.keys()) == sorted(ref.files)
    for k in ref.files:
        want = ref[k].astype(ref[k].dtype.newbyteorder("<"), order="C")
        got = np.asarray(f.array(k))
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes(), k
    assert f.metadata["lineage"]["source"]["format"] == "npz"
    back = tmp_path / "back.npz"
    r = convert(dst, back)
    assert r.returncode == 0, r.stderr
    b = np.load(back, allow_pickle=False)
    assert sorted(b.files) == sorted(ref.files)
    for k in ref.files:
        want = ref[k].astype(ref[k].dtype.newbyteorder("<"), order="C")
        assert b[k].dtype == want.dtype and b[k].tobytes() == want.tobytes()
    with zipfile.ZipFile(back) as z:
        assert z.testzip() is None


def test_export_bfloat16_npz_refused_safetensors_ok(tmp_path):
    t = {"b": ("BF16", (2,), b"\x80\x3f\x00\x40")}
    (tmp_path / "b.safetensors").write_bytes(st_bytes(t))
    assert convert(tmp_path / "b.safetensors", tmp_path / "b.trove").returncode == 0
    r = convert(tmp_path / "b.trove", tmp_path / "b.npz")
    assert r.returncode == 1 and "bfloat16" in r.stderr
    assert not (tmp_path / "b.npz").exists()
    r = convert(tmp_path / "b.trove", tmp_path / "b2.safetensors")
    assert r.returncode == 0
    assert st_read(tmp_path / "b2.safetensors")[0] == {"b": ("BF16", (2,), t["b"][2])}


def _npy(arr, **kw):
    b = io.BytesIO()
    np.save(b, arr, **kw)
    return b.getvalue()


def _npz(**arrs):
    b = io.BytesIO()
    np.savez(b, **arrs)
    return b.getvalue()


def _hostile_numpy():
    good = _npy(np.arange(8, dtype="<f8"))
    z = bytearray(_npz(a=np.arange(16, dtype="<i4")))
    crc_bad = bytearray(z)
    crc_bad[struct.unpack("<I", bytes(z[-6:-2]))[0] - 1] ^= 0xFF  # last data byte of member a
    hdr_obj = good.replace(b"'<f8'", b"'|O' ")
    cases = {
        "object.npy": (_npy(np.array([1, "x", None], dtype=object), allow_pickle=True),
                       "object arrays"),
        "structured.npy": (_npy(np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")])),
                           "structured dtype"),
        "unicode.npy": (_npy(np.array(["ab", "c"])), "is not one trove stores"),
        "complex.npy": (_npy(np.zeros(2, dtype=np.complex64)), "'<c8'"),
        "obj_hdr.npy": (hdr_obj, "object arrays"),
        "trunc_data.npy": (good[:-3], "data bytes"),
        "trailing.npy": (good + b"\0", "data bytes"),
        "trunc_header.npy": (good[:40], "runs past the end"),
        "bad_dict.npy": (good.replace(b"'shape'", b"'shapE'"), "header is not the dict"),
        "version9.npy": (good[:6] + b"\x09" + good[7:], "format version 9"),
        "object_member.npz": (_npz(o=np.array([{}], dtype=object)), "object arrays"),
        "crc.npz": (bytes(crc_bad), "CRC-32"),
        "trunc.npz": (bytes(z[:-30]), "npz"),
        "cd_oob.npz": (bytes(z[:-6]) + b"\xff\xff\xff\x7f\0\0", "npz"),
    }
    # a shape whose byte size overflows 64 bits, with a header numpy's layout keeps
    big = good.replace(b"'shape': (8,), }", b"'shape': (2305843009213693952, 9), }")
    cases["overflow_shape.npy"] = (big, "overflows")
    return cases


HOSTILE_NP = _hostile_numpy()


@pytest.mark.parametrize("case", sorted(HOSTILE_NP))
def test_numpy_hostile(tmp_path, case):
    data, why = HOSTILE_NP[case]
    src = tmp_path / case
    src.write_bytes(data)
    dst = tmp_path / "out.trove"
    r = convert(src, dst)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert why in r.stderr, r.stderr
    assert not dst.exists()


def test_hostile_files_under_asan(tmp_path):
    """Every hostile file above through the ASan/UBSan build of the parsers (fuzz replay)."""
    if not os.path.exists(ASAN_REPLAY):
        pytest.skip("build/asan-fuzz/fuzz_tensors not built (make check-fuzz builds it)")
    for name, (data, _) in list(HOSTILE_ST.items()) + list(HOSTILE_NP.items()):
        (tmp_path / name).write_bytes(data)
    r = subprocess.run([ASAN_REPLAY, str(tmp_path)], capture_output=True, text=True,
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"), timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "replayed %d inputs" % (len(HOSTILE_ST) + len(HOSTILE_NP)) in r.stdout + r.stderr
