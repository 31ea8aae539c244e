"""test_reader_agrees.py: the independent reader (tools/trove_reader.py, written from
docs/FORMAT.md alone) and the C library agree on every file the C library writes, and refuse
the same damaged or subtly invalid files.

Files come from tests/python/gen_files.c, compiled at test time against build/libtrove.a; the
same program dumps what the C library reads (gen_files dump FILE). Resealed mutations rebuild
the trailer checksums so that only the deeper checks (CBOR canonical form, directory, layout
rule, feature bits) can catch them.
"""
import json
import math
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import trove_reader as tr  # noqa: E402

import xxhash  # noqa: E402  (deps.txt: python3-xxhash)

CASES = ["dtypes", "ranks", "empty", "notensors", "unicode", "compressed", "align4096",
         "chunks", "digests", "meta"]
# C status code -> reader error kind (include/trove/core.h)
C_KIND = {-3: "io", -4: "not_trove", -5: "version", -6: "corrupt", -7: "checksum",
          -8: "limit", -11: "unsupported"}


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    lib = os.path.join(ROOT, "build", "libtrove.a")
    if not os.path.exists(lib):
        pytest.skip("build/libtrove.a not built (run make)")
    out = tmp_path_factory.mktemp("gen")
    exe = str(out / "gen_files")
    libs = subprocess.run(["pkg-config", "--libs", "libzstd", "libxxhash", "libsodium",
                           "sqlite3"], check=True, capture_output=True, text=True).stdout.split()
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-std=c11", "-O1", "-Wall", "-Wextra", "-Werror",
                    "-I" + os.path.join(ROOT, "include"), "-o", exe,
                    os.path.join(HERE, "gen_files.c"), lib] + libs + ["-lpthread", "-lm"],
                   check=True)
    files = subprocess.run([exe, "write", str(out)], check=True, capture_output=True,
                           text=True).stdout.split("\n")
    files = [f for f in files if f]
    assert [os.path.basename(f)[:-6] for f in files] == CASES
    return exe, {os.path.basename(f)[:-6]: f for f in files}


def c_dump(exe, path, mode="dump"):
    res = subprocess.run([exe, mode, path], check=True, capture_output=True)
    return json.loads(res.stdout.decode("utf-8"))


