"""`trove convert` on Keras HDF5 files through the CLI.

- Files written here, at test time, by keras_fixtures.py (h5py + numpy in the layouts Keras 1, 2
  and 3 write): `trove predict` on the converted file must reproduce the numpy forward pass; the
  hostile ones must be refused (exit 1, the reason in the message, no output file).
- The real-world files of /work/shared/wild (skipped, visibly, when absent): every Keras file
  the README expects to CONVERT+MATCH converts and matches its .npz reference within
  rtol=1e-5, atol=1e-6 (Keras computes in float32); REFUSE files are refused naming the reason;
  CONVERT-OR-REFUSE files either match their reference (when there is one) or are refused."""
import os
import re

import numpy as np
import pytest

import keras_fixtures
from convert_helpers import convert, fixture_case, metadata, predict

WILD = os.environ.get("TROVE_WILD", "/work/shared/wild")


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    out = tmp_path_factory.mktemp("keras")
    keras_fixtures.build(str(out))
    cases = []
    for line in open(os.path.join(str(out), "manifest.txt")):
        parts = line.split(" ", 2)
        if len(parts) == 3:
            cases.append((parts[0], parts[1], parts[2].strip()))
    return str(out), cases


def _ok_cases():
    # the case names are fixed by keras_fixtures.build; listed here for parametrisation
    return ["k2_seq", "k21_list", "k3_seq", "k2_functional", "k3_functional", "k3_nested",
            "k2_nested_frozen", "act_chain", "k1_f16", "k2_batchnorm", "k3_nested_bn",
            "flatten_nd", "k3_activations", "k3_leaky", "k2_leaky_out"]


@pytest.mark.parametrize("case", _ok_cases())
def test_fixture_converts_and_matches(fixtures, tmp_path, case):
    out, cases = fixtures
    X, Y = fixture_case(out, cases, case)
    dst = tmp_path / "m.trove"
    r = convert(os.path.join(out, case + ".h5"), dst)
    assert r.returncode == 0, r.stderr
    got = predict(dst, X, tmp_path)
    assert got.shape == Y.shape
    np.testing.assert_allclose(got, Y, rtol=1e-9, atol=1e-12)
    meta = metadata(dst)
    assert meta["kind"] == "mlp" and meta["estimator"].startswith("keras.")
    assert meta["producer"]["name"] == "keras" and meta["producer"]["version"]
    assert meta["producer"]["backend"] == "tensorflow"
    assert meta["lineage"]["source"]["format"] == "HDF5 (Keras)"
    assert len(meta["lineage"]["source"]["sha256"]) == 64
    assert meta["signature"]["inputs"]["n_features"] == X.shape[1]


def test_fixture_refusals(fixtures, tmp_path):
    out, cases = fixtures
    refused = [c for c in cases if c[0] == "refuse"]
    assert len(refused) >= 30
    for _, case, want in refused:
        dst = tmp_path / (case + ".trove")
        r = convert(os.path.join(out, case + ".h5"), dst)
        assert r.returncode == 1, "%s: exit %d: %s" % (case, r.returncode, r.stderr)
        assert want in r.stderr, "%s: %r lacks %r" % (case, r.stderr, want)
        assert r.stderr.startswith("trove convert: ")
        assert not dst.exists()


def _wild_rows():
    readme = os.path.join(WILD, "README.md")
    if not os.path.exists(readme):
        return []
    rows = []
    for line in open(readme, encoding="utf-8"):
        m = re.match(r"\|\s*`([^`]+)`\s*\|", line)
        if not m:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name, producer, expect = m.group(1), cells[4], cells[9]
        if "keras" in producer.lower() or name.endswith(".h5"):
            rows.append((name, producer, expect))
    return rows


WILD_ROWS = _wild_rows()


@pytest.mark.skipif(not WILD_ROWS, reason="no wild model files at %s (set TROVE_WILD)" % WILD)
@pytest.mark.parametrize("name,producer,expect", WILD_ROWS, ids=[r[0] for r in WILD_ROWS])
def test_wild_keras(tmp_path, name, producer, expect):
    src = os.path.join(WILD, name)
    dst = tmp_path / "m.trove"
    r = convert(src, dst)
    assert r.returncode < 128, "crashed: %s" % r.stderr
    keras = "keras" in producer.lower()
    if expect.startswith("REFUSE"):
        assert r.returncode == 1, "expected a refusal, got %r" % r.stdout
        assert r.stderr.startswith("trove convert: ") and len(r.stderr) > len(src) + 40
        assert not dst.exists()
        return
    refpath = src + ".npz"
    if r.returncode != 0:
        assert not expect.startswith("CONVERT+MATCH") or not keras, r.stderr
        assert r.returncode == 1 and r.stderr.startswith("trove convert: "), r.stderr
        return
    if not keras or not os.path.exists(refpath):
        return  # sklearn files are test_convert_wild.py's; no reference to compare with
    ref = np.load(refpath, allow_pickle=False)
    got = predict(dst, ref["X"].astype(np.float64), tmp_path)
    want = np.asarray(ref["y"], dtype=np.float64).reshape(len(ref["X"]), -1)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert metadata(dst)["producer"]["name"] == "keras"
