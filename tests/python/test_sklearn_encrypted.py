"""test_sklearn_encrypted.py: encrypted scikit-learn models from Python: trove.sklearn.dump(est,
path, key=/passphrase=) writes an envelope (mode 0600, no plaintext of the weights, the
estimator or the metadata in its bytes, no temporary file left), trove.sklearn.load and
trove.load with the same secret rebuild an estimator that predicts exactly what the original
predicts, a wrong or missing secret raises TroveError with its own code and message, altered
bytes raise TROVE_E_DECRYPT, and `trove predict --key` reads the same file."""
import functools
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if os.path.join(ROOT, "python") not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, "python"))

try:
    import trove
    import trove.sklearn as tsk
except ImportError as e:  # library not built
    pytest.skip("trove binding unavailable: %s" % e, allow_module_level=True)
sklearn = pytest.importorskip("sklearn")
import sklearn.exceptions  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.neural_network import MLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

E_KEY, E_DECRYPT = -16, -17
MAGIC = b"\xffTRVENC\n"


def data():
    rng = np.random.RandomState(3)
    X = rng.randn(240, 5)
    y = (X[:, 0] - X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8).astype(int)
    r = X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.1 * rng.randn(240)
    return X, y, r


@functools.lru_cache(maxsize=1)
def estimators():
    X, y, r = data()
    warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
    return {
        "logistic": LogisticRegression(max_iter=1000).fit(X, y),
        "forest": RandomForestClassifier(n_estimators=6, max_depth=5, random_state=1).fit(X, y),
        "ridge": Ridge(alpha=0.3).fit(X, r),
        "pipeline": make_pipeline(StandardScaler(),
                                  MLPRegressor(hidden_layer_sizes=(8,), max_iter=300,
                                               random_state=0)).fit(X, r),
    }


def same_predictions(a, b, X):
    assert type(a) is type(b)
    assert np.array_equal(a.predict(X), b.predict(X))
    if hasattr(a, "predict_proba"):
        assert np.array_equal(a.predict_proba(X), b.predict_proba(X))


def weights(est):
    """Float arrays of the fitted state whose bytes must not appear in an encrypted file."""
    if hasattr(est, "coef_"):
        return [np.ascontiguousarray(est.coef_, dtype=np.float64)]
    if hasattr(est, "estimators_"):
        return [np.ascontiguousarray(t.tree_.threshold) for t in est.estimators_]
    if hasattr(est, "steps"):
        mlp = est.steps[-1][1]
        return [np.ascontiguousarray(est.steps[0][1].mean_)] + \
            [np.ascontiguousarray(w) for w in mlp.coefs_]
    raise AssertionError(type(est))


@pytest.mark.parametrize("name", ["logistic", "forest", "ridge", "pipeline"])
def test_key_roundtrip_predicts_identically(tmp_path, name):
    est = estimators()[name]
    X, _, _ = data()
    key = os.urandom(32)
    p = tmp_path / ("%s.trove" % name)
    tsk.dump(est, p, key=key, description="confidential %s" % name)
    raw = p.read_bytes()
    assert raw[:8] == MAGIC
    assert (os.stat(p).st_mode & 0o777) == 0o600
    assert sorted(os.listdir(tmp_path)) == [p.name]  # no plaintext or temporary file
    # nothing readable: not the estimator, not the metadata, not the weights
    for text in (b"sklearn", type(est).__name__.encode(), b"confidential", b"coef"):
        assert text not in raw, text
    for w in weights(est):
        b = w.tobytes()
        assert len(b) >= 16
        assert b not in raw and b[:16] not in raw
    back = tsk.load(p, key=key)
    same_predictions(est, back, X)
    # the generic entry points dispatch to trove.sklearn with the secret
    same_predictions(est, trove.load(p, key=key), X)


def test_plain_and_encrypted_hold_the_same_model(tmp_path):
    est = estimators()["forest"]
    key = os.urandom(32)
    tsk.dump(est, tmp_path / "plain.trove")
    trove.dump(est, tmp_path / "enc.trove", key=key)  # trove.dump hands estimators over
    with trove.open(tmp_path / "plain.trove") as a, \
            trove.open(tmp_path / "enc.trove", key=key) as b:
        assert set(a.tensors) == set(b.tensors)
        for n in a.tensors:
            assert np.array_equal(a[n], b[n]), n
        ma, mb = a.metadata, b.metadata
        ma.pop("created"), mb.pop("created")
        assert ma == mb


def test_passphrase_roundtrip_and_wrong_secrets(tmp_path):
    est = estimators()["logistic"]
    X, _, _ = data()
    p = tmp_path / "lr.trove"
    tsk.dump(est, p, passphrase="correct horse battery")
    assert p.read_bytes()[:8] == MAGIC
    same_predictions(est, tsk.load(p, passphrase="correct horse battery"), X)
    with pytest.raises(trove.TroveError, match="wrong passphrase") as e:
        tsk.load(p, passphrase="correct horse battery!")
    assert e.value.code == E_KEY
    with pytest.raises(trove.TroveError, match="encrypted with a passphrase") as e:
        tsk.load(p, key=os.urandom(32))
    assert e.value.code == E_KEY


