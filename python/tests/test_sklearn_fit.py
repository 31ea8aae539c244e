"""`trove fit` (fitting in C) against scikit-learn on bundled data sets; the fitted files then
predict through `trove predict` and load as scikit-learn estimators (docs/MODELS.md 5)."""
import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("TROVE_LIB", os.path.join(ROOT, "build", "libtrove.so"))
TROVE = os.environ.get("TROVE", os.path.join(ROOT, "build", "trove"))

import trove.sklearn as ts  # noqa: E402
from scipy.special import logsumexp  # noqa: E402
from sklearn import datasets, linear_model, preprocessing  # noqa: E402


def _csv(path, X, y, target="target"):
    names = ["f%d" % i for i in range(X.shape[1])]
    # target in the middle: the command must take it out by name
    cols = names[:2] + [target] + names[2:]
    data = np.c_[X[:, :2], y, X[:, 2:]]
    np.savetxt(path, data, delimiter=",", header=",".join(cols), comments="", fmt="%.17g")


def _fit(kind, csv, out, *extra):
    r = subprocess.run([TROVE, "fit", kind, csv, "--target", "target", "-o", out] + list(extra),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return ts._read(out)


def _predict(model, X, tmp, *flags):
    inp, out = os.path.join(tmp, "x.npy"), os.path.join(tmp, "p.npy")
    np.save(inp, X)
    r = subprocess.run([TROVE, "predict", model, inp, "-o", out] + list(flags),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return np.load(out)


@pytest.mark.parametrize("kind,alpha", [("linear", None), ("ridge", 1.0), ("ridge", 0.01)])
def test_least_squares_match_sklearn(kind, alpha, tmp_path):
    X, y = datasets.load_diabetes(return_X_y=True)
    csv, out = str(tmp_path / "d.csv"), str(tmp_path / "m.trove")
    _csv(csv, X, y)
    extra = ["--alpha", str(alpha)] if alpha else []
    meta, t = _fit(kind, csv, out, *extra)
    ref = (linear_model.LinearRegression() if kind == "linear"
           else linear_model.Ridge(alpha=alpha)).fit(X, y)
    # normal equations + Cholesky vs sklearn's lstsq/cholesky: conditioning-limited, 1e-9
    np.testing.assert_allclose(t["coef"][0], ref.coef_, rtol=1e-9, atol=1e-9 * abs(ref.coef_).max())
    assert abs(t["intercept"][0] - ref.intercept_) <= 1e-9 * abs(ref.intercept_)
    assert meta["signature"]["inputs"]["names"] == ["f%d" % i for i in range(10)]
    np.testing.assert_allclose(_predict(out, X, str(tmp_path)), ref.predict(X), rtol=1e-9)
    back = ts.load(out)
    np.testing.assert_allclose(back.predict(X), ref.predict(X), rtol=1e-9)


def _objective(W, b, X, y, C):
    Z = X @ W.T + b
    if W.shape[0] == 1:
        m = np.where(y == 1, Z[:, 0], -Z[:, 0])
        return 0.5 * (W ** 2).sum() + C * np.logaddexp(0, -m).sum()
    return 0.5 * (W ** 2).sum() + C * (logsumexp(Z, axis=1) - Z[np.arange(len(y)), y]).sum()


@pytest.mark.parametrize("data,C", [("iris", 1.0), ("cancer", 1.0), ("wine", 0.5)])
def test_logistic_matches_sklearn(data, C, tmp_path):
    if data == "iris":
        X, y = datasets.load_iris(return_X_y=True)
    elif data == "cancer":
        X, y = datasets.load_breast_cancer(return_X_y=True)
        X = preprocessing.StandardScaler().fit_transform(X)
    else:
        X, y = datasets.load_wine(return_X_y=True)
        X = preprocessing.StandardScaler().fit_transform(X)
    csv, out = str(tmp_path / "d.csv"), str(tmp_path / "m.trove")
    _csv(csv, X, y)
    meta, t = _fit("logistic", csv, out, "--C", str(C))
    ref = linear_model.LogisticRegression(C=C, max_iter=10000).fit(X, y)
    # Newton reaches the optimum; lbfgs stops at its tolerance: trove's objective is never
    # higher, and the coefficients agree to 1e-3 of their scale (docs/MODELS.md 5)
    ours = _objective(t["coef"], t["intercept"], X, y, C)
    theirs = _objective(ref.coef_, ref.intercept_, X, y, C)
    assert ours <= theirs + 1e-9 * abs(theirs)
    scale = abs(ref.coef_).max()
    assert abs(t["coef"] - ref.coef_).max() <= 1e-3 * scale
    assert abs(t["intercept"] - ref.intercept_).max() <= 1e-3 * max(1.0, scale)
    labels = _predict(out, X, str(tmp_path))
    np.testing.assert_array_equal(labels, ref.predict(X))
    proba = _predict(out, X, str(tmp_path), "--proba")
    assert abs(proba - ref.predict_proba(X)).max() < 1e-3
    back = ts.load(out)
    assert isinstance(back, linear_model.LogisticRegression) and back.C == C
    np.testing.assert_array_equal(back.predict(X), labels)


def test_fit_refuses_bad_input(tmp_path):
    csv = str(tmp_path / "d.csv")
    with open(csv, "w") as f:
        f.write("a,b,target\n1,2,3\n1,2,\n")
    r = subprocess.run([TROVE, "fit", "linear", csv, "--target", "target", "-o",
                        str(tmp_path / "m.trove")], capture_output=True, text=True)
    assert r.returncode != 0 and "missing" in r.stderr
    r = subprocess.run([TROVE, "fit", "linear", csv, "--target", "nope", "-o",
                        str(tmp_path / "m.trove")], capture_output=True, text=True)
    assert r.returncode == 2 and "nope" in r.stderr
    with open(csv, "w") as f:  # a constant feature: X^T X singular for OLS
        f.write("a,b,target\n1,2,3\n1,3,4\n1,5,1\n")
    r = subprocess.run([TROVE, "fit", "linear", csv, "--target", "target", "-o",
                        str(tmp_path / "m.trove")], capture_output=True, text=True)
    assert r.returncode != 0 and "singular" in r.stderr
    assert not os.path.exists(str(tmp_path / "m.trove"))


def test_logistic_with_text_labels(tmp_path):
    X, y = datasets.load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    csv, out = str(tmp_path / "iris.csv"), str(tmp_path / "m.trove")
    with open(csv, "w") as f:
        f.write("a,b,species,c,d\n")
        for row, lab in zip(X, names):
            f.write("%r,%r,%s,%r,%r\n" % (row[0], row[1], lab, row[2], row[3]))
    r = subprocess.run([TROVE, "fit", "logistic", csv, "--target", "species", "-o", out],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    meta, t = ts._read(out)
    assert meta["model"]["classes"] == ["setosa", "versicolor", "virginica"]
    ref = linear_model.LogisticRegression(max_iter=10000).fit(X, names)
    # the CSV (label column included) goes straight back in: the text column is not a feature
    r = subprocess.run([TROVE, "predict", out, csv], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[1:-1] == list(ref.predict(X))
    assert list(ts.load(out).predict(X)) == list(ref.predict(X))
    # a text feature is refused, naming the column
    with open(csv, "w") as f:
        f.write("a,b,target\n1,x,0\n2,y,1\n")
    r = subprocess.run([TROVE, "fit", "logistic", csv, "--target", "target", "-o", out],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "'b' holds text" in r.stderr
