"""test_security.py: encrypted files from Python: trove.dump(..., key=/passphrase=) writes an
envelope that plain readers refuse, trove.load/open with the key give back the exact arrays, a
wrong key or passphrase raises with its own message, a Python exception raised inside the
encrypted write (in the C callback) propagates and leaves no file."""
import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if os.path.join(ROOT, "python") not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, "python"))

try:
    import trove
except ImportError as e:  # library not built
    pytest.skip("trove binding unavailable: %s" % e, allow_module_level=True)


def sample():
    rng = np.random.default_rng(7)
    return {"w": rng.standard_normal((300, 200)).astype(np.float32),
            "b": np.arange(10, dtype=np.int64), "empty": np.zeros((0, 3), np.float64)}


def test_key_roundtrip(tmp_path):
    key = os.urandom(32)
    p = tmp_path / "m.trove.enc"
    d = sample()
    trove.dump(d, p, key=key, sync=False, description="secret model")
    raw = p.read_bytes()
    assert raw[:8] == b"\xffTRVENC\n"
    assert b"secret model" not in raw  # metadata is not readable
    with pytest.raises(trove.TroveError, match="encrypted"):
        trove.open(p)
    back = trove.load(p, key=key)
    assert set(back) == set(d)
    for k in d:
        assert back[k].dtype == d[k].dtype and np.array_equal(back[k], d[k])
    with trove.open(p, key=key, verify=True) as f:
        assert f.metadata["description"] == "secret model"


def test_passphrase_and_wrong_secrets(tmp_path):
    p = tmp_path / "p.enc"
    d = sample()
    trove.dump(d, p, passphrase="correct horse", sync=False)
    assert np.array_equal(trove.load(p, passphrase="correct horse")["w"], d["w"])
    with pytest.raises(trove.TroveError, match="wrong passphrase"):
        trove.load(p, passphrase="battery staple")
    with pytest.raises(trove.TroveError, match="passphrase"):
        trove.load(p, key=os.urandom(32))
    k = tmp_path / "k.enc"
    trove.dump(d, k, key=b"\x01" * 32, sync=False)
    with pytest.raises(trove.TroveError, match="wrong key"):
        trove.load(k, key=b"\x02" * 32)
    with pytest.raises(ValueError):
        trove.open(k, key=b"\x01" * 32, passphrase="x")


def test_key_file_from_cli(tmp_path):
    exe = os.environ.get("TROVE", os.path.join(ROOT, "build", "trove"))
    if not os.path.exists(exe):
        pytest.skip("trove CLI not built")
    subprocess.run([exe, "keygen", "--symmetric", "-o", str(tmp_path / "data")], check=True,
                   stdout=subprocess.DEVNULL)
    kf = tmp_path / "data.key"
    p = tmp_path / "f.enc"
    trove.dump(sample(), p, key=kf, sync=False)
    out = tmp_path / "f.trove"
    subprocess.run([exe, "decrypt", str(p), "-o", str(out), "--key", str(kf), "--no-sync"],
                   check=True, stdout=subprocess.DEVNULL)
    assert np.array_equal(trove.load(out)["b"], np.arange(10))


def test_exception_in_encrypted_write_leaves_nothing(tmp_path):
    class Boom:  # raises inside the fill callback, called from C during the encrypted write
        def __contains__(self, name):
            raise RuntimeError("boom")

        def __bool__(self):
            return True
    p = tmp_path / "x.enc"
    with pytest.raises(RuntimeError, match="boom"):
        trove.dump({"a": np.ones(3)}, p, key=os.urandom(32), sync=False, compress=Boom())
    assert not p.exists()
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".x.enc")]
