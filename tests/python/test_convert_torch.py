"""`trove convert` of torch.save files (src/codecs/torch.c): zip and legacy formats.

Fixtures are written here at test time by the installed torch (state_dicts of small modules,
views, every dtype trove stores, nested checkpoints, torch.save(..., legacy)); after the
conversion every tensor must equal, byte for byte, dtype and shape, what torch.load gives.
Hostile files are crafted with a pickler that emits the same opcodes torch does (the real
torch._utils._rebuild_tensor_v2 global, persistent ids) but with bad views and sizes; they must
be refused with exit status 1, the reason in the message, and no output file. The malicious
pickles would run a command that creates a file: the file must not exist afterwards. The same
files are replayed through the ASan/UBSan build of the parser (build/asan-fuzz/fuzz_torch) when
it is built."""
import collections
import io
import os
import pickle
import struct
import subprocess
import zipfile

import numpy as np
import pytest

from convert_helpers import convert, metadata

import trove

torch = pytest.importorskip("torch")

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
ASAN_REPLAY = os.path.join(ROOT, "build", "asan-fuzz", "fuzz_torch")

TROVE_DT = {torch.float32: "float32", torch.float64: "float64", torch.float16: "float16",
            torch.bfloat16: "bfloat16", torch.int8: "int8", torch.int16: "int16",
            torch.int32: "int32", torch.int64: "int64", torch.uint8: "uint8", torch.bool: "bool"}


def raw(t):
    """C-order bytes of a torch tensor (bfloat16 through its 16-bit pattern)."""
    t = t.detach()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def read_trove(path):
    f = trove.open(str(path))
    out = {}
    for name in f.keys():
        a = np.asarray(f.array(name, bfloat16="uint16"))
        out[name] = (f.tensors[name].dtype, tuple(a.shape), a.tobytes())
    return out


def flatten(obj, prefix=""):
    """The tensors of a (nested) torch.load result, named as trove names them."""
    out = {}
    if isinstance(obj, torch.Tensor):
        out[prefix or "tensor"] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, "%s.%s" % (prefix, k) if prefix else str(k)))
    elif isinstance(obj, (list, tuple)) and any(isinstance(v, (torch.Tensor, dict)) for v in obj):
        for i, v in enumerate(obj):
            out.update(flatten(v, "%s.%d" % (prefix, i) if prefix else str(i)))
    return out


def assert_same(pt, tv, weights_only=True):
    ref = flatten(torch.load(str(pt), weights_only=weights_only))
    got = read_trove(tv)
    assert set(got) == set(ref)
    for name, t in ref.items():
        assert got[name] == (TROVE_DT[t.dtype], tuple(t.shape), raw(t)), name
    return ref


def convert_ok(src, dst):
    r = convert(src, dst)
    assert r.returncode == 0, r.stderr
    return r


def refused(src, dst, *fragments):
    r = convert(src, dst)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    for f in fragments:
        assert f in r.stderr, (f, r.stderr)
    assert not os.path.exists(dst)
    return r


# ---- real torch files ----------------------------------------------------------------------

def modules():
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm2d(3)
    bn.train()
    bn(torch.randn(4, 3, 5, 5))  # running stats and num_batches_tracked (int64) change
    bn(torch.randn(4, 3, 5, 5))
    return {
        "linear": torch.nn.Linear(5, 3),
        "conv2d": torch.nn.Conv2d(3, 4, kernel_size=3, padding=1),
        "batchnorm": bn,
        "embedding": torch.nn.Embedding(10, 4),
        "mlp_half": torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
                                        torch.nn.Linear(8, 2)).half(),
        "mlp_bf16": torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.LayerNorm(8)).to(
            torch.bfloat16),
        "lstm": torch.nn.LSTM(3, 4, num_layers=2),
    }


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
@pytest.mark.parametrize("name", list(modules()))
def test_module_state_dict(tmp_path, name, legacy):
    sd = modules()[name].state_dict()
    pt = tmp_path / ("%s.pt" % name)
    torch.save(sd, str(pt), _use_new_zipfile_serialization=not legacy)
    tv = tmp_path / ("%s.trove" % name)
    r = convert_ok(pt, tv)
    assert "%d tensor" % len(sd) in r.stdout
    ref = assert_same(pt, tv)
    assert list(read_trove(tv)) == list(ref)  # the state_dict's order is kept
    m = metadata(tv)
    assert m["lineage"]["source"]["format"] == ("torch (legacy)" if legacy else "torch")
    assert "kind" not in m and "user" not in m
    if name == "batchnorm":
        assert read_trove(tv)["num_batches_tracked"][0] == "int64"