def formula(n, dtype, seed, compressible=False):
    """The byte pattern gen_files.c writes (kept in step with fill() there)."""
    j = np.arange(n, dtype=np.uint64)
    if dtype == "bool":
        return ((j * 7 + seed) % 3 == 0).astype(np.uint8).tobytes()
    if compressible:
        return ((j // 64 + seed) & 0xFF).astype(np.uint8).tobytes()
    return ((j * 131 + seed * 17 + 3) & 0xFF).astype(np.uint8).tobytes()


def raw_bytes(f, entry):
    arr = f.tensor(entry.name, bfloat16="uint16")
    return np.ascontiguousarray(arr).tobytes()


@pytest.mark.parametrize("case", CASES)
def test_reader_agrees_with_c(gen, case):
    exe, files = gen
    path = files[case]
    c = c_dump(exe, path)
    assert c["open"] == 0 and c["verify"] == 0, c
    with tr.TroveFile(path) as f:
        assert [f.version[0], f.version[1]] == c["version"] == [1, 0]
        assert [f.compat, f.ro_compat, f.incompat] == c["features"]
        # metadata: same canonical bytes, and the C bytes decode to the same tree
        assert tr.cbor_encode(f.meta) == bytes.fromhex(c["meta_cbor"])
        assert tr.cbor_decode(bytes.fromhex(c["meta_cbor"])) == f.meta
        # tensors in file order, with dtype, shape, bytes and content digest
        assert [e.name for e in f.tensors] == [t["name"] for t in c["tensors"]]
        for e, t in zip(f.tensors, c["tensors"]):
            assert e.dtype == t["dtype"]
            assert list(e.shape) == t["shape"]
            assert e.offset == t["offset"] and e.size == t["stored"]
            assert (e.codec == "zstd") == bool(t["compressed"])
            assert t["data_rc"] == 0
            assert raw_bytes(f, e) == bytes.fromhex(t["data"]), e.name
            assert f.tensor_digest(e).hex() == t["digest"], e.name
            if e.blake2b is not None:
                assert e.blake2b.hex() == t["digest"]
            arr = f.tensor(e.name)
            assert arr.shape == tuple(e.shape)
            if e.dtype == "bfloat16":
                assert arr.dtype == np.float32
                u16 = np.frombuffer(bytes.fromhex(t["data"]), "<u2")
                assert np.array_equal(arr.reshape(-1).view("<u4") >> 16, u16)
            else:
                assert arr.dtype == tr.DTYPES[e.dtype][1]
        assert f.verify() is True
        assert f.model_digest().hex() == c["digest"]
        assert f.model_digest(trust_stored=True).hex() == c["digest_trusted"] == c["digest"]
    assert tr.digest(path) == c["digest"]
    assert tr.verify(path) is True


def test_values_follow_the_generator_formula(gen):
    """Not only do both readers agree: the bytes are the ones gen_files.c wrote."""
    _, files = gen
    meta, arrays = tr.read(files["dtypes"], bfloat16="uint16")
    for d, name in enumerate(["bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                              "uint32", "uint64", "float16", "bfloat16", "float32",
                              "float64"], start=1):
        size = tr.DTYPES[name][0]
        assert arrays["dtype/" + name].shape == (3, 5)
        assert arrays["dtype/" + name].tobytes() == formula(15 * size, name, d)
        assert arrays["scalar/" + name].shape == ()
        assert arrays["scalar/" + name].tobytes() == formula(size, name, d + 40)
    assert meta == {"description": "dtypes"}
    _, arrays = tr.read(files["ranks"])
    for r in range(9):
        assert arrays["rank%d" % r].shape == (3, 2, 1, 2, 3, 1, 2, 2)[:r]
    _, arrays = tr.read(files["compressed"])
    assert arrays["z/compressible"].tobytes() == formula(400000, "float32", 1, True)
    _, arrays = tr.read(files["empty"])
    assert arrays["e3"].shape == (3, 0, 2) and arrays["e3"].dtype == np.bool_
    assert arrays["e8"].shape == (1,) * 7 + (0,)
    assert arrays["ez"].size == 0
    _, arrays = tr.read(files["unicode"])
    assert "\u00e9t\u00e9" in arrays and "\U0001f642" in arrays
    assert "\u65e5\u672c\u8a9e/\u5c64.weight" in arrays
    assert max(len(k.encode()) for k in arrays) == 1024


def test_metadata_types(gen):
    _, files = gen
    with tr.TroveFile(files["meta"]) as f:
        m = f.meta
    u = m["user"]
    assert m["producer"] == {"name": "gen_files", "version": "1.0"}
    assert m["created"] == "2026-11-28T19:00:00Z"
    assert u["null"] is None and u["true"] is True and u["false"] is False
    assert u["uint64max"] == 2**64 - 1 and u["int64min"] == -2**63
    assert u["int64max"] == 2**63 - 1 and u["neg25"] == -25 and u["uint_small"] == 7
    assert [u[k] for k in ("i23", "i24", "i255", "i256", "i65536", "i2p32")] == \
        [23, 24, 255, 256, 65536, 2**32]
    assert u["f_tenth"] == 0.1 and u["f_big"] == 1e300 and u["f_tiny"] == 5e-324
    assert u["f_negzero"] == 0.0 and math.copysign(1, u["f_negzero"]) == -1
    assert type(u["f_int"]) is float and type(u["i24"]) is int
    assert u["b_bin"] == b"\x00\xff\x80\x01" and u["b_empty"] == b""
    assert u["s_unicode"] == "\u65e5\u672c \U0001f642" and u["s_long"] == "x" * 300
    assert u["array"] == [1, "two", None, [2.5], {"k": b"v"}]
    assert u["a_empty"] == [] and u["m_empty"] == {}
    assert list(u["order"]) == ["a", "z", "bb", "\u00e9", "aaa"]  # length first, then bytes
    deep = u["deep"]
    for _ in range(30):
        assert isinstance(deep, list) and len(deep) == 1
        deep = deep[0]
    assert deep == 99
    assert m["x-\u20ac"] == "extension"


def test_binding_agrees(gen):
    """The Python binding (python/trove) reports the same header, values and digest."""
    try:
        import trove
    except ImportError:
        pytest.skip("python/trove not importable")
    exe, files = gen
    for case in CASES:
        with trove.open(files[case]) as f, tr.TroveFile(files[case]) as r:
            assert f.digest() == c_dump(exe, files[case])["digest"] == r.model_digest().hex()
            assert f.header == r.header and f.metadata == r.meta
            assert list(f.tensors) == [e.name for e in r.tensors]
            for e in r.tensors:
                a = f.array(e.name, bfloat16="uint16")
                assert a.shape == e.shape and not a.flags.writeable
                assert a.tobytes() == raw_bytes(r, e), (case, e.name)


def test_cli_json_summary(gen):
    _, files = gen
    res = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "trove_reader.py"),
                          "--verify", "--digest", files["meta"]],
                         check=True, capture_output=True, text=True)
    out = json.loads(res.stdout)
    assert out["version"] == "1.0" and out["verified"] is True
    assert out["meta"]["user"]["b_bin"] == {"$bytes": "AP+AAQ=="}
    assert out["tensors"][0]["name"] == "w" and out["tensors"][0]["shape"] == [2] * 8
    assert out["digest"] == tr.digest(files["meta"])
    bad = files["meta"] + ".bad"
    with open(bad, "wb") as fh:
        fh.write(b"not a trove file at all")
    res = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "trove_reader.py"),
                          bad], capture_output=True, text=True)
    assert res.returncode == 1 and json.loads(res.stdout)["error"] == "not_trove"


