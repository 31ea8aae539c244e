"""Every supported scikit-learn estimator, fitted at test time on real data, round-trips through a
trove file: (a) C predictions via `trove predict` ($TROVE) and (b) trove.sklearn.load in Python
must match scikit-learn's own. Tolerances per kind are justified in docs/MODELS.md section 4."""
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
from sklearn import datasets  # noqa: E402
from sklearn import ensemble, linear_model, neural_network, preprocessing, svm, tree  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402

# Tolerance of C outputs, relative to max(1, max |expected|), per kind (docs/MODELS.md 4);
# None = bit-identical. Linear and MLP allow for a BLAS that sums in another order than the
# reference BLAS (with which they are in fact bit-identical here); probabilities allow the few
# ulps by which exp/softmax formulas differ, as does the exp link (numpy's SIMD exp vs libm's).
# Labels are always identical, and estimators rebuilt by trove.sklearn.load are always
# bit-identical (same arrays, same sklearn code).
TOL = {"linear": 1e-12, "scaler": None, "imputer": None, "onehot": None, "trees": None,
       "gb": None, "gb_exp": 1e-15, "mlp": 1e-10}
PROBA_TOL = 1e-15


def _scaled(X):
    return preprocessing.StandardScaler().fit_transform(X)


def _data(name):
    if name == "iris":
        return datasets.load_iris(return_X_y=True)
    if name == "wine":
        X, y = datasets.load_wine(return_X_y=True)
        return _scaled(X), y
    if name == "digits":
        return datasets.load_digits(return_X_y=True)
    if name == "cancer":
        X, y = datasets.load_breast_cancer(return_X_y=True)
        return _scaled(X), y
    if name == "diabetes":
        return datasets.load_diabetes(return_X_y=True)
    if name == "reg3":
        return datasets.make_regression(n_samples=300, n_features=12, n_targets=3, noise=5.0,
                                        random_state=0)
    if name == "cls":
        return datasets.make_classification(n_samples=400, n_features=15, n_informative=6,
                                            n_classes=3, random_state=0)
    if name == "cancer_nan":
        X, y = datasets.load_breast_cancer(return_X_y=True)
        X = X.copy()
        rng = np.random.RandomState(0)
        X[rng.rand(*X.shape) < 0.1] = np.nan
        return X, y
    if name == "diabetes_nan":
        X, y = datasets.load_diabetes(return_X_y=True)
        X = X.copy()
        rng = np.random.RandomState(1)
        X[rng.rand(*X.shape) < 0.15] = np.nan
        return X, y
    if name == "ints":
        rng = np.random.RandomState(0)
        X = rng.randint(0, 5, size=(200, 3)).astype(np.float64) * np.array([1.0, 10.0, -1.0])
        y = (X[:, 0] + X[:, 1] / 10 > 4).astype(int)
        return X, y
    raise KeyError(name)


