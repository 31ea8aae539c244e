"""`trove convert` on Keras 3 .keras archives through the CLI.

- Archives written here, at test time, by keras3_fixtures.py (h5py + zipfile + numpy in the
  layout keras/src/saving/saving_lib.py writes): `trove predict` on the converted file must
  reproduce the numpy forward pass, the metadata must name the archive format and the Keras
  version of metadata.json; the hostile ones must be refused (exit 1, the reason in the message,
  no output file).
- The same model as a .keras archive and as a Keras 3 legacy .h5 (keras_fixtures.write_model)
  converts to the same predictions, bit for bit, and the same layer parameters."""
import json
import os
import zipfile

import numpy as np
import pytest

import keras3_fixtures
import keras_fixtures
from convert_helpers import convert, fixture_case, metadata, predict


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    out = tmp_path_factory.mktemp("keras3")
    keras3_fixtures.build(str(out))
    cases = []
    for line in open(os.path.join(str(out), "manifest.txt")):
        parts = line.split(" ", 2)
        if len(parts) == 3:
            cases.append((parts[0], parts[1], parts[2].strip()))
    return str(out), cases


OK = ["k3_seq", "k3_seq_deflate", "k3_seq_lazy", "k3_seq_streamed", "k3_seq_seedgen", "k3_seq_tf213", "k3_seq_nometa",
      "k3_functional", "k3_nested", "k3_two_nested"]


@pytest.mark.parametrize("case", OK)
def test_archive_converts_and_matches(fixtures, tmp_path, case):
    out, cases = fixtures
    X, Y = fixture_case(out, cases, case)
    dst = tmp_path / "m.trove"
    r = convert(os.path.join(out, case + ".keras"), dst)
    assert r.returncode == 0, r.stderr
    got = predict(dst, X, tmp_path)
    np.testing.assert_allclose(got, Y, rtol=1e-9, atol=1e-12)
    meta = metadata(dst)
    assert meta["kind"] == "mlp" and meta["estimator"].startswith("keras.")
    assert meta["lineage"]["source"]["format"] == "Keras archive (.keras)"
    assert meta["lineage"]["converter"] == "trove convert (Keras archive importer)"
    src = zipfile.ZipFile(os.path.join(out, case + ".keras"))
    if "metadata.json" in src.namelist():
        want = json.loads(src.read("metadata.json"))["keras_version"]
        assert meta["producer"]["version"] == want
    else:
        assert "version" not in meta["producer"]


def test_archive_refusals(fixtures, tmp_path):
    out, cases = fixtures
    refused = [c for c in cases if c[0] == "refuse"]
    assert len(refused) >= 28
    for _, case, want in refused:
        dst = tmp_path / (case + ".trove")
        r = convert(os.path.join(out, case + ".keras"), dst)
        assert r.returncode == 1, "%s: exit %d: %s" % (case, r.returncode, r.stderr)
        assert want in r.stderr, "%s: %r lacks %r" % (case, r.stderr, want)
        assert "Keras archive (.keras)" in r.stderr
        assert not dst.exists()


def test_same_model_as_keras_and_h5(tmp_path):
    W1, b1 = keras_fixtures.dense_weights(7, 5)
    g, be, mu = (keras_fixtures.rand(5) for _ in range(3))
    var = np.abs(keras_fixtures.rand(5)) + 0.5
    W2, b2 = keras_fixtures.dense_weights(5, 2)
    seq = keras3_fixtures.k3_seq("sequential", [
        keras_fixtures.input_cfg("input_layer", 7, k3=True),
        keras_fixtures.dense_cfg("dense", 5, "relu", k3=True),
        keras3_fixtures.bn_cfg("batch_normalization"),
        keras_fixtures.dense_cfg("dense_1", 2, "sigmoid", k3=True)])
    ka = tmp_path / "m.keras"
    ka.write_bytes(keras3_fixtures.archive(seq, {"dense": [W1, b1],
                                                 "batch_normalization": [g, be, mu, var],
                                                 "dense_1": [W2, b2]}))
    h5 = tmp_path / "m.h5"
    keras_fixtures.write_model(
        str(h5), config=seq, version="3.3.3", k3=True,
        groups=[("dense", keras_fixtures.k3_names("sequential", "dense", W1, b1)),
                ("batch_normalization",
                 [("sequential/batch_normalization/" + n, a) for n, a in
                  (("gamma", g), ("beta", be), ("moving_mean", mu), ("moving_variance", var))]),
                ("dense_1", keras_fixtures.k3_names("sequential", "dense_1", W2, b2))])
    X = np.random.RandomState(3).normal(size=(40, 7))
    outs, metas = [], []
    for src in (ka, h5):
        dst = tmp_path / (src.name + ".trove")
        r = convert(str(src), dst)
        assert r.returncode == 0, r.stderr
        outs.append(predict(dst, X, tmp_path))
        metas.append(metadata(dst))
    assert np.array_equal(outs[0], outs[1])
    assert metas[0]["params"] == metas[1]["params"]
    assert metas[0]["model"] == metas[1]["model"]