def views_and_dtypes():
    torch.manual_seed(1)
    x = torch.arange(24, dtype=torch.float32)
    return {
        "transposed": torch.randn(3, 4).t(),
        "permuted": torch.randn(2, 3, 4).permute(2, 0, 1),
        "slice": x[5:11],                     # an offset into a shared storage
        "whole": x.view(4, 6),                # a second view of the same storage
        "column": x.view(4, 6)[:, 2],         # strided, offset
        "stepped": x[1::3],
        "expanded": torch.arange(3.0).expand(4, 3),   # stride 0
        "scalar": torch.tensor(3.5, dtype=torch.float64),
        "scalar_view": x[7],                  # a 0-dim view with an offset
        "empty": torch.zeros(0, 3),
        "empty_i64": torch.zeros(2, 0, dtype=torch.int64),
        "f64": torch.randn(2, 2, dtype=torch.float64),
        "f16": torch.randn(5, dtype=torch.float16),
        "bf16_col": torch.randn(5, 2, dtype=torch.bfloat16)[:, 1],
        "i8": torch.tensor([-128, 127], dtype=torch.int8),
        "i16": torch.tensor([-300, 300], dtype=torch.int16),
        "i32": torch.arange(12, dtype=torch.int32).reshape(3, 4).t(),
        "i64": torch.tensor([-1, 2 ** 62]),
        "u8": torch.tensor([0, 128, 255], dtype=torch.uint8),
        "bool": torch.tensor([[True, False], [False, True]]).t(),
        "param": torch.nn.Parameter(torch.randn(2, 3)),
        "rank5": torch.randn(1, 2, 1, 3, 2).transpose(1, 3),
    }


@pytest.mark.parametrize("fmt", ["zip", "zip_protocol4", "legacy", "legacy_protocol4"])
def test_views_and_dtypes(tmp_path, fmt):
    d = views_and_dtypes()
    pt = tmp_path / "v.pt"
    torch.save(d, str(pt), _use_new_zipfile_serialization=not fmt.startswith("legacy"),
               pickle_protocol=4 if fmt.endswith("4") else 2)
    tv = tmp_path / "v.trove"
    convert_ok(pt, tv)
    # torch 1.13's weights_only loader knows protocol 2 only: the protocol-4 files are our own
    ref = assert_same(pt, tv, weights_only=not fmt.endswith("4"))
    assert set(ref) == set(d)
    out = tmp_path / "col.npy"  # the CLI route too: trove cat FILE NAME -o x.npy
    c = subprocess.run([os.environ.get("TROVE", os.path.join(ROOT, "build", "trove")), "cat",
                        str(tv), "column", "-o", str(out)], capture_output=True, text=True)
    assert c.returncode == 0, c.stderr
    assert np.load(out).tobytes() == raw(d["column"])