R = 0  # random_state everywhere
CASES = [
    # (id, tolerance kind, data, estimator)
    ("linreg", "linear", "diabetes", lambda: linear_model.LinearRegression()),
    ("linreg_multi", "linear", "reg3", lambda: linear_model.LinearRegression()),
    ("ridge", "linear", "diabetes", lambda: linear_model.Ridge(alpha=0.5)),
    ("ridge_multi", "linear", "reg3", lambda: linear_model.Ridge()),
    ("lasso", "linear", "diabetes", lambda: linear_model.Lasso(alpha=0.1)),
    ("elasticnet", "linear", "reg3", lambda: linear_model.ElasticNet(alpha=0.1)),
    ("sgdreg", "linear", "diabetes", lambda: make_pipeline(preprocessing.StandardScaler(),
                                                           linear_model.SGDRegressor(
                                                               random_state=R))),
    ("logreg_binary", "linear", "cancer", lambda: linear_model.LogisticRegression(max_iter=5000)),
    ("logreg_multinomial", "linear", "iris",
     lambda: linear_model.LogisticRegression(max_iter=5000)),
    ("logreg_ovr", "linear", "wine",
     lambda: linear_model.LogisticRegression(multi_class="ovr", max_iter=5000)),
    ("logreg_liblinear", "linear", "iris",
     lambda: linear_model.LogisticRegression(solver="liblinear")),
    ("logreg_binary_multinomial", "linear", "cancer",
     lambda: linear_model.LogisticRegression(multi_class="multinomial", max_iter=5000)),
    ("linearsvc", "linear", "wine", lambda: svm.LinearSVC(random_state=R, max_iter=20000)),
    ("linearsvc_binary", "linear", "cancer", lambda: svm.LinearSVC(random_state=R)),
    ("sgdclf_hinge", "linear", "digits", lambda: linear_model.SGDClassifier(random_state=R)),
    ("sgdclf_log", "linear", "cancer",
     lambda: linear_model.SGDClassifier(loss="log_loss", random_state=R)),
    ("sgdclf_log_multi", "linear", "wine",
     lambda: linear_model.SGDClassifier(loss="log_loss", random_state=R)),
    ("ridgecv", "linear", "diabetes", lambda: linear_model.RidgeCV()),
    ("lassocv", "linear", "diabetes", lambda: linear_model.LassoCV(cv=3)),
    ("elasticnetcv", "linear", "diabetes", lambda: linear_model.ElasticNetCV(cv=3)),
    ("lars", "linear", "diabetes", lambda: linear_model.Lars()),
    ("lassolars", "linear", "diabetes", lambda: linear_model.LassoLars(alpha=0.01)),
    ("bayesianridge", "linear", "diabetes", lambda: linear_model.BayesianRidge()),
    ("ard", "linear", "diabetes", lambda: linear_model.ARDRegression()),
    ("huber", "linear", "diabetes", lambda: linear_model.HuberRegressor(max_iter=1000)),
    ("logregcv", "linear", "wine", lambda: linear_model.LogisticRegressionCV(cv=3,
                                                                            max_iter=3000)),
    ("perceptron", "linear", "digits", lambda: linear_model.Perceptron(random_state=R)),
    ("passive_aggressive", "linear", "cancer",
     lambda: linear_model.PassiveAggressiveClassifier(random_state=R)),
    ("tree_clf", "trees", "iris", lambda: tree.DecisionTreeClassifier(random_state=R)),
    ("tree_reg", "trees", "diabetes", lambda: tree.DecisionTreeRegressor(random_state=R)),
    ("tree_reg_multi", "trees", "reg3",
     lambda: tree.DecisionTreeRegressor(max_depth=8, random_state=R)),
    ("rf_clf", "trees", "wine", lambda: ensemble.RandomForestClassifier(n_estimators=30,
                                                                         random_state=R)),
    ("rf_clf_binary", "trees", "cancer", lambda: ensemble.RandomForestClassifier(
        n_estimators=20, random_state=R)),
    ("rf_reg", "trees", "diabetes", lambda: ensemble.RandomForestRegressor(n_estimators=30,
                                                                           random_state=R)),
    ("et_clf", "trees", "digits", lambda: ensemble.ExtraTreesClassifier(n_estimators=20,
                                                                        random_state=R)),
    ("et_reg_multi", "trees", "reg3", lambda: ensemble.ExtraTreesRegressor(n_estimators=20,
                                                                           random_state=R)),
    ("gb_clf_binary", "gb", "cancer", lambda: ensemble.GradientBoostingClassifier(
        n_estimators=50, random_state=R)),
    ("gb_clf_multi", "gb", "iris", lambda: ensemble.GradientBoostingClassifier(
        n_estimators=40, learning_rate=0.2, random_state=R)),
    ("gb_reg", "gb", "diabetes", lambda: ensemble.GradientBoostingRegressor(
        n_estimators=60, random_state=R)),
    ("gb_reg_huber_zero", "gb", "diabetes", lambda: ensemble.GradientBoostingRegressor(
        n_estimators=30, loss="huber", init="zero", random_state=R)),
    ("hgb_clf_binary_nan", "gb", "cancer_nan", lambda: ensemble.HistGradientBoostingClassifier(
        max_iter=50, random_state=R)),
    ("hgb_clf_multi", "gb", "wine", lambda: ensemble.HistGradientBoostingClassifier(
        max_iter=30, random_state=R)),
    ("hgb_reg_nan", "gb", "diabetes_nan", lambda: ensemble.HistGradientBoostingRegressor(
        max_iter=60, random_state=R)),
    ("hgb_reg_poisson", "gb_exp", "diabetes", lambda: ensemble.HistGradientBoostingRegressor(
        loss="poisson", max_iter=40, random_state=R)),
    ("mlp_clf_multi", "mlp", "iris", lambda: neural_network.MLPClassifier(
        hidden_layer_sizes=(16, 8), max_iter=2000, random_state=R)),
    ("mlp_clf_binary_tanh", "mlp", "cancer", lambda: neural_network.MLPClassifier(
        hidden_layer_sizes=(10,), activation="tanh", max_iter=1000, random_state=R)),
    ("mlp_clf_logistic", "mlp", "wine", lambda: neural_network.MLPClassifier(
        hidden_layer_sizes=(12,), activation="logistic", max_iter=2000, random_state=R)),
    ("mlp_reg", "mlp", "reg3", lambda: neural_network.MLPRegressor(
        hidden_layer_sizes=(32, 16), max_iter=500, random_state=R)),
    ("mlp_reg_identity", "mlp", "diabetes", lambda: neural_network.MLPRegressor(
        hidden_layer_sizes=(8,), activation="identity", max_iter=300, random_state=R)),
    ("standard_scaler", "scaler", "wine", lambda: preprocessing.StandardScaler()),
    ("standard_scaler_nomean", "scaler", "diabetes",
     lambda: preprocessing.StandardScaler(with_mean=False)),
    ("minmax_scaler", "scaler", "diabetes", lambda: preprocessing.MinMaxScaler((-1, 2))),
    ("minmax_scaler_clip", "scaler", "digits", lambda: preprocessing.MinMaxScaler(clip=True)),
    ("imputer_mean", "imputer", "diabetes_nan", lambda: SimpleImputer()),
    ("imputer_median", "imputer", "cancer_nan", lambda: SimpleImputer(strategy="median")),
    ("onehot", "onehot", "ints", lambda: preprocessing.OneHotEncoder(sparse_output=False)),
    ("pipe_scale_logreg", "linear", "digits", lambda: make_pipeline(
        preprocessing.StandardScaler(), linear_model.LogisticRegression(max_iter=3000))),
    ("pipe_impute_scale_mlp", "mlp", "diabetes_nan", lambda: make_pipeline(
        SimpleImputer(), preprocessing.StandardScaler(), neural_network.MLPRegressor(
            hidden_layer_sizes=(20,), max_iter=300, random_state=R))),
    ("pipe_nested_rf", "trees", "cancer_nan", lambda: Pipeline([
        ("prep", make_pipeline(SimpleImputer(strategy="median"), preprocessing.MinMaxScaler())),
        ("rf", ensemble.RandomForestClassifier(n_estimators=15, random_state=R))])),
    ("pipe_onehot_logreg", "linear", "ints", lambda: make_pipeline(
        preprocessing.OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        linear_model.LogisticRegression())),
]

