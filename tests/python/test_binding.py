"""test_binding.py: the Python binding (python/trove): round trips of numpy dicts and torch
state_dicts (exact values), metadata, zero-copy read-only views that keep the file alive,
layout-independent digests, errors, dispatch of models to trove.sklearn."""
import datetime
import gc
import os
import re
import sys
import types
import weakref

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for p in (os.path.join(ROOT, "python"), os.path.join(ROOT, "tools")):
    if p not in sys.path:
        sys.path.insert(0, p)

try:
    import trove
except ImportError as e:  # library not built
    pytest.skip("trove binding unavailable: %s" % e, allow_module_level=True)
import trove_reader  # noqa: E402  the independent reader, as a second opinion

ALL_DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
              "float16", "float32", "float64"]


def sample_arrays(seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for dt in ALL_DTYPES:
        if dt == "bool":
            a = rng.integers(0, 2, size=(4, 5)).astype(bool)
        elif dt.startswith(("int", "uint")):
            info = np.iinfo(dt)
            a = rng.integers(info.min, info.max, size=(4, 5), dtype=dt, endpoint=True)
        else:
            a = rng.standard_normal((4, 5)).astype(dt)
            a[0, 0], a[0, 1], a[0, 2] = np.inf, -np.inf, np.nan
            a[0, 3] = -0.0
        out["dtype/" + dt] = a
    for r in range(9):
        out["rank%d" % r] = rng.standard_normal((2,) * r).astype(np.float32)
    out["scalar"] = np.float64(2.5)
    out["empty"] = np.zeros((3, 0, 2), dtype=np.int32)
    out["big-endian"] = np.arange(7, dtype=">f8")
    out["transposed"] = np.arange(12, dtype=np.int16).reshape(3, 4).T
    out["unicode \u00e9\u65e5 \U0001f642"] = np.arange(3, dtype=np.uint8)
    return out


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype.newbyteorder("=") == b.dtype.newbyteorder("=") \
        and np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes() \
        == np.ascontiguousarray(b).astype(b.dtype.newbyteorder("<")).tobytes()


def test_numpy_round_trip_exact(tmp_path):
    src = sample_arrays()
    p = str(tmp_path / "m.trove")
    trove.dump(src, p, description="round trip")
    out = trove.load(p)
    assert list(out) == list(src)
    for k in src:
        assert same(out[k], src[k]), k
    # the independent reader sees the same values
    meta, arrays = trove_reader.read(p)
    for k in src:
        assert same(arrays[k], src[k]), k
    assert meta["description"] == "round trip"


@pytest.mark.parametrize("kwargs", [dict(compress=True), dict(digests=True),
                                    dict(alignment=4096, chunk_bytes=4096),
                                    dict(compress={"dtype/float64", "rank8"}, zstd_level=19)])
def test_options_keep_values_and_digest(tmp_path, kwargs):
    src = sample_arrays(1)
    plain, other = str(tmp_path / "plain.trove"), str(tmp_path / "other.trove")
    trove.dump(src, plain, created=False, sync=False)
    trove.dump(src, other, created=False, **kwargs)
    out = trove.load(other)
    for k in src:
        assert same(out[k], src[k]), k
    with trove.open(plain) as a, trove.open(other) as b:
        assert a.digest() == b.digest() == trove_reader.digest(other)
        assert b.verify()
        if kwargs.get("digests"):
            assert b.digest(trust_stored=True) == a.digest()
        if kwargs.get("compress") is True:
            assert all(t.compressed for t in b.tensors.values() if t.nbytes)
        if "alignment" in kwargs:
            assert all(t.offset % 4096 == 0 for t in b.tensors.values())
    # dump is deterministic without a timestamp
    again = str(tmp_path / "again.trove")
    trove.dump(src, again, created=False, sync=False)
    assert open(again, "rb").read() == open(plain, "rb").read()


def test_metadata_recorded(tmp_path):
    p = str(tmp_path / "m.trove")
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    trove.dump({"x": np.zeros(2)}, p, description="d", license="MIT", lr=0.001, epochs=3,
               tags=["a", "b"], blob=b"\x00\xff", huge=2**64 - 1, neg=-2**63, none=None,
               nested={"k": [1, 2.5, {"z": True}]}, np_scalar=np.int64(5),
               np_list=np.array([1.5, 2.5]), meta={"metrics": {"acc": 0.9}})
    with trove.open(p) as f:
        m = f.metadata
    assert m["producer"] == {"name": "numpy", "version": np.__version__}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["created"])
    created = datetime.datetime.strptime(m["created"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    assert before <= created <= datetime.datetime.now(datetime.timezone.utc)
    assert m["description"] == "d" and m["license"] == "MIT"
    assert m["metrics"] == {"acc": 0.9}
    u = m["user"]
    assert u == {"lr": 0.001, "epochs": 3, "tags": ["a", "b"], "blob": b"\x00\xff",
                 "huge": 2**64 - 1, "neg": -2**63, "none": None,
                 "nested": {"k": [1, 2.5, {"z": True}]}, "np_scalar": 5, "np_list": [1.5, 2.5]}
    assert type(u["blob"]) is bytes and type(u["epochs"]) is int
    # the C library's header and the independent reader's agree
    assert trove_reader.read(p)[0] == m


def test_torch_state_dict_round_trip(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.BatchNorm1d(16),
                                torch.nn.ReLU(), torch.nn.Linear(16, 3))
    model(torch.randn(4, 8))  # updates BatchNorm running stats and num_batches_tracked
    sd = dict(model.state_dict())
    sd["half"] = torch.randn(3, 5, dtype=torch.float16)
    sd["bf16"] = torch.randn(7, 2, dtype=torch.bfloat16)
    sd["bf16_empty"] = torch.zeros(0, 4, dtype=torch.bfloat16)
    sd["flags"] = torch.tensor([True, False, True])
    sd["noncontig"] = torch.arange(20, dtype=torch.int32).reshape(4, 5).t()
    sd["needs_grad"] = torch.nn.Parameter(torch.randn(2, 2))
    p = str(tmp_path / "sd.trove")
    trove.dump(sd, p, epochs=2)
    for copy in (None, False):
        out = trove.load(p, framework="torch", copy=copy)
        assert list(out) == list(sd)
        for k, v in sd.items():
            assert out[k].dtype == v.dtype, k
            assert out[k].shape == v.shape, k
            assert torch.equal(out[k], v.detach()), k
    # writable copies by default, loadable into a fresh model
    out = trove.load(p, framework="torch")
    out["0.weight"].add_(1.0)
    fresh = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.BatchNorm1d(16),
                                torch.nn.ReLU(), torch.nn.Linear(16, 3))
    out = trove.load(p, framework="torch")
    fresh.load_state_dict({k: v for k, v in out.items() if k in model.state_dict()})
    x = torch.randn(5, 8)
    model.eval()
    fresh.eval()
    assert torch.equal(model(x), fresh(x))
    with trove.open(p) as f:
        assert f.metadata["producer"] == {"name": "torch", "version": torch.__version__}
        assert f.tensors["bf16"].dtype == "bfloat16"
        # numpy view of bfloat16: exact float32 values
        assert np.array_equal(f["bf16"], sd["bf16"].float().numpy())
    # a module is saved as its state_dict
    q = str(tmp_path / "module.trove")
    trove.dump(model, q)
    assert set(trove.load(q)) == set(model.state_dict())


def test_zero_copy_views_keep_the_file_alive(tmp_path):
    p = str(tmp_path / "z.trove")
    trove.dump({"a": np.arange(1000, dtype=np.float64), "b": np.ones((64, 64), np.float32)}, p,
               alignment=4096)
    f = trove.open(p)
    a, b = f["a"], f["b"]
    assert not a.flags.writeable and not a.flags.owndata
    with pytest.raises(ValueError):
        a.flags.writeable = True
    with pytest.raises(ValueError):
        a[0] = 1.0
    # both arrays point into one mapping of the whole file: addresses differ as offsets do
    ta, tb = f.tensors["a"], f.tensors["b"]
    base_a = a.ctypes.data - ta.offset
    assert base_a == b.ctypes.data - tb.offset
    assert base_a % os.sysconf("SC_PAGE_SIZE") == 0
    maps = open("/proc/self/maps").read().splitlines()
    mapped = [ln for ln in maps if ln.endswith(os.path.realpath(p))]
    spans = [tuple(int(x, 16) for x in ln.split()[0].split("-")) for ln in mapped]
    assert any(lo <= a.ctypes.data and a.ctypes.data + a.nbytes <= hi for lo, hi in spans)
    # the base chain holds the file: closing it and dropping it does not unmap
    holder = a
    while holder is not None and not hasattr(holder, "_trove_owner"):
        holder = getattr(holder, "base", None)
    assert holder is not None
    handle = weakref.ref(holder._trove_owner)
    del holder
    f.close()
    with pytest.raises(ValueError):
        f["a"]
    del f
    gc.collect()
    assert handle() is not None
    assert a.sum() == sum(range(1000)) and b.sum() == 64 * 64
    view = a[10:20]  # views of views keep it alive too
    del a, b
    gc.collect()
    assert handle() is not None and view[0] == 10.0
    del view
    gc.collect()
    assert handle() is None  # last array gone: file closed and unmapped
    assert not any(ln.endswith(os.path.realpath(p))
                   for ln in open("/proc/self/maps").read().splitlines())


def test_file_object(tmp_path):
    p = str(tmp_path / "f.trove")
    src = {"w": np.arange(6, dtype=np.int64).reshape(2, 3), "z": np.zeros(3, np.float16)}
    trove.dump(src, p, compress={"z"}, digests=True)
    with trove.open(p) as f:
        assert len(f) == 2 and "w" in f and list(f) == ["w", "z"]
        assert f.tensors["w"].shape == (2, 3) and f.tensors["w"].dtype == "int64"
        assert f.tensors["z"].compressed and not f.tensors["w"].compressed
        assert f.version == (1, 0) and f.size == os.path.getsize(p)
        assert set(f.header) >= {"meta", "tensors"}
        assert f.verify() and f.verify_tensor("z")
        assert f.tensor_digest("w") == f.header["tensors"][0]["blake2b"].hex()
        assert same(f["z"], src["z"]) and not f["z"].flags.writeable
        with pytest.raises(KeyError):
            f["nope"]
    assert f.closed
    with pytest.raises(ValueError):
        f.verify()


def test_errors(tmp_path):
    p = str(tmp_path / "e.trove")
    with pytest.raises(trove.TroveError) as e:
        trove.open(str(tmp_path / "missing.trove"))
    assert e.value.code == -3
    junk = tmp_path / "junk.trove"
    junk.write_bytes(b"PK\x03\x04" + bytes(200))
    with pytest.raises(trove.TroveError) as e:
        trove.load(str(junk))
    assert e.value.code == -4
    with pytest.raises(TypeError):
        trove.dump({"c": np.zeros(2, np.complex64)}, p)
    with pytest.raises(TypeError):
        trove.dump({"s": np.array(["a"])}, p)
    with pytest.raises(TypeError):
        trove.dump([np.zeros(2)], p)
    with pytest.raises(ValueError):
        trove.dump({"x": np.zeros(2)}, p, obj=object())
    with pytest.raises(trove.TroveError) as e:
        trove.dump({"": np.zeros(2)}, p)  # empty names are invalid
    assert e.value.code == -1
    assert not os.path.exists(p)  # nothing half-written left behind
    with pytest.raises(trove.TroveError) as e:
        trove.dump({"x": np.zeros(2)}, str(tmp_path / "no-such-dir" / "x.trove"))
    assert e.value.code == -3
    # a flipped tensor byte: open succeeds (lazy), verify names the problem
    trove.dump({"x": np.arange(100, dtype=np.float32)}, p)
    off = trove.open(p).tensors["x"].offset
    data = bytearray(open(p, "rb").read())
    data[off + 17] ^= 0x10
    open(p, "wb").write(bytes(data))
    f = trove.open(p)
    with pytest.raises(trove.TroveError) as e:
        f.verify()
    assert e.value.code == -7 and "'x'" in e.value.message
    with pytest.raises(trove.TroveError) as e:
        trove.load(p, verify=True)
    assert e.value.code == -7
    # a damaged header is refused at open
    data[-70] ^= 1
    open(p, "wb").write(bytes(data))
    with pytest.raises(trove.TroveError) as e:
        trove.open(p)
    assert e.value.code == -7


def test_sklearn_dispatch(tmp_path, monkeypatch):
    calls = []
    fake = types.ModuleType("trove.sklearn")
    fake.dump = lambda obj, path, **kw: calls.append(("dump", obj, path, kw))
    fake.load = lambda path, **kw: calls.append(("load", path, kw)) or "model"
    sk_base = pytest.importorskip("sklearn.base")
    from sklearn.linear_model import LinearRegression
    est = LinearRegression()
    p = str(tmp_path / "k.trove")
    monkeypatch.setitem(sys.modules, "trove.sklearn", fake)
    monkeypatch.setattr(trove, "sklearn", fake, raising=False)
    trove.dump(est, p, description="x")
    assert calls == [("dump", est, p, {"description": "x"})]
    # the write options given are forwarded too, and only those
    trove.dump(est, p, key=b"k" * 32, sync=False, kdf_ops=2)
    assert calls[-1] == ("dump", est, p, {"key": b"k" * 32, "sync": False, "kdf_ops": 2})
    calls.clear()
    assert isinstance(est, sk_base.BaseEstimator)
    trove.dump({"coef": np.ones(3)}, p, meta={"kind": "linear"})
    assert trove.load(p) == "model" and calls[-1] == ("load", p, {})
    # framework="numpy" still gives the raw tensors of a model file
    assert list(trove.load(p, framework="numpy")) == ["coef"]
    # without trove.sklearn: a clear error, not an ImportError from deep inside
    monkeypatch.setitem(sys.modules, "trove.sklearn", None)
    monkeypatch.delattr(trove, "sklearn")
    with pytest.raises(trove.TroveError) as e:
        trove.load(p)
    assert e.value.code == -11 and "trove.sklearn" in e.value.message