def test_nested_checkpoint(tmp_path):
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(2):
        opt.zero_grad()
        model(torch.randn(8, 3)).pow(2).mean().backward()
        opt.step()
    ck = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 7,
          "run": "caf\u00e9", "best": 0.25, "flags": [1, 2, 3], "note": None,
          "pair": (torch.ones(2), torch.zeros(1, dtype=torch.int32))}
    pt = tmp_path / "ck.pt"
    torch.save(ck, str(pt))
    tv = tmp_path / "ck.trove"
    convert_ok(pt, tv)
    # torch 1.13's weights_only loader refuses floats in the pickle: this file is our own
    ref = assert_same(pt, tv, weights_only=False)
    assert "model.0.weight" in ref and "optimizer.state.0.exp_avg" in ref and "pair.1" in ref
    user = metadata(tv)["user"]
    assert user["epoch"] == 7 and user["run"] == "caf\u00e9" and user["best"] == 0.25
    assert user["flags"] == [1, 2, 3] and user["note"] is None
    groups = user["optimizer.param_groups"]
    assert groups[0]["lr"] == 0.01 and groups[0]["params"] == [0, 1, 2, 3]
    assert list(groups[0]["betas"]) == [0.9, 0.999]


def test_lone_tensor_and_name(tmp_path):
    t = torch.randn(3, 2).t()
    pt = tmp_path / "t.pt"
    torch.save(t, str(pt))
    convert_ok(pt, tmp_path / "t.trove")
    assert read_trove(tmp_path / "t.trove") == {"tensor": ("float32", (2, 3), raw(t))}
    r = convert(pt, tmp_path / "n.trove", "--name", "w")
    assert r.returncode == 0, r.stderr
    assert list(read_trove(tmp_path / "n.trove")) == ["w"]


def rewrite_zip(src, dst, edit):
    """Copy a torch zip member by member (stored), edit(name, bytes) -> bytes or None (drop)."""
    zin = zipfile.ZipFile(str(src))
    with zipfile.ZipFile(str(dst), "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = edit(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info.filename, data)
        extra = edit(None, None)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)


def test_big_endian_byteorder(tmp_path):
    """torch >= 2.1 records `byteorder`; a file written big-endian has swapped storages."""
    d = {"f32": torch.randn(3, 2).t(), "i64": torch.tensor([1, -2, 2 ** 40]),
         "f16": torch.randn(4, dtype=torch.float16), "bf16": torch.randn(3, dtype=torch.bfloat16),
         "u8": torch.tensor([1, 2], dtype=torch.uint8), "b": torch.tensor([True])}
    pt = tmp_path / "le.pt"
    torch.save(d, str(pt))
    sizes = {}  # storage key -> element size, from the pickle's storage types
    zin = zipfile.ZipFile(str(pt))
    prefix = zin.namelist()[0].split("/")[0]
    ref = torch.load(str(pt), weights_only=True)

    # element size of each storage: through torch itself (its storages are numbered in order)
    class Rec(pickle.Unpickler):
        def find_class(self, mod, name):
            if name.endswith("Storage"):
                return name
            return {"_rebuild_tensor_v2": lambda *a: None}.get(name, collections.OrderedDict)

        def persistent_load(self, pid):
            es = {"FloatStorage": 4, "LongStorage": 8, "HalfStorage": 2, "BFloat16Storage": 2,
                  "ByteStorage": 1, "BoolStorage": 1}[pid[1]]
            sizes[pid[2]] = es
            return None
    Rec(io.BytesIO(zin.read(prefix + "/data.pkl"))).load()

    def edit(name, data):
        if name is None:
            return {prefix + "/byteorder": b"big"}
        if name.startswith(prefix + "/data/"):
            es = sizes[name.rsplit("/", 1)[1]]
            return np.frombuffer(data, "u%d" % es).byteswap().tobytes() if es > 1 else data
        return data
    be = tmp_path / "be.pt"
    rewrite_zip(pt, be, edit)
    convert_ok(be, tmp_path / "be.trove")
    got = read_trove(tmp_path / "be.trove")
    for name, t in ref.items():
        assert got[name] == (TROVE_DT[t.dtype], tuple(t.shape), raw(t)), name
    # and "little" spelled out reads as the original
    rewrite_zip(pt, tmp_path / "le2.pt",
                lambda n, b: {prefix + "/byteorder": b"little"} if n is None else b)
    convert_ok(tmp_path / "le2.pt", tmp_path / "le2.trove")
    assert read_trove(tmp_path / "le2.trove") == got
    rewrite_zip(pt, tmp_path / "bo.pt",
                lambda n, b: {prefix + "/byteorder": b"middle"} if n is None else b)
    refused(tmp_path / "bo.pt", tmp_path / "bo.trove", "byteorder is neither")