# ---- damaged and subtly invalid files ------------------------------------------------------
def py_result(path):
    """None when the reader opens and verifies the file, else the error kind."""
    try:
        with tr.TroveFile(path) as f:
            f.verify(digests=False)  # the C library's verify checks chunks and padding only
            for e in f.tensors:
                f.tensor(e.name)      # decompression errors surface here (C: tensor_data)
    except tr.TroveReaderError as e:
        return e.kind
    return None


def c_result(exe, path):
    c = c_dump(exe, path, "check")
    for key in ("open", "verify"):
        if c.get(key):
            return C_KIND.get(c[key], str(c[key])), c[key + "_msg"]
    for t in c.get("tensors", []):
        if t["data_rc"]:
            return C_KIND.get(t["data_rc"], str(t["data_rc"])), t["data_rc_msg"]
    return None, ""


def split(buf):
    t = len(buf) - 64
    fields = list(struct.unpack_from("<7Q", buf, t))
    hoff, hlen = fields[0], fields[1]
    return bytes(buf[:hoff]), bytes(buf[hoff:hoff + hlen]), fields


def reseal(body, header, compat, ro_compat, incompat, preamble=None):
    """Rebuild a file around body (preamble + tensors) and header bytes, with valid checks."""
    body = bytearray(body)
    if preamble is not None:
        body[:64] = preamble
    hoff = len(body)
    fields = [hoff, len(header), compat, ro_compat, incompat, xxhash.xxh3_64_intdigest(header)]
    trailer = struct.pack("<6Q", *fields)
    check = xxhash.xxh3_64_intdigest(bytes(body[:64]) + trailer)
    return bytes(body) + header + trailer + struct.pack("<Q", check) + b"TROVEEND"


