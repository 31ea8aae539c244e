"""Helpers for the `trove convert` tests: run the CLI, read outputs, compare with references."""
import json
import os
import subprocess

import numpy as np

TROVE = os.environ.get("TROVE", os.path.join(os.path.dirname(__file__), "..", "..", "build",
                                             "trove"))


def run(*args, timeout=120):
    return subprocess.run([TROVE] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout)


def convert(src, dst, *extra):
    return run("convert", src, "-o", dst, *extra)


def metadata(path):
    """The metadata of a trove file, read through the Python binding (no pickle)."""
    from trove import sklearn as tsk
    meta, _ = tsk._read(str(path))
    return meta


def write_input(X, tmp, model=None):
    """X as `trove predict` input: .npy for numbers; CSV with a header row for text (text
    columns become vocabulary codes in trove predict, docs/MODELS.md "text inputs")."""
    X = np.asarray(X)
    if X.dtype.kind in "USO":
        X = X.reshape(len(X), -1)
        xin = os.path.join(str(tmp), "X.csv")
        with open(xin, "w", encoding="utf-8") as f:
            names = None
            if model is not None:
                names = metadata(model).get("signature", {}).get("inputs", {}).get("names")
            if not names or len(names) != X.shape[1]:
                names = ["x%d" % j for j in range(X.shape[1])]
            f.write(",".join(names) + "\n")
            for row in X:
                f.write(",".join(str(v) for v in row) + "\n")
        return xin
    xin = os.path.join(str(tmp), "X.npy")
    np.save(xin, np.ascontiguousarray(X, dtype=np.float64).reshape(len(X), -1))
    return xin


def predict(model, X, tmp, op=None):
    """Run `trove predict` on X (float64, or text) and return a 2-D float64 array."""
    xin = write_input(X, tmp, model)
    out = os.path.join(str(tmp), "out.npy")
    args = ["predict", model, xin, "-o", out]
    if op:
        args.append("--" + op)
    r = run(*args)
    assert r.returncode == 0, "trove predict %s failed: %s" % (op or "", r.stderr)
    y = np.load(out, allow_pickle=False)
    return y.reshape(len(X), -1)


def labels(model, X, tmp):
    """Predicted labels, mapped through the class list when classes are not numbers."""
    classes = metadata(model).get("signature", {}).get("classes")
    if classes and any(isinstance(c, str) for c in classes):
        # text labels: .npy output cannot hold them; the CSV output names the classes
        xin = write_input(X, tmp, model)
        out = os.path.join(str(tmp), "out.csv")
        r = run("predict", model, xin, "-o", out)
        assert r.returncode == 0, r.stderr
        lines = open(out, encoding="utf-8").read().splitlines()
        assert lines[0] == "prediction" and len(lines) == len(X) + 1, lines[:3]
        got = np.asarray(lines[1:], dtype=object)
        assert set(got) <= set(classes)
        return got
    return predict(model, X, tmp)[:, 0]


def close(got, ref, rtol):
    got = np.asarray(got, dtype=np.float64).reshape(len(ref), -1)
    ref = np.asarray(ref, dtype=np.float64).reshape(len(ref), -1)
    if got.shape != ref.shape:
        return False, "shape %s vs reference %s" % (got.shape, ref.shape)
    scale = max(1.0, float(np.max(np.abs(ref)))) if ref.size else 1.0
    err = float(np.max(np.abs(got - ref))) if ref.size else 0.0
    return err <= rtol * scale, "max abs error %.3g (scale %.3g, rtol %g)" % (err, scale, rtol)


def assert_close(got, want, tol):
    """Assert max |got - want| <= tol * max(1, max |want|) (same shape); returns the error."""
    got = np.asarray(got, dtype=np.float64).reshape(len(want), -1)
    want = np.asarray(want, dtype=np.float64).reshape(len(want), -1)
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = max(1.0, float(np.max(np.abs(want))))
    err = float(np.max(np.abs(got - want)))
    assert err <= tol * scale, "max abs error %.3g > %.3g" % (err, tol * scale)
    return err


def same_labels(got, ref):
    ref = np.asarray(ref)
    if ref.dtype.kind in "US" or ref.dtype == object:
        return [str(x) for x in got] == [str(x) for x in ref]
    return np.array_equal(np.asarray(got, dtype=np.float64), ref.astype(np.float64))


def compare_all(model, ref, prefix, tmp, rtol, is_classifier, proba_rule=None):
    """Compare every output present in the npz-like dict ref (keys prefix+name)."""
    X = ref[prefix + "X"]
    notes = []
    for key in ("predict", "predict_proba", "decision_function", "transform"):
        if prefix + key not in ref:
            continue
        want = ref[prefix + key]
        if key == "predict" and is_classifier:
            got = labels(model, X, tmp)
            assert same_labels(got, want), "labels differ from the reference"
            notes.append("predict: identical labels")
            continue
        op = {"predict": None, "predict_proba": "proba", "decision_function": "decision",
              "transform": "transform"}[key]
        got = predict(model, X, tmp, op)
        if key == "predict_proba" and proba_rule == "logistic":
            d = np.asarray(ref[prefix + "decision_function"], dtype=np.float64).reshape(-1)
            s = 1.0 / (1.0 + np.exp(-d))
            want = np.c_[1 - s, s]
            key = "predict_proba (producer's logistic rule on the reference decision)"
        ok, how = close(got, want, rtol)
        assert ok, "%s: %s" % (key, how)
        notes.append("%s: %s" % (key, how))
    return notes


def fixture_case(out, cases, case):
    """The inputs and expected outputs of an "ok NAME ROWS NF NOUT" line of a fixture manifest
    (cases: its parsed lines), read from NAME.x and NAME.y in out."""
    import os
    line = [c for c in cases if c[1] == case]
    assert line and line[0][0] == "ok"
    rows, nf, nout = (int(v) for v in line[0][2].split())
    X = np.fromfile(os.path.join(out, case + ".x"), dtype=np.float64).reshape(rows, nf)
    Y = np.fromfile(os.path.join(out, case + ".y"), dtype=np.float64).reshape(rows, nout)
    return X, Y