# ---- refusals --------------------------------------------------------------------------------

def test_whole_module_refused(tmp_path):
    pt = tmp_path / "m.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 2)), str(pt))
    refused(pt, tmp_path / "m.trove", "nn.Module", "torch.nn.modules.container.Sequential",
            "state_dict")


def test_module_inside_checkpoint_refused(tmp_path):
    pt = tmp_path / "m.pt"
    torch.save({"net": torch.nn.Linear(2, 2), "w": torch.ones(1)}, str(pt))
    refused(pt, tmp_path / "m.trove", "'net'", "torch.nn.modules.linear.Linear", "state_dict")


class SubTensor(torch.Tensor):
    pass


def test_tensor_subclass_refused(tmp_path):
    pt = tmp_path / "s.pt"
    torch.save({"w": torch.ones(2).as_subclass(SubTensor)}, str(pt))
    refused(pt, tmp_path / "s.trove", "'w'", "tensor subclass", "SubTensor")


def test_torchscript_refused(tmp_path):
    pt = tmp_path / "s.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(pt))
    refused(pt, tmp_path / "s.trove", "TorchScript")


class Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, ("touch " + self.path,))


LEGACY_HEAD = (pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2) + pickle.dumps(1001, protocol=2)
               + pickle.dumps({"protocol_version": 1001, "little_endian": True,
                               "type_sizes": {"short": 2, "int": 4, "long": 8}}, protocol=2))


def torch_zip(path, pkl, storages=None, prefix="archive", extra=None):
    with zipfile.ZipFile(str(path), "w", zipfile.ZIP_STORED) as z:
        z.writestr(prefix + "/data.pkl", pkl)
        for key, data in (storages or {}).items():
            z.writestr("%s/data/%s" % (prefix, key), data)
        z.writestr(prefix + "/version", b"3\n")
        for name, data in (extra or {}).items():
            z.writestr(name, data)


@pytest.mark.parametrize("where", ["zip_root", "zip_value", "legacy"])
def test_malicious_pickle_not_executed(tmp_path, where):
    marker = tmp_path / "pwned"
    evil = Evil(str(marker))
    pt = tmp_path / "evil.pt"
    if where == "zip_root":
        torch_zip(pt, pickle.dumps(evil, protocol=2))
    elif where == "zip_value":
        torch_zip(pt, pickle.dumps({"a": 1, "b": evil}, protocol=2))
    else:
        pt.write_bytes(LEGACY_HEAD + pickle.dumps(evil, protocol=2) + pickle.dumps([], protocol=2))
    r = refused(pt, tmp_path / "evil.trove", "posix.system")
    assert "Python code" in r.stderr
    assert not marker.exists()


# ---- crafted hostile files ------------------------------------------------------------------

class St:
    """A storage reference: pickled as torch's persistent id."""
    def __init__(self, key, numel, stype="FloatStorage", pid=None):
        self.key, self.numel, self.stype, self.pid = key, numel, stype, pid