def test_wrong_or_missing_key(tmp_path):
    est = estimators()["ridge"]
    p = tmp_path / "r.trove"
    tsk.dump(est, p, key=b"\x01" * 32)
    with pytest.raises(trove.TroveError, match="wrong key") as e:
        tsk.load(p, key=b"\x02" * 32)
    assert e.value.code == E_KEY
    with pytest.raises(trove.TroveError, match="encrypted"):
        tsk.load(p)  # no secret: refused with a message that says why
    with pytest.raises(trove.TroveError, match="encrypted"):
        trove.load(p)
    with pytest.raises(ValueError):
        tsk.load(p, key=b"\x01" * 32, passphrase="both")
    # a secret for a plain file is refused too (not silently ignored)
    tsk.dump(est, tmp_path / "plain.trove")
    with pytest.raises(trove.TroveError, match="not an encrypted"):
        tsk.load(tmp_path / "plain.trove", key=b"\x01" * 32)


def test_tampered_file_is_refused(tmp_path):
    est = estimators()["logistic"]
    p = tmp_path / "t.trove"
    key = os.urandom(32)
    tsk.dump(est, p, key=key)
    raw = bytearray(p.read_bytes())
    raw[len(raw) // 2] ^= 0x10
    p.write_bytes(bytes(raw))
    with pytest.raises(trove.TroveError, match="failed authentication") as e:
        tsk.load(p, key=key)
    assert e.value.code == E_DECRYPT
    p.write_bytes(bytes(raw[:-20]))
    with pytest.raises(trove.TroveError) as e:
        tsk.load(p, key=key)
    assert e.value.code == E_DECRYPT


def test_key_file_and_cli_predict(tmp_path):
    exe = os.environ.get("TROVE", os.path.join(ROOT, "build", "trove"))
    if not os.path.exists(exe):
        pytest.skip("trove CLI not built")
    subprocess.run([exe, "keygen", "--symmetric", "-o", str(tmp_path / "data")], check=True,
                   stdout=subprocess.DEVNULL)
    kf = tmp_path / "data.key"
    est = estimators()["forest"]
    X, _, _ = data()
    p = tmp_path / "rf.trove"
    tsk.dump(est, p, key=str(kf))  # the path of a key file
    same_predictions(est, tsk.load(p, key=kf), X)
    np.save(tmp_path / "X.npy", X)
    out = tmp_path / "labels.npy"
    subprocess.run([exe, "predict", str(p), str(tmp_path / "X.npy"), "--key", str(kf),
                    "-o", str(out)], check=True, stdout=subprocess.DEVNULL)
    assert np.array_equal(np.load(out).ravel(), est.predict(X).astype(np.float64))
    r = subprocess.run([exe, "predict", str(p), str(tmp_path / "X.npy"), "-o",
                        str(tmp_path / "none.npy")], capture_output=True, text=True)
    assert r.returncode == 6 and "encrypted" in r.stderr
    assert not (tmp_path / "none.npy").exists()


def probe(path):
    """The envelope's public facts, as `trove inspect --json` prints them."""
    trove_exe = os.environ.get("TROVE", os.path.join(ROOT, "build", "trove"))
    out = subprocess.run([trove_exe, "inspect", "--json", str(path)], check=True,
                         capture_output=True, text=True).stdout
    import json
    return json.loads(out)


def test_envelope_options(tmp_path):
    """cipher=, kdf_ops=, kdf_mem= reach the envelope (the KDF cost is stored in the file and
    the model still loads), sync=False is accepted, and bad values are refused before any
    byte is written."""
    est = estimators()["ridge"]
    X, _, _ = data()
    p = tmp_path / "cheap.trove"
    tsk.dump(est, p, passphrase="pw", kdf_ops=1, kdf_mem=8192, sync=False)
    info = probe(p)
    assert info["kdf"] == {"alg": "argon2id13", "ops": 1, "mem": 8192}
    assert info["cipher"] == "xchacha20poly1305"
    np.testing.assert_array_equal(tsk.load(p, passphrase="pw").predict(X), est.predict(X))
    q = tmp_path / "aes.trove"
    trove.dump(est, q, key=b"\x05" * 32, cipher="aes256gcm", sync=False)  # via trove.dump
    assert probe(q)["cipher"] == "aes256gcm"
    np.testing.assert_array_equal(trove.load(q, key=b"\x05" * 32).predict(X), est.predict(X))
    for bad in ({"cipher": "rot13"}, {"kdf_ops": -1}, {"kdf_mem": 1.5}):
        r = tmp_path / "bad.trove"
        with pytest.raises(ValueError):
            tsk.dump(est, r, key=b"\x05" * 32, **bad)
        assert not r.exists()
    with pytest.raises(ValueError, match="need key= or passphrase="):
        trove.dump({"w": np.zeros(3)}, tmp_path / "plain.trove", cipher="aes256gcm")