def damaged_variants(buf):
    """(label, bytes) pairs: byte flips in every part, truncations, an appended byte."""
    body, header, fields = split(buf)
    size = len(buf)
    out = []
    for pos in list(range(0, 64, 3)) + list(range(size - 64, size, 2)):
        b = bytearray(buf)
        b[pos] ^= 0x01
        out.append(("flip@%d" % pos, bytes(b)))
    hoff = fields[0]
    for pos in sorted({hoff, hoff + 1, hoff + len(header) // 2, size - 65}):
        b = bytearray(buf)
        b[pos] ^= 0x80
        out.append(("flip-header@%d" % pos, bytes(b)))
    for pos in sorted({64, hoff - 1, (64 + hoff) // 2}):
        if 64 <= pos < hoff:
            b = bytearray(buf)
            b[pos] ^= 0x40
            out.append(("flip-body@%d" % pos, bytes(b)))
    for n in sorted({0, 1, 7, 8, 63, 64, 127, 128, size // 2, size - 64, size - 1}):
        if n < size:
            out.append(("truncate@%d" % n, buf[:n]))
    out.append(("append", buf + b"\x00"))
    return out


def resealed_variants(buf):
    """(label, bytes, expected) where expected is True when the file must still be accepted."""
    body, header, fields = split(buf)
    compat, ro_compat, incompat = fields[2], fields[3], fields[4]
    h = tr.cbor_decode(header)
    out = []

    def edit(label, fn, ok=False, preamble=None, **bits):
        hh = json.loads(json.dumps(h, default=lambda b: {"__b": b.hex()}),
                        object_hook=lambda d: bytes.fromhex(d["__b"]) if "__b" in d else d)
        r = fn(hh)
        enc = r if isinstance(r, bytes) else tr.cbor_encode(hh)
        out.append((label, reseal(body, enc, bits.get("compat", compat),
                                  bits.get("ro_compat", ro_compat),
                                  bits.get("incompat", incompat), preamble), ok))

    edit("unchanged", lambda hh: None, ok=True)
    minor1 = bytearray(body[:64])
    minor1[10] = 1
    edit("minor version 1.1", lambda hh: None, ok=True, preamble=bytes(minor1))
    major2 = bytearray(body[:64])
    major2[8] = 2
    edit("major version 2", lambda hh: None, preamble=bytes(major2))
    reserved = bytearray(body[:64])
    reserved[40] = 1
    # section 2 says reserved bytes are written as zero but not what a reader does with others
    edit("reserved preamble byte set", lambda hh: None, ok=None, preamble=bytes(reserved))
    # section 3 defines ZSTD as "at least one tensor is stored zstd-compressed"; whether a
    # reader must refuse the bit without such a tensor is not said
    if not incompat & 1:
        edit("zstd bit without compressed tensors", lambda hh: None, ok=None,
             incompat=incompat | 1)
    edit("infinite float in meta", lambda hh: hh["meta"].update({"x-inf": float("inf")}),
         ok=True)
    edit("extra header key", lambda hh: hh.update({"x-future": [1, 2]}), ok=True)
    edit("unknown compat bit", lambda hh: None, ok=True, compat=compat | (1 << 40))
    edit("unknown ro_compat bit", lambda hh: None, ok=True, ro_compat=ro_compat | 1)
    edit("unknown incompat bit", lambda hh: None, incompat=incompat | (1 << 5))
    edit("encrypted bit", lambda hh: None, incompat=incompat | 2)
    edit("no meta", lambda hh: hh.pop("meta"))
    edit("meta not a map", lambda hh: hh.update({"meta": [1]}))
    edit("no tensors", lambda hh: hh.pop("tensors"))
    # non-canonical encodings of the same header
    enc = tr.cbor_encode(h)
    assert enc[0] == 0xA2  # map of 2: meta, tensors
    edit("non-shortest map head", lambda hh: b"\xb8\x02" + enc[1:])
    edit("indefinite map", lambda hh: b"\xbf" + enc[1:] + b"\xff")
    edit("tagged header", lambda hh: b"\xd9\xd9\xf7" + enc)
    edit("trailing byte", lambda hh: enc + b"\xf6")
    edit("keys out of order", lambda hh: b"\xa2" + tr.cbor_encode("tensors")
         + tr.cbor_encode(h["tensors"]) + tr.cbor_encode("meta") + tr.cbor_encode(h["meta"]))
    meta_enc = tr.cbor_encode(h["meta"])
    tens_enc = tr.cbor_encode(h["tensors"])
    edit("single float in meta", lambda hh: b"\xa2" + tr.cbor_encode("meta")
         + b"\xa1" + tr.cbor_encode("x-f") + b"\xfa\x3f\x80\x00\x00"
         + tr.cbor_encode("tensors") + tens_enc)
    edit("non-canonical NaN", lambda hh: b"\xa2" + tr.cbor_encode("meta")
         + b"\xa1" + tr.cbor_encode("x-f") + b"\xfb\x7f\xf8\x00\x00\x00\x00\x00\x01"
         + tr.cbor_encode("tensors") + tens_enc)
    edit("canonical NaN", lambda hh: b"\xa2" + tr.cbor_encode("meta")
         + b"\xa1" + tr.cbor_encode("x-f") + b"\xfb\x7f\xf8\x00\x00\x00\x00\x00\x00"
         + tr.cbor_encode("tensors") + tens_enc, ok=True)
    edit("overlong UTF-8", lambda hh: b"\xa2" + tr.cbor_encode("meta")
         + b"\xa1" + tr.cbor_encode("x-s") + b"\x62\xc0\xaf"
         + tr.cbor_encode("tensors") + tens_enc)
    edit("surrogate UTF-8", lambda hh: b"\xa2" + tr.cbor_encode("meta")
         + b"\xa1" + tr.cbor_encode("x-s") + b"\x63\xed\xa0\x80"
         + tr.cbor_encode("tensors") + tens_enc)
    edit("undefined simple", lambda hh: b"\xa2" + tr.cbor_encode("meta")
         + b"\xa1" + tr.cbor_encode("x-u") + b"\xf7" + tr.cbor_encode("tensors") + tens_enc)
    edit("NUL in meta key", lambda hh: hh["meta"].update({"a\0b": 1}))
    edit("huge array count", lambda hh: b"\xa2" + tr.cbor_encode("meta") + meta_enc[:0]
         + b"\xa1" + tr.cbor_encode("x-a") + b"\x9b\x00\x00\x00\x01\x00\x00\x00\x00"
         + tr.cbor_encode("tensors") + tens_enc)
    deep = 1
    for _ in range(70):
        deep = [deep]
    edit("too deep", lambda hh: hh["meta"].update({"x-deep": deep}))
    ok_deep = 1
    for _ in range(62):  # header map (1) > meta (2) > 62 arrays: the innermost is depth 64
        ok_deep = [ok_deep]
    edit("depth 64 (at the limit)", lambda hh: hh["meta"].update({"x-deep": ok_deep}), ok=True)
    edit("depth 65", lambda hh: hh["meta"].update({"x-deep": [ok_deep]}))
    if not h["tensors"]:
        return out
    t0 = h["tensors"][0]

    def tens(fn):
        def f(hh):
            fn(hh["tensors"][0], hh)
        return f
    edit("missing dtype", tens(lambda t, hh: t.pop("dtype")))
    edit("unknown dtype", tens(lambda t, hh: t.update({"dtype": "float8_e4m3"})))
    edit("rank 9", tens(lambda t, hh: t.update({"shape": [1] * 9})))
    edit("negative dim", tens(lambda t, hh: t.update({"shape": [-1]})))
    edit("float dim", tens(lambda t, hh: t.update({"shape": [float(x) for x in t["shape"]]})))
    edit("empty name", tens(lambda t, hh: t.update({"name": ""})))
    edit("NUL in name", tens(lambda t, hh: t.update({"name": "a\0b"})))
    edit("name 1025 bytes", tens(lambda t, hh: t.update({"name": "n" * 1025})))
    edit("offset +64", tens(lambda t, hh: t.update({"offset": t["offset"] + 64})))
    edit("align 32", tens(lambda t, hh: t.update({"align": 32})))
    edit("align 96", tens(lambda t, hh: t.update({"align": 96})))
    edit("align 131072", tens(lambda t, hh: t.update({"align": 131072})))
    edit("chunk 2048", tens(lambda t, hh: t.update({"chunk": 2048})))
    edit("chunk 2^31", tens(lambda t, hh: t.update({"chunk": 1 << 31})))
    edit("xxh3 short", tens(lambda t, hh: t.update({"xxh3": t["xxh3"][:-1]})))
    edit("xxh3 wrong", tens(lambda t, hh: t.update(
        {"xxh3": bytes(8) + t["xxh3"][8:]} if t["xxh3"] else {"xxh3": b""})),
        ok=not t0["xxh3"])
    edit("xxh3 as string", tens(lambda t, hh: t.update({"xxh3": t["xxh3"].hex()})))
    edit("unknown codec", tens(lambda t, hh: t.update({"codec": "lz4"})))
    edit("blake2b short", tens(lambda t, hh: t.update({"blake2b": bytes(31)})))
    edit("extra entry key", tens(lambda t, hh: t.update({"x-note": "hi"})), ok=True)
    edit("size overflow", tens(lambda t, hh: t.update({"shape": [2**63, 4]})))
    # compat bits may be ignored by a reader (section 3): the spec does not ask a reader to
    # check them against the header, and the C library does not
    edit("digests bit without digests", lambda hh: [t.pop("blake2b", None)
                                                    for t in hh["tensors"]],
         compat=compat | 2, ok=True)
    edit("signed bit without signatures", lambda hh: None, compat=compat | 1, ok=True)
    if t0.get("codec") is None and t0["size"] > 0:
        edit("size +1", tens(lambda t, hh: t.update({"size": t["size"] + 1})))
        edit("zstd codec on raw bytes", tens(lambda t, hh: t.update({"codec": "zstd"})),
             incompat=incompat | 1)
    if len(h["tensors"]) > 1:
        edit("duplicate name", lambda hh: hh["tensors"][1].update(
            {"name": hh["tensors"][0]["name"]}))
        edit("swapped entries", lambda hh: hh["tensors"].reverse())
    if incompat & 1:
        edit("zstd bit cleared", lambda hh: None, incompat=incompat & ~1)
    if any(t.get("codec") for t in h["tensors"]):
        def bomb(hh):  # section 8: logical bytes > 1024 x stored + 1 MiB
            for t in hh["tensors"]:
                if t.get("codec"):
                    t["shape"] = [1024 * t["size"] + (1 << 20) + 1]
                    t["dtype"] = "uint8"
                    return
        edit("decompression bomb", bomb)

        # the frame's logical size no longer matches the shape
        def shrink(hh):
            for t in hh["tensors"]:
                if t.get("codec") and t["shape"] and t["shape"][0] > 1:
                    t["shape"][0] -= 1
                    return
        edit("compressed shape smaller than frame", shrink)
    return out


def test_damaged_files_refused_alike(gen, tmp_path):
    exe, files = gen
    disagreements = []
    for case in ("chunks", "compressed", "align4096", "notensors", "digests", "empty"):
        with open(files[case], "rb") as fh:
            buf = fh.read()
        for label, data in damaged_variants(buf):
            p = str(tmp_path / "bad.trove")
            with open(p, "wb") as fh:
                fh.write(data)
            ck, cmsg = c_result(exe, p)
            pk = py_result(p)
            if (ck is None) != (pk is None):
                disagreements.append((case, label, ck, cmsg, pk))
    assert not disagreements, "\n".join(map(str, disagreements))


def test_resealed_files_refused_alike(gen, tmp_path):
    """Checksums rebuilt: only structural validation can catch these. Both readers must give
    the same verdict, and it must be the verdict the spec requires."""
    exe, files = gen
    disagreements, kinds = [], []
    for case in ("chunks", "compressed", "align4096", "notensors", "digests", "meta"):
        with open(files[case], "rb") as fh:
            buf = fh.read()
        for label, data, ok in resealed_variants(buf):
            p = str(tmp_path / "bad.trove")
            with open(p, "wb") as fh:
                fh.write(data)
            ck, cmsg = c_result(exe, p)
            pk = py_result(p)
            if ok is None:  # the spec leaves the verdict open: the readers must agree
                if (ck is None) != (pk is None):
                    disagreements.append((case, label, "spec: unsaid", "C:", ck, cmsg,
                                          "py:", pk))
                else:
                    print("unsaid by the spec:", case, label, "both:", ck, pk)
                continue
            if (ck is None) != ok or (pk is None) != ok:
                disagreements.append((case, label, "spec:", "accept" if ok else "refuse",
                                      "C:", ck, cmsg, "py:", pk))
            elif ck != pk:
                kinds.append((case, label, ck, pk))
    assert not disagreements, "\n".join(map(str, disagreements))
    assert not kinds, "same verdict, different error class: %s" % kinds


def test_bool_byte_other_than_0_or_1(gen, tmp_path):
    """Section 5.1: a bool is 0 or 1; what a reader does with a 2 is not said. Rebuild the chunk
    checksum so that only such a rule could refuse the file: both readers must agree."""
    exe, files = gen
    with open(files["dtypes"], "rb") as fh:
        body, header, fields = split(fh.read())
    h = tr.cbor_decode(header)
    t = [t for t in h["tensors"] if t["name"] == "dtype/bool"][0]
    body = bytearray(body)
    body[t["offset"]] = 2
    t["xxh3"] = xxhash.xxh3_64_intdigest(
        bytes(body[t["offset"]:t["offset"] + t["size"]])).to_bytes(8, "little")
    p = str(tmp_path / "bool2.trove")
    with open(p, "wb") as fh:
        fh.write(reseal(body, tr.cbor_encode(h), fields[2], fields[3], fields[4]))
    assert c_result(exe, p)[0] == py_result(p)


def test_pure_python_xxh3_matches_libxxhash():
    """The reader's fallback XXH3-64 (used when python3-xxhash is absent) is exact: every length
    through the short, mid-size and long paths, and several blocks and partial stripes."""
    rng = np.random.default_rng(7)
    data = rng.integers(0, 256, 70000, dtype=np.uint8).tobytes()
    for n in list(range(0, 1100)) + [2047, 2048, 2049, 4096, 4160, 65536, 70000]:
        assert tr.xxh3_64_pure(data[:n]) == xxhash.xxh3_64_intdigest(data[:n]), n


def test_reader_without_xxhash_module(gen, monkeypatch):
    exe, files = gen
    monkeypatch.setenv("TROVE_READER_PURE_XXH3", "1")
    for case in ("chunks", "meta", "compressed"):
        assert tr.verify(files[case]) is True
        assert tr.digest(files[case]) == c_dump(exe, files[case])["digest"]
    with open(files["chunks"], "rb") as fh:
        buf = bytearray(fh.read())
    with tr.TroveFile(files["chunks"]) as f:
        off = f.tensors[2].offset + 5000
    buf[off] ^= 1
    bad = files["chunks"] + ".flipped"
    with open(bad, "wb") as fh:
        fh.write(bytes(buf))
    with pytest.raises(tr.TroveReaderError) as e:
        tr.verify(bad)
    assert e.value.kind == "checksum" and "chunk 1" in e.value.message