class T:
    """A tensor: pickled as torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)."""
    def __init__(self, st, offset, size, stride, hooks=None):
        self.args = (st, offset, tuple(size), tuple(stride), False,
                     hooks if hooks is not None else collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class Pk(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, St):
            return obj.pid or ("storage", getattr(torch, obj.stype), obj.key, "cpu", obj.numel)
        return None


def pkl(obj):
    b = io.BytesIO()
    Pk(b, protocol=2).dump(obj)
    return b.getvalue()


F6 = np.arange(6, dtype="<f4").tobytes()


def test_crafted_valid_view(tmp_path):
    """The crafting itself is right: a good view converts and matches numpy."""
    st = St("0", 6)
    pt = tmp_path / "ok.pt"
    torch_zip(pt, pkl({"w": T(st, 1, (2, 2), (1, 2))}), {"0": F6})
    convert_ok(pt, tmp_path / "ok.trove")
    want = np.lib.stride_tricks.as_strided(np.arange(6, dtype="<f4")[1:], (2, 2), (4, 8))
    assert read_trove(tmp_path / "ok.trove") == {"w": ("float32", (2, 2), want.tobytes())}
    assert torch.equal(torch.load(str(pt), weights_only=True)["w"], torch.from_numpy(want.copy()))


def hostile_cases():
    st = St("0", 6)
    zipped = lambda obj, storages={"0": F6}, **kw: ("zip", pkl(obj), storages, kw)
    return {
        "view_past_storage": (zipped({"w": T(st, 3, (2, 2), (2, 1))}), "reaches outside"),
        "offset_past_storage": (zipped({"w": T(st, 6, (1,), (1,))}), "reaches outside"),
        "huge_size": (zipped({"w": T(st, 0, (2 ** 62, 8), (1, 1))}), "overflows"),
        "huge_stride": (zipped({"w": T(st, 0, (5,), (2 ** 62,))}), "overflows"),
        "big_int_stride": (zipped({"w": T(st, 0, (3,), (2 ** 63,))}), "non-negative int"),
        "negative_stride": (zipped({"w": T(st, 5, (2,), (-1,))}), "non-negative"),
        "negative_size": (zipped({"w": T(st, 0, (-1,), (1,))}), "non-negative"),
        "rank_mismatch": (zipped({"w": T(st, 0, (2, 3), (1,))}), "two tuples of one length"),
        "rank9": (zipped({"w": T(st, 0, (1,) * 9, (1,) * 9)}), "rank 9"),
        "storage_too_small": (zipped({"w": T(St("0", 8), 0, (8,), (1,))}),
                              "declares 8 elements of float32, its member holds 24 bytes"),
        "storage_missing": (zipped({"w": T(St("7", 6), 0, (6,), (1,))}), "has no member"),
        "storage_key_slash": (zipped({"w": T(St("../0", 6), 0, (6,), (1,))}), "'/'"),
        "two_types_one_storage": (zipped({"a": T(st, 0, (6,), (1,)),
                                          "b": T(St("0", 6, "IntStorage"), 0, (6,), (1,))}),
                                  "declared twice"),
        "complex_storage": (zipped({"w": T(St("0", 3, "ComplexFloatStorage"), 0, (3,), (1,))}),
                            "ComplexFloatStorage"),
        "bad_persistent_id": (zipped({"w": T(St("0", 6, pid=("module", "x")), 0, (6,), (1,))}),
                              "persistent id"),
        "hooks": (zipped({"w": T(st, 0, (6,), (1,),
                                 hooks=collections.OrderedDict([(1, os.getcwd)]))}),
                  "backward hooks"),
        "duplicate_names": (zipped({"a.b": T(st, 0, (1,), (1,)), "a": {"b": T(st, 1, (1,), (1,))}}),
                            "appears twice"),
        "no_data_pkl": (("zipraw", None, {"archive/version": b"3\n"}, {}), "data.pkl"),
        "member_outside": (zipped({"w": T(st, 0, (6,), (1,))}, extra={"other/x": b"1"}),
                           "outside the archive directory"),
        "set_key": (zipped({frozenset([1]): T(st, 0, (1,), (1,))}), "dict key"),
        "storage_alone": (zipped({"s": St("0", 6)}), "storage outside a tensor"),
        "shared_visits": (shared_refs("visits"), "objects visited"),
        "shared_bytes": (shared_refs("bytes"), "exceed 64 MiB"),
        "legacy_view": (("legacy", pkl({"w": T(St("0", 6, pid=("storage", torch.FloatStorage,
                                                          "0", "cpu", 6, ("1", 0, 2))),
                                              0, (2,), (1,))}), None, {}),
                        "view_metadata"),
    }


def shared_refs(kind):
    """Small pickles whose shared references would expand enormously."""
    if kind == "visits":  # 200 ** 12 list items
        x = "y"
        for _ in range(12):
            x = [x] * 200
    else:  # 10,000 references to one 1 MB string: 10 GB of metadata
        x = [["y" * 1000000] * 100] * 100
    return ("zip", pkl({"v": x, "w": T(St("0", 6), 0, (6,), (1,))}),
            {"0": F6}, {})


def write_case(path, spec):
    kind, body, storages, kw = spec
    if kind == "zip":
        torch_zip(path, body, storages, extra=kw.get("extra"))
    elif kind == "zipraw":
        with zipfile.ZipFile(str(path), "w") as z:
            for name, data in storages.items():
                z.writestr(name, data)
    else:
        path.write_bytes(LEGACY_HEAD + body + pickle.dumps(["0"], protocol=2)
                         + struct.pack("<q", 6) + F6)


@pytest.mark.parametrize("case", list(hostile_cases()))
def test_crafted_hostile(tmp_path, case):
    spec, fragment = hostile_cases()[case]
    pt = tmp_path / (case + ".pt")
    write_case(pt, spec)
    refused(pt, tmp_path / (case + ".trove"), fragment)


def zip_bytes(tmp_path):
    st = St("0", 6)
    pt = tmp_path / "z.pt"
    torch_zip(pt, pkl({"w": T(st, 0, (6,), (1,))}), {"0": F6})
    return bytearray(pt.read_bytes())


def test_zip_structure_hostile(tmp_path):
    """Bytes of a good file changed: CRC, local header name, sizes, truncation."""
    good = zip_bytes(tmp_path)
    data_at = good.find(F6)
    cd = good.find(b"PK\x01\x02")
    cases = {}
    b = bytearray(good)
    b[data_at] ^= 1
    cases["crc"] = (b, "CRC-32 mismatch")
    b = bytearray(good)
    b[30] = ord("X")  # first local header's name
    cases["local_name"] = (b, "local header does not match")
    b = bytearray(good)
    struct.pack_into("<I", b, cd + 42, len(good))  # local header offset past the end
    cases["local_offset"] = (b, "local header out of bounds")
    b = bytearray(good)
    struct.pack_into("<I", b, cd + 20, 1 << 30)
    cases["sizes"] = (b, "different sizes")
    cases["truncated"] = (good[:len(good) - 30], "end-of-central-directory")
    for name, (data, fragment) in cases.items():
        pt = tmp_path / (name + ".pt")
        pt.write_bytes(bytes(data))
        refused(pt, tmp_path / (name + ".trove"), fragment)


def test_compressed_member_refused(tmp_path):
    pt = tmp_path / "c.pt"
    with zipfile.ZipFile(str(pt), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", pkl({"w": T(St("0", 6), 0, (6,), (1,))}))
        z.writestr("archive/data/0", F6)
    refused(pt, tmp_path / "c.trove", "compressed (method 8)")


def test_legacy_truncated_storage(tmp_path):
    pt = tmp_path / "v.pt"
    torch.save({"w": torch.arange(6.0)}, str(pt), _use_new_zipfile_serialization=False)
    data = pt.read_bytes()
    (tmp_path / "t.pt").write_bytes(data[:-4])
    refused(tmp_path / "t.pt", tmp_path / "t.trove", "runs past the end")
    (tmp_path / "x.pt").write_bytes(data + b"\0")
    refused(tmp_path / "x.pt", tmp_path / "x.trove", "after the last storage")


def test_hostile_files_under_asan(tmp_path):
    """Every crafted file through the ASan/UBSan build of the parser: no report."""
    if not os.path.exists(ASAN_REPLAY):
        pytest.skip("build/asan-fuzz/fuzz_torch not built (make check-fuzz)")
    d = tmp_path / "corpus"
    d.mkdir()
    for case, (spec, _) in hostile_cases().items():
        write_case(d / case, spec)
    good = zip_bytes(tmp_path)
    for i in range(0, len(good), 7):
        (d / ("trunc%d" % i)).write_bytes(bytes(good[:i]))
    r = subprocess.run([ASAN_REPLAY, str(d)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