METHODS = [("predict", []), ("predict_proba", ["--proba"]),
           ("decision_function", ["--decision"]), ("transform", ["--transform"])]


def _methods(est):
    out = []
    for name, flag in METHODS:
        if not hasattr(est, name):
            continue
        if name == "predict_proba" and isinstance(est, (linear_model.SGDClassifier,)) and \
                est.loss != "log_loss":
            continue
        if name == "predict_proba" and isinstance(est, (linear_model.Perceptron,
                                                        linear_model.PassiveAggressiveClassifier)):
            continue
        out.append((name, flag))
    return out


def _close(got, want, tol, what):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, "%s: shape %s != %s" % (what, got.shape, want.shape)
    if tol is None:
        np.testing.assert_array_equal(got, want, err_msg=what)
    else:
        scale = max(1.0, float(np.nanmax(np.abs(want))) if want.size else 1.0)
        err = float(np.nanmax(np.abs(got - want))) if want.size else 0.0
        assert err <= tol * scale, "%s: max error %g > %g" % (what, err, tol * scale)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=what)


def _c_predict(model, X, flag, tmp):
    inp = os.path.join(tmp, "X.npy")
    out = os.path.join(tmp, "out.npy")
    np.save(inp, np.ascontiguousarray(X, dtype=np.float64))
    r = subprocess.run([TROVE, "predict", model, inp, "-o", out] + flag, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    return np.load(out)


def _is_label(est, method):
    return method == "predict" and hasattr(est, "classes_")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_roundtrip(case, tmp_path):
    cid, kind, data, make = case
    X, y = _data(data)
    est = make()
    if kind in ("scaler", "imputer", "onehot"):
        est.fit(X)
    else:
        est.fit(X, y)
    path = str(tmp_path / (cid + ".trove"))
    ts.dump(est, path, description="test " + cid)
    back = ts.load(path)
    assert type(back) is type(est)
    methods = _methods(est)
    assert methods
    for method, flag in methods:
        want = getattr(est, method)(X)
        if hasattr(want, "toarray"):
            want = want.toarray()
        label = _is_label(est, method)
        tol = None if label else TOL[kind]
        if method == "predict_proba" and kind in ("trees", "gb"):
            tol = PROBA_TOL  # exact for forests; softmax/expit formulas differ by ulps
        # (a) C, through the CLI
        got_c = _c_predict(path, X, flag, str(tmp_path))
        _close(got_c, want, tol, "%s C %s" % (cid, method))
        # (b) Python, rebuilt estimator
        got_py = getattr(back, method)(X)
        if hasattr(got_py, "toarray"):
            got_py = got_py.toarray()
        np.testing.assert_array_equal(got_py, want, err_msg="%s python %s" % (cid, method))
        assert got_py.dtype == want.dtype


def test_float32_input_matches(tmp_path):
    X, y = _data("cancer")
    est = ensemble.RandomForestClassifier(n_estimators=10, random_state=R).fit(X, y)
    path = str(tmp_path / "rf.trove")
    ts.dump(est, path)
    X32 = X.astype(np.float32)
    inp = str(tmp_path / "x32.npy")
    np.save(inp, X32)
    out = str(tmp_path / "o.npy")
    r = subprocess.run([TROVE, "predict", path, inp, "-o", out, "--proba"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(out), est.predict_proba(X32))


def test_csv_header_matched_by_name(tmp_path):
    X, y = _data("diabetes")
    cols = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    est = linear_model.Ridge().fit(X, y)
    est.feature_names_in_ = np.asarray(cols, dtype=object)  # as if fitted on a DataFrame
    path = str(tmp_path / "ridge.trove")
    ts.dump(est, path)
    del est.feature_names_in_
    want = est.predict(X)
    # columns in another order plus an extra one: matched by the names in the signature
    order = list(range(10))[::-1]
    csv = str(tmp_path / "in.csv")
    with open(csv, "w") as f:
        f.write(",".join([cols[j] for j in order] + ["extra"]) + "\n")
        for row in X:
            f.write(",".join(repr(float(row[j])) for j in order) + ",1.0\n")
    out = str(tmp_path / "o.npy")
    r = subprocess.run([TROVE, "predict", path, csv, "-o", out], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    _close(np.load(out), want, TOL["linear"], "csv by name")
    back = ts.load(path)
    assert list(back.feature_names_in_) == cols
    # a missing column is refused, naming it
    with open(csv, "w") as f:
        f.write(",".join(c for c in cols if c != "bmi") + "\n")
        for row in X:
            f.write(",".join(repr(float(v)) for v in np.delete(row, 2)) + "\n")
    r = subprocess.run([TROVE, "predict", path, csv], capture_output=True, text=True)
    assert r.returncode != 0 and "bmi" in r.stderr
    # CSV without a header: positional, and CSV output parses back to the same numbers
    np.savetxt(csv, X, delimiter=",", fmt="%.17g")
    r = subprocess.run([TROVE, "predict", path, csv], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().split("\n")
    assert lines[0] == "prediction"
    _close(np.array([float(v) for v in lines[1:]]), want, TOL["linear"], "csv out")


def test_string_classes_csv(tmp_path):
    X, y = _data("iris")
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    est = tree.DecisionTreeClassifier(random_state=R).fit(X, names)
    path = str(tmp_path / "t.trove")
    ts.dump(est, path)
    np.savetxt(str(tmp_path / "x.csv"), X, delimiter=",")
    r = subprocess.run([TROVE, "predict", path, str(tmp_path / "x.csv")], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().split("\n")
    assert lines[0] == "prediction"
    assert lines[1:] == list(est.predict(X))
    assert list(ts.load(path).predict(X)) == list(est.predict(X))


def test_unsupported_estimator_is_named(tmp_path):
    X, y = _data("iris")
    with pytest.raises(TypeError, match="OneClassSVM"):
        ts.dump(svm.OneClassSVM().fit(X), str(tmp_path / "x.trove"))
    with pytest.raises(TypeError, match="KNeighborsClassifier"):
        from sklearn.neighbors import KNeighborsClassifier
        ts.dump(make_pipeline(preprocessing.StandardScaler(),
                              KNeighborsClassifier(metric="cosine")).fit(X, y),
                str(tmp_path / "y.trove"))
    assert not os.path.exists(str(tmp_path / "x.trove"))
    with pytest.raises(TypeError, match="infrequent"):
        ts.dump(preprocessing.OneHotEncoder(max_categories=2).fit(X[:, :1].round()),
                str(tmp_path / "z.trove"))


def test_metadata_recorded(tmp_path):
    import json
    import sklearn
    X, y = _data("iris")
    est = linear_model.LogisticRegression(C=0.5, max_iter=1000).fit(X, y)
    path = str(tmp_path / "m.trove")
    ts.dump(est, path, description="iris model", license="MIT", team="ml")
    meta, tensors = ts._read(path)
    assert meta["kind"] == "linear" and meta["kind_version"] == 1
    assert meta["producer"] == {"name": "scikit-learn", "version": sklearn.__version__}
    assert meta["estimator"] == "sklearn.linear_model.LogisticRegression"
    assert meta["params"]["C"] == 0.5
    assert meta["signature"]["inputs"]["n_features"] == 4
    assert meta["signature"]["classes"] == [0, 1, 2]
    assert meta["description"] == "iris model" and meta["license"] == "MIT"
    assert meta["user"] == {"team": "ml"}  # not a reserved key: under "user"
    assert meta["created"].endswith("Z")
    np.testing.assert_array_equal(tensors["coef"], est.coef_)
    json.dumps(meta)


def test_load_refuses_unknown_estimator_name(tmp_path):
    X, y = _data("diabetes")
    path = str(tmp_path / "r.trove")
    ts.dump(linear_model.Ridge().fit(X, y), path)
    meta, tensors = ts._read(path)
    meta["estimator"] = "os.system"
    ts._write(path, meta, tensors)
    with pytest.raises(TypeError, match="os.system"):
        ts.load(path)


def test_predict_refuses_hostile_npy(tmp_path):
    X, y = _data("iris")
    path = str(tmp_path / "m.trove")
    ts.dump(linear_model.LogisticRegression(max_iter=1000).fit(X, y), path)
    good = str(tmp_path / "good.npy")
    np.save(good, X)
    raw = open(good, "rb").read()
    hlen = raw[8] | raw[9] << 8
    header = raw[10:10 + hlen]
    body = raw[10 + hlen:]

    def npy(hdr, data, major=1):
        hdr = hdr + b" " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + b"\n"
        return b"\x93NUMPY" + bytes([major, 0, len(hdr) & 255, len(hdr) >> 8]) + hdr + data

    cases = {
        "truncated data": raw[:-8],
        "truncated header": raw[:20],
        "header past end": raw[:8] + b"\xff\xff" + raw[10:40],
        "huge shape": npy(b"{'descr': '<f8', 'fortran_order': False, 'shape': "
                          b"(99999999999999999999, 4), }", body),
        "overflowing shape": npy(b"{'descr': '<f8', 'fortran_order': False, 'shape': "
                                 b"(4611686018427387904, 4), }", body),
        "3-d": npy(b"{'descr': '<f8', 'fortran_order': False, 'shape': (10, 15, 4), }", body),
        "big-endian": npy(header.replace(b"<f8", b">f8").rstrip(), body),
        "object dtype": npy(header.replace(b"'<f8'", b"'|O'").rstrip(), body),
        "no shape": npy(b"{'descr': '<f8', 'fortran_order': False}", body),
        "bad version": raw[:6] + b"\x09" + raw[7:],
        "wrong columns": npy(b"{'descr': '<f8', 'fortran_order': False, 'shape': (100, 6), }",
                             body),
        "nul in header": npy(header.replace(b"'descr'", b"'de\x00cr'").rstrip(), body),
    }
    for what, blob in cases.items():
        p = str(tmp_path / "bad.npy")
        with open(p, "wb") as f:
            f.write(blob)
        r = subprocess.run([TROVE, "predict", path, p], capture_output=True, text=True)
        assert r.returncode not in (0,) and r.returncode < 128, (what, r.returncode, r.stderr)
        assert r.stderr.strip(), what
    # Fortran order and float32/int inputs are read correctly
    for arr in (np.asfortranarray(X), X.astype(np.float32), (X * 10).astype(np.int64)):
        p = str(tmp_path / "ok.npy")
        np.save(p, arr)
        out = str(tmp_path / "o.npy")
        r = subprocess.run([TROVE, "predict", path, p, "-o", out, "--decision"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        est = ts.load(path)
        _close(np.load(out), est.decision_function(np.asarray(arr, dtype=np.float64)),
               TOL["linear"], "npy variant %s" % arr.dtype)


def _capi():
    """trove_model_* through ctypes: the C API itself, on models that sklearn produced."""
    import ctypes
    from trove._lib import Error, lib
    P = ctypes.c_void_p
    lib.trove_model_open.argtypes = [ctypes.POINTER(P), P, P, ctypes.POINTER(Error)]
    lib.trove_model_free.argtypes = [P]
    lib.trove_model_run.argtypes = [P, ctypes.c_int, ctypes.c_int, P, ctypes.c_size_t,
                                    ctypes.c_size_t, P, ctypes.c_size_t,
                                    ctypes.POINTER(Error)]
    lib.trove_model_n_outputs.argtypes = [P, ctypes.c_int]
    lib.trove_model_n_outputs.restype = ctypes.c_size_t
    return lib


def test_c_api_concurrent_and_float32(tmp_path):
    import ctypes
    import threading
    from trove._lib import Error
    lib = _capi()
    X, y = _data("digits")
    est = ensemble.HistGradientBoostingClassifier(max_iter=20, random_state=R).fit(X, y)
    path = str(tmp_path / "h.trove")
    ts.dump(est, path)
    err = Error()
    f, m = ctypes.c_void_p(), ctypes.c_void_p()
    assert lib.trove_open(ctypes.byref(f), path.encode(), None, ctypes.byref(err)) == 0
    assert lib.trove_model_open(ctypes.byref(m), f, None, ctypes.byref(err)) == 0, err.message
    lib.trove_close(f)  # the model owns what it needs
    try:
        k = lib.trove_model_n_outputs(m, 1)
        assert k == 10
        want = est.predict_proba(X)
        results = {}

        def run(i, dtype, code):
            Xi = np.ascontiguousarray(X, dtype=dtype)
            out = np.empty((len(X), k))
            e = Error()
            for _ in range(3):
                rc = lib.trove_model_run(m, 1, code, Xi.ctypes.data, len(X), X.shape[1],
                                         out.ctypes.data, out.size, ctypes.byref(e))
                assert rc == 0, e.message
            results[i] = out
        threads = [threading.Thread(target=run, args=(i, np.float64, 13)) for i in range(4)]
        threads.append(threading.Thread(target=run, args=(4, np.float32, 12)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i in range(4):
            _close(results[i], want, PROBA_TOL, "C API thread %d" % i)
        # digits are small integers: exact in float32 too
        _close(results[4], want, PROBA_TOL, "C API float32")
        # wrong width: TROVE_E_SHAPE (-14) with a message naming the count
        out = np.empty((1, k))
        rc = lib.trove_model_run(m, 1, 13, X.ctypes.data, 1, 7, out.ctypes.data, out.size,
                                 ctypes.byref(err))
        assert rc == -14 and b"7 columns" in err.message
    finally:
        lib.trove_model_free(m)


def test_onehot_unknown_categories(tmp_path):
    X, y = _data("ints")
    Xu = X.copy()
    Xu[3, 1] = 77.0  # a category never seen in fit
    for hu in ("ignore", "error"):
        est = preprocessing.OneHotEncoder(handle_unknown=hu, sparse_output=False).fit(X)
        path = str(tmp_path / ("oh_%s.trove" % hu))
        ts.dump(est, path)
        inp, out = str(tmp_path / "x.npy"), str(tmp_path / "o.npy")
        np.save(inp, Xu)
        r = subprocess.run([TROVE, "predict", path, inp, "-o", out], capture_output=True,
                           text=True)
        if hu == "ignore":
            assert r.returncode == 0, r.stderr
            np.testing.assert_array_equal(np.load(out), est.transform(Xu))
            np.testing.assert_array_equal(ts.load(path).transform(Xu), est.transform(Xu))
        else:
            assert r.returncode != 0 and "row 3, column 1" in r.stderr and "77" in r.stderr
            with pytest.raises(ValueError):
                ts.load(path).transform(Xu)


def test_predict_cli_stdin_and_usage(tmp_path):
    X, y = _data("diabetes")
    est = linear_model.Lasso(alpha=0.1).fit(X, y)
    path = str(tmp_path / "l.trove")
    ts.dump(est, path)
    csv = "\n".join(",".join(repr(float(v)) for v in row) for row in X[:5]) + "\n"
    r = subprocess.run([TROVE, "predict", path, "-"], input=csv, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    _close(np.array([float(v) for v in r.stdout.split()[1:]]), est.predict(X[:5]),
           TOL["linear"], "stdin")
    for args, code in ((["predict", path], 2), (["predict", path, "-", "--proba"], 2),
                       (["predict", path, "-", "--bogus"], 2),
                       (["predict", str(tmp_path / "missing.trove"), "-"], 3)):
        r = subprocess.run([TROVE] + args, input=csv, capture_output=True, text=True)
        assert r.returncode == code, (args, r.returncode, r.stderr)
        assert r.stderr.strip()
    r = subprocess.run([TROVE, "predict", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "usage: trove predict" in r.stdout


def test_top_level_trove_dump_load(tmp_path):
    """trove.dump / trove.load (the generic binding) hand estimators to trove.sklearn."""
    import trove
    if not hasattr(trove, "dump"):
        pytest.skip("the generic trove package is not in this tree yet")
    X, y = _data("wine")
    est = make_pipeline(preprocessing.StandardScaler(),
                        ensemble.GradientBoostingClassifier(n_estimators=10, random_state=R))
    est.fit(X, y)
    path = str(tmp_path / "p.trove")
    trove.dump(est, path, description="wine")
    back = trove.load(path)
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    with trove.open(path) as f:
        assert f.metadata["kind"] == "pipeline" and f.metadata["description"] == "wine"
