"""The svm, naive_bayes, knn and label_encoder kinds and text inputs (docs/MODELS.md 2), against
scikit-learn itself: every estimator is fitted here, at test time, by Debian's scikit-learn, then
  (a) pickled with joblib and converted by `trove convert` (the inert pickle importer),
  (b) written by trove.sklearn.dump,
and `trove predict` (the C runtime) must reproduce sklearn's predict / predict_proba /
decision_function / transform within the bounds of docs/MODELS.md section 4; trove.sklearn.load
must rebuild an estimator that predicts exactly like the original. Hostile files are refused."""
import json
import os
import subprocess

import numpy as np
import pytest

from convert_helpers import assert_close, convert, labels, metadata, predict, run, same_labels

sklearn = pytest.importorskip("sklearn")
joblib = pytest.importorskip("joblib")

from sklearn import datasets  # noqa: E402
from sklearn.naive_bayes import GaussianNB  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import LabelEncoder, OneHotEncoder, StandardScaler  # noqa: E402
from sklearn.svm import SVC, SVR, NuSVC, NuSVR  # noqa: E402

import trove.sklearn as tsk  # noqa: E402

# Bounds (docs/MODELS.md 4), relative to max(1, max |expected|): trove repeats libsvm's and
# numpy's operations in their order, so the results are expected bit-identical with Debian's
# reference BLAS; the bounds leave room for a BLAS that sums kernel dot products in blocks.
TOL = {"svm": 1e-12, "naive_bayes": 1e-12, "knn": 1e-12, "svm_proba": 1e-9}


def _data(kind, n_classes=3, seed=0):
    rng = np.random.RandomState(seed)
    if kind == "iris":
        X, y = datasets.load_iris(return_X_y=True)
        return X, y
    if kind == "wine":
        X, y = datasets.load_wine(return_X_y=True)
        return StandardScaler().fit_transform(X), y
    if kind == "reg":
        X, y = datasets.load_diabetes(return_X_y=True)
        return X, y
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) if n_classes == 2 else \
        np.digitize(X[:, 0] + 0.3 * X[:, 2], [-0.5, 0.5])
    return X, y


def _check(est, X, tmp_path, tol, ops=("predict", "predict_proba", "decision_function")):
    """Both ways into a trove file, then every available op against sklearn's own."""
    pkl = tmp_path / "m.joblib"
    joblib.dump(est, pkl)
    conv = tmp_path / "conv.trove"
    r = convert(pkl, conv)
    assert r.returncode == 0, r.stderr
    dumped = tmp_path / "dump.trove"
    tsk.dump(est, dumped)
    errs = {}
    for model in (conv, dumped):
        meta = metadata(model)
        last = meta
        while last["kind"] == "pipeline":
            last = last["model"]["steps"][-1]
        for op in ops:
            if not hasattr(est, op):
                continue
            try:
                want = getattr(est, op)(X)
            except AttributeError:  # e.g. predict_proba of SVC(probability=False)
                continue
            if op == "predict" and last["model"].get("task") == "classification":
                got = labels(model, X, tmp_path)
                assert same_labels(got, np.asarray(want)), "labels differ"
                continue
            flag = {"predict": None, "predict_proba": "proba", "decision_function": "decision",
                    "transform": "transform"}[op]
            t = tol * (1000 if op == "predict_proba" and last["kind"] == "svm" else 1)
            errs[op] = assert_close(predict(model, X, tmp_path, flag), want, t)
    # trove.sklearn.load: the same arrays back into sklearn's own code
    back = tsk.load(dumped)
    for op in ops:
        if hasattr(est, op):
            try:
                want = getattr(est, op)(X)
            except AttributeError:
                continue
            got = getattr(back, op)(X)
            assert np.array_equal(np.asarray(got), np.asarray(want)), op
    print("max errors", type(est).__name__, errs)
    return errs


SVM_CASES = [
    ("svc-rbf-binary", lambda: SVC(), "bin2"),
    ("svc-rbf-iris-ovr", lambda: SVC(), "iris"),
    ("svc-linear-iris-ovo", lambda: SVC(kernel="linear", decision_function_shape="ovo"), "iris"),
    ("svc-poly-wine", lambda: SVC(kernel="poly", degree=3, coef0=1.0, gamma=0.1), "wine"),
    ("svc-sigmoid-wine", lambda: SVC(kernel="sigmoid", gamma=0.01, coef0=0.5), "wine"),
    ("svc-break-ties", lambda: SVC(break_ties=True, C=0.5), "wine"),
    ("svc-proba-iris", lambda: SVC(probability=True, random_state=0), "iris"),
    ("svc-proba-binary", lambda: SVC(probability=True, random_state=0, kernel="linear"), "bin2"),
    ("nusvc-wine", lambda: NuSVC(nu=0.3), "wine"),
    ("svc-gamma-auto-classweight", lambda: SVC(gamma="auto", class_weight="balanced"), "bin3"),
]


@pytest.mark.parametrize("name,make,data", SVM_CASES, ids=[c[0] for c in SVM_CASES])
def test_svc_matches_sklearn(tmp_path, name, make, data):
    X, y = _data("bin" if data.startswith("bin") else data,
                 n_classes=2 if data == "bin2" else 3)
    est = make().fit(X, y)
    _check(est, X, tmp_path, TOL["svm"])


def test_svc_text_labels_and_pipeline(tmp_path):
    X, y = _data("iris")
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    est = make_pipeline(StandardScaler(), SVC(C=3.0)).fit(X, names)
    _check(est, X, tmp_path, TOL["svm"])


@pytest.mark.parametrize("make", [lambda: SVR(), lambda: SVR(kernel="linear", C=10.0),
                                  lambda: SVR(kernel="poly", degree=2, gamma=1.0, coef0=1.0),
                                  lambda: NuSVR(nu=0.4, kernel="sigmoid", gamma=0.05)],
                         ids=["rbf", "linear", "poly", "nusvr-sigmoid"])
def test_svr_matches_sklearn(tmp_path, make):
    X, y = _data("reg")
    est = make().fit(X, y)
    _check(est, X, tmp_path, TOL["svm"], ops=("predict",))


@pytest.mark.parametrize("data,kw", [("iris", {}), ("bin2", {}), ("wine", {"var_smoothing": 1e-3}),
                                     ("iris", {"priors": [0.2, 0.3, 0.5]})],
                         ids=["iris", "binary", "wine-smoothing", "priors"])
def test_gaussian_nb_matches_sklearn(tmp_path, data, kw):
    X, y = _data("bin" if data == "bin2" else data, n_classes=2)
    est = GaussianNB(**kw).fit(X, y)
    Xt = np.r_[X, X[:5] * 3.0]  # far points: probabilities saturate, log-sum-exp matters
    _check(est, Xt, tmp_path, TOL["naive_bayes"])


KNN_CASES = [
    ({"n_neighbors": 5}, "iris"), ({"n_neighbors": 7, "weights": "distance"}, "wine"),
    ({"n_neighbors": 3, "p": 1}, "wine"), ({"n_neighbors": 4, "metric": "manhattan",
                                            "weights": "distance"}, "bin3"),
    ({"n_neighbors": 9, "algorithm": "brute"}, "wine"),
    ({"n_neighbors": 6, "algorithm": "kd_tree", "weights": "distance"}, "iris"),
    ({"n_neighbors": 5, "algorithm": "brute", "weights": "distance"}, "wine"),
    ({"n_neighbors": 4, "algorithm": "ball_tree", "p": 1}, "wine"),
]


@pytest.mark.parametrize("kw,data", KNN_CASES, ids=[str(i) for i in range(len(KNN_CASES))])
def test_knn_classifier_matches_sklearn(tmp_path, kw, data):
    X, y = _data("bin" if data.startswith("bin") else data)
    est = KNeighborsClassifier(**kw).fit(X, y)
    rng = np.random.RandomState(1)
    # queries off the training points (exact distance ties are where brute force and trees
    # may order neighbours differently), plus training points themselves (zero distances)
    Xt = np.r_[X[::3] + rng.normal(scale=0.05, size=X[::3].shape), X[:4]]
    _check(est, Xt, tmp_path, TOL["knn"])


@pytest.mark.parametrize("kw,multi", [({"n_neighbors": 5}, False),
                                      ({"n_neighbors": 10, "weights": "distance", "p": 1}, False),
                                      ({"n_neighbors": 3}, True), ({"n_neighbors": 20}, True),
                                      ({"n_neighbors": 20}, False),
                                      ({"n_neighbors": 17, "weights": "distance"}, True)],
                         ids=["uniform", "dist-l1", "2out", "2out-k20", "k20", "2out-dist-k17"])
def test_knn_regressor_matches_sklearn(tmp_path, kw, multi):
    X, y = _data("reg")
    if multi:
        y = np.c_[y, -2 * y + 1]
    est = KNeighborsRegressor(**kw).fit(X, y)
    rng = np.random.RandomState(2)
    Xt = X[::7] + rng.normal(scale=0.01, size=X[::7].shape)
    _check(est, Xt, tmp_path, TOL["knn"], ops=("predict",))


@pytest.mark.parametrize("labels_", [["b", "a", "c", "a", "é"], [3, 1, 2, 3], [0.5, -1.0, 2.5]],
                         ids=["text", "int", "float"])
def test_label_encoder(tmp_path, labels_):
    le = LabelEncoder().fit(labels_)
    X = np.asarray(labels_)
    errs = _check(le, X.reshape(-1, 1) if X.dtype.kind in "USO" else X.reshape(-1, 1),
                  tmp_path, 0.0, ops=())
    assert errs == {}
    for model in (tmp_path / "conv.trove", tmp_path / "dump.trove"):
        got = predict(model, X.reshape(-1, 1), tmp_path, "transform")[:, 0]
        assert np.array_equal(got, le.transform(labels_))
    # an unseen label is refused naming the row, as sklearn raises
    bad = np.r_[X[:1], np.asarray(["zz"] if X.dtype.kind in "USO" else [99])]
    xin = os.path.join(str(tmp_path), "bad.csv")
    with open(xin, "w", encoding="utf-8") as f:
        f.write("y\n" + "\n".join(str(v) for v in bad) + "\n")
    r = run("predict", tmp_path / "conv.trove", xin)
    assert r.returncode != 0 and "row 1" in r.stderr, r.stderr


def test_onehot_text_categories(tmp_path):
    rng = np.random.RandomState(0)
    X = np.c_[rng.choice(["France", "Spain", "Germany"], 40).astype(object),
              rng.choice([1.0, 2.0, 5.0], 40).astype(object),
              rng.choice(["x", "y"], 40).astype(object)]
    enc = OneHotEncoder(handle_unknown="ignore").fit(X)
    want = enc.transform(X).toarray()
    for model in _both(enc, tmp_path):
        got = _transform_csv(model, X, tmp_path)
        assert np.array_equal(got, want)
        # unknown text with handle_unknown="ignore": all zeros for that feature
        Xu = X[:2].copy()
        Xu[0, 0] = "Mars"
        assert np.array_equal(_transform_csv(model, Xu, tmp_path), enc.transform(Xu).toarray())
    back = tsk.load(tmp_path / "dump.trove")
    assert np.array_equal(back.transform(X).toarray(), want)


def test_onehot_infrequent_if_exist_without_infrequent(tmp_path):
    X = np.array([["red"], ["green"], ["blue"], ["red"]], dtype=object)
    enc = OneHotEncoder(handle_unknown="infrequent_if_exist").fit(X)
    Xu = np.array([["green"], ["purple"]], dtype=object)
    for model in _both(enc, tmp_path):
        assert np.array_equal(_transform_csv(model, Xu, tmp_path), enc.transform(Xu).toarray())


def test_onehot_text_unknown_error(tmp_path):
    X = np.array([["red"], ["green"], ["blue"]], dtype=object)
    enc = OneHotEncoder().fit(X)
    for model in _both(enc, tmp_path):
        assert np.array_equal(_transform_csv(model, X, tmp_path), enc.transform(X).toarray())
        xin = os.path.join(str(tmp_path), "u.csv")
        with open(xin, "w") as f:
            f.write("x0\nred\npurple\n")
        r = run("predict", model, xin, "--transform")
        assert r.returncode != 0 and "row 1" in r.stderr and "unknown" in r.stderr, r.stderr


@pytest.mark.parametrize("drop", ["first", "if_binary", "array"])
def test_onehot_drop(tmp_path, drop):
    rng = np.random.RandomState(3)
    X = np.c_[rng.choice(["France", "Spain", "Germany"], 50).astype(object),
              rng.choice([1.0, 2.0], 50).astype(object),
              rng.choice(["x", "y"], 50).astype(object)]
    if drop == "array":
        drop = np.array(["Spain", 2.0, "x"], dtype=object)
    enc = OneHotEncoder(drop=drop, handle_unknown="ignore" if isinstance(drop, str) and
                        drop == "if_binary" else "error")
    enc.fit(X)
    want = enc.transform(X).toarray()
    for model in _both(enc, tmp_path):
        assert np.array_equal(_transform_csv(model, X, tmp_path), want)
    back = tsk.load(tmp_path / "dump.trove")
    assert np.array_equal(back.transform(X).toarray(), want)


def _both(est, tmp_path):
    pkl = tmp_path / "m.joblib"
    joblib.dump(est, pkl)
    r = convert(pkl, tmp_path / "conv.trove")
    assert r.returncode == 0, r.stderr
    tsk.dump(est, tmp_path / "dump.trove")
    return tmp_path / "conv.trove", tmp_path / "dump.trove"


def _transform_csv(model, X, tmp_path):
    xin = os.path.join(str(tmp_path), "t.csv")
    with open(xin, "w", encoding="utf-8") as f:
        f.write(",".join("x%d" % j for j in range(X.shape[1])) + "\n")
        for row in X:
            f.write(",".join(str(v) for v in row) + "\n")
    out = os.path.join(str(tmp_path), "t.npy")
    r = run("predict", model, xin, "--transform", "-o", out)
    assert r.returncode == 0, r.stderr
    return np.load(out).reshape(len(X), -1)


# ---- hostile files: each refused by `trove predict` with a message naming what is wrong ----

def _write(path, meta, tensors):
    from trove import core
    core.dump(tensors, str(path), meta=meta, created=False)


def _svm_file(path, **over):
    t = {"support_vectors": np.ones((3, 2)), "dual_coef": np.ones((2, 3)),
         "intercept": np.zeros(3), "n_support": np.array([1, 1, 1], dtype=np.int64)}
    m = {"n_features": 2, "task": "classification", "classes": [0, 1, 2], "kernel": "rbf",
         "gamma": 0.5}
    for k, v in over.items():
        if k.startswith("t_"):
            if v is None:
                t.pop(k[2:])
            else:
                t[k[2:]] = v
        else:
            m[k] = v
    _write(path, {"kind": "svm", "kind_version": 1, "model": m}, t)


HOSTILE = [
    ("svm-ok", {}, None),
    ("svm-nsupport-sum", {"t_n_support": np.array([1, 1, 2], dtype=np.int64)}, "n_support"),
    ("svm-nsupport-negative", {"t_n_support": np.array([-1, 2, 2], dtype=np.int64)}, "n_support"),
    ("svm-pairs", {"t_intercept": np.zeros(2)}, "intercept"),
    ("svm-coef-rows", {"t_dual_coef": np.ones((1, 3))}, "dual_coef"),
    ("svm-nan-sv", {"t_support_vectors": np.array([[1, np.nan], [0, 0], [1, 1]])}, "not finite"),
    ("svm-kernel", {"kernel": "precomputed"}, "kernel"),
    ("svm-gamma-inf", {"gamma": float("inf")}, "gamma"),
    ("svm-degree", {"degree": 2.5}, "degree"),
    ("svm-proba-half", {"t_prob_a": np.ones(3)}, "prob_b"),
    ("svm-break-ovo", {"break_ties": True, "decision_shape": "ovo"}, "break_ties"),
    ("svm-link", {"link": "exp"}, "link"),
]


@pytest.mark.parametrize("name,over,needle", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_svm_refused(tmp_path, name, over, needle):
    p = tmp_path / "h.trove"
    _svm_file(p, **over)
    xin = tmp_path / "x.npy"
    np.save(xin, np.zeros((2, 2)))
    r = run("predict", p, xin)
    if needle is None:
        assert r.returncode == 0, r.stderr
        return
    assert r.returncode == 1 and needle in r.stderr and "model" in r.stderr, r.stderr


def _other_file(path, kind, m, t):
    _write(path, {"kind": kind, "kind_version": 1, "model": m}, t)


OTHER_HOSTILE = [
    ("nb-var-zero", "naive_bayes", {"n_features": 2, "task": "classification", "classes": [0, 1],
                                    "distribution": "gaussian"},
     {"theta": np.zeros((2, 2)), "var": np.array([[1.0, 0.0], [1, 1]]),
      "class_prior": np.array([0.5, 0.5])}, "var"),
    ("nb-prior", "naive_bayes", {"n_features": 2, "task": "classification", "classes": [0, 1],
                                 "distribution": "gaussian"},
     {"theta": np.zeros((2, 2)), "var": np.ones((2, 2)), "class_prior": np.array([1.5, -0.5])},
     "class_prior"),
    ("nb-shape", "naive_bayes", {"n_features": 2, "task": "classification", "classes": [0, 1, 2],
                                 "distribution": "gaussian"},
     {"theta": np.zeros((2, 2)), "var": np.ones((2, 2)), "class_prior": np.array([0.5, 0.5])},
     "theta"),
    ("nb-distribution", "naive_bayes", {"n_features": 2, "task": "classification",
                                        "classes": [0, 1], "distribution": "poisson"},
     {"theta": np.zeros((2, 2)), "var": np.ones((2, 2)), "class_prior": np.array([0.5, 0.5])},
     "distribution"),
    ("knn-k-too-big", "knn", {"n_features": 2, "task": "regression", "n_neighbors": 5},
     {"fit_X": np.zeros((3, 2)), "y": np.zeros((3, 1))}, "n_neighbors"),
    ("knn-label-range", "knn", {"n_features": 2, "task": "classification", "classes": [0, 1],
                                "n_neighbors": 1},
     {"fit_X": np.zeros((3, 2)), "y": np.array([0, 1, 7], dtype=np.int64)}, "'y'[2]"),
    ("knn-metric", "knn", {"n_features": 2, "task": "regression", "n_neighbors": 1,
                           "metric": "cosine"},
     {"fit_X": np.zeros((3, 2)), "y": np.zeros((3, 1))}, "metric"),
    ("knn-inf", "knn", {"n_features": 2, "task": "regression", "n_neighbors": 1},
     {"fit_X": np.array([[0, np.inf], [0, 0], [1, 1]]), "y": np.zeros((3, 1))}, "not finite"),
    ("label-unsorted", "label_encoder", {"n_features": 1, "classes": [3, 1]}, {"x": np.zeros(1)},
     "increasing"),
    ("label-mixed", "label_encoder", {"n_features": 1, "classes": ["a", 1]}, {"x": np.zeros(1)},
     "text or all"),
    ("label-two-features", "label_encoder", {"n_features": 2, "classes": [1, 2]},
     {"x": np.zeros(1)}, "1 feature"),
    ("onehot-vocab-count", "onehot", {"n_features": 1, "vocabulary": [["a", "b", "c"]]},
     {"categories": np.array([0.0, 1.0]), "offsets": np.array([0, 2], dtype=np.int64)},
     "vocabulary"),
    ("onehot-vocab-codes", "onehot", {"n_features": 1, "vocabulary": [["a", "b"]]},
     {"categories": np.array([0.0, 2.0]), "offsets": np.array([0, 2], dtype=np.int64)},
     "codes"),
    ("onehot-drop-range", "onehot", {"n_features": 1},
     {"categories": np.array([0.0, 1.0]), "offsets": np.array([0, 2], dtype=np.int64),
      "drop": np.array([2], dtype=np.int64)}, "'drop'[0]"),
    ("onehot-drop-all", "onehot", {"n_features": 1},
     {"categories": np.array([0.0]), "offsets": np.array([0, 1], dtype=np.int64),
      "drop": np.array([0], dtype=np.int64)}, "no output column"),
    ("onehot-vocab-dup", "onehot", {"n_features": 1, "vocabulary": [["a", "a"]]},
     {"categories": np.array([0.0, 1.0]), "offsets": np.array([0, 2], dtype=np.int64)},
     "twice"),
]


@pytest.mark.parametrize("name,kind,m,t,needle", OTHER_HOSTILE, ids=[h[0] for h in OTHER_HOSTILE])
def test_hostile_other_refused(tmp_path, name, kind, m, t, needle):
    p = tmp_path / "h.trove"
    _other_file(p, kind, m, t)
    xin = tmp_path / "x.npy"
    np.save(xin, np.zeros((2, m["n_features"])))
    r = run("predict", p, xin)
    assert r.returncode == 1 and needle in r.stderr, r.stderr


# ---- older scikit-learn attribute names (files written by versions before the renames) -------

def _old_style(est, rename, drop=()):
    """A copy of est whose pickled state uses older attribute names (pickle writes __dict__)."""
    import copy
    old = copy.deepcopy(est)
    for new, oldname in rename.items():
        old.__dict__[oldname] = old.__dict__.pop(new)
    for k in drop:
        old.__dict__.pop(k, None)
    return old


@pytest.mark.parametrize("n_classes", [2, 3])
def test_svc_old_attribute_names(tmp_path, n_classes):
    """sklearn < 1.0 kept n_support_, probA_, probB_; before 0.15 no _dual_coef_/_intercept_
    (the public ones, negated for two classes, are then read and the sign restored)."""
    X, y = _data("bin", n_classes=n_classes)
    est = SVC(probability=True, random_state=0).fit(X, y)
    old = _old_style(est, {"_n_support": "n_support_", "_probA": "probA_", "_probB": "probB_"},
                     drop=("_dual_coef_", "_intercept_"))
    pkl = tmp_path / "old.pkl"
    with open(pkl, "wb") as f:
        import pickle
        pickle.dump(old, f)
    out = tmp_path / "old.trove"
    r = convert(pkl, out)
    assert r.returncode == 0, r.stderr
    assert_close(predict(out, X, tmp_path, "decision"), est.decision_function(X), TOL["svm"])
    assert_close(predict(out, X, tmp_path, "proba"), est.predict_proba(X), TOL["svm_proba"])
    assert same_labels(labels(out, X, tmp_path), est.predict(X))


def test_gaussian_nb_sigma(tmp_path):
    X, y = _data("iris")
    est = GaussianNB().fit(X, y)
    old = _old_style(est, {"var_": "sigma_"})
    pkl = tmp_path / "old.pkl"
    joblib.dump(old, pkl)
    out = tmp_path / "old.trove"
    r = convert(pkl, out)
    assert r.returncode == 0, r.stderr
    assert_close(predict(out, X, tmp_path, "proba"), est.predict_proba(X), TOL["naive_bayes"])


def test_svc_refusals_name_the_reason(tmp_path):
    X, y = _data("iris")
    K = np.dot(X, X.T)
    for est, needle in [(SVC(kernel="precomputed").fit(K, y), "kernel"),
                        (SVC().fit(__import__("scipy.sparse", fromlist=["csr_matrix"])
                                   .csr_matrix(X), y), "sparse"),
                        (KNeighborsClassifier(metric="chebyshev").fit(X, y), "metric")]:
        pkl = tmp_path / "r.pkl"
        joblib.dump(est, pkl)
        r = convert(pkl, tmp_path / "r.trove")
        assert r.returncode == 1 and needle in r.stderr, r.stderr
        with pytest.raises(TypeError, match=needle):
            tsk.dump(est, tmp_path / "r2.trove")


def test_text_pipeline_end_to_end(tmp_path):
    """Pipeline(OneHotEncoder on text, LogisticRegression): text columns in the CSV, labels out."""
    from sklearn.linear_model import LogisticRegression
    rng = np.random.RandomState(5)
    X = np.c_[rng.choice(["red", "green", "blue"], 80), rng.choice(["s", "m", "l", "xl"], 80)]
    X = X.astype(object)
    y = np.where((X[:, 0] == "red") | (X[:, 1] == "xl"), "yes", "no")
    est = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression()).fit(X, y)
    for model in _both(est, tmp_path):
        assert same_labels(labels(model, X, tmp_path), est.predict(X))
        assert_close(predict(model, X, tmp_path, "proba"), est.predict_proba(X), 1e-12)
    back = tsk.load(tmp_path / "dump.trove")
    assert np.array_equal(back.predict_proba(X), est.predict_proba(X))


# ---- ColumnTransformer: numeric and text columns side by side ---------------------------------

def _mixed(n=120, seed=0):
    rng = np.random.RandomState(seed)
    X = np.empty((n, 6), dtype=object)
    X[:, 0] = rng.normal(40, 10, n)
    X[:, 1] = rng.choice(["France", "Spain", "Germany"], n)
    X[:, 2] = rng.normal(1e4, 3e3, n)
    X[:, 3] = rng.choice(["Male", "Female"], n)
    X[:, 4] = rng.normal(size=n)
    X[:, 5] = rng.normal(size=n)
    y = ((X[:, 0].astype(float) > 40) ^ (X[:, 1] == "Spain")).astype(int)
    return X, y


def _csv_op(model, X, tmp_path, op):
    xin = os.path.join(str(tmp_path), "mixed.csv")
    with open(xin, "w", encoding="utf-8") as f:
        f.write(",".join("c%d" % j for j in range(X.shape[1])) + "\n")
        for row in X:
            f.write(",".join(str(v) for v in row) + "\n")
    out = os.path.join(str(tmp_path), "mixed.npy")
    r = run("predict", model, xin, "-o", out, *(["--" + op] if op else []))
    assert r.returncode == 0, r.stderr
    return np.load(out).reshape(len(X), -1)


def _ct_cases():
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import MinMaxScaler
    return {
        "num-cat-passthrough": lambda: ColumnTransformer(
            [("num", StandardScaler(), [0, 2]), ("cat", OneHotEncoder(drop="first"), [1, 3])],
            remainder="passthrough"),
        "mask-negative-nested": lambda: ColumnTransformer(
            [("num", make_pipeline(SimpleImputer(), MinMaxScaler()),
              np.array([True, False, True, False, False, False])),
             ("cat", OneHotEncoder(handle_unknown="ignore"), [-5]),
             ("drop_me", "drop", [3]), ("empty", StandardScaler(), [])],
            remainder=StandardScaler()),
        "passthrough-part": lambda: ColumnTransformer(
            [("keep", "passthrough", [4, 5]), ("cat", OneHotEncoder(), [3, 1])]),
    }


@pytest.mark.parametrize("case", ["num-cat-passthrough", "mask-negative-nested",
                                  "passthrough-part"])
def test_column_transformer(tmp_path, case):
    from sklearn.linear_model import LogisticRegression
    X, y = _mixed()
    ct = _ct_cases()[case]()
    pipe = make_pipeline(ct, LogisticRegression(max_iter=500)).fit(X, y)
    want_t = np.asarray(pipe[0].transform(X), dtype=np.float64)
    if hasattr(want_t, "toarray"):
        want_t = want_t.toarray()
    for model in _both(pipe, tmp_path):
        assert_close(_csv_op(model, X, tmp_path, "proba"), pipe.predict_proba(X), 1e-12)
    for model in _both(pipe[0], tmp_path):
        got = _csv_op(model, X, tmp_path, "transform")
        assert np.array_equal(got, np.asarray(want_t, dtype=np.float64))
    back = tsk.load(tmp_path / "dump.trove")
    assert np.array_equal(np.asarray(back.transform(X), dtype=np.float64), want_t)
    pipe_path = tmp_path / "pipe.trove"
    tsk.dump(pipe, pipe_path)
    assert np.array_equal(tsk.load(pipe_path).predict_proba(X), pipe.predict_proba(X))


def test_column_transformer_refusals(tmp_path):
    from sklearn.compose import ColumnTransformer
    X, y = _mixed()
    ct = ColumnTransformer([("num", StandardScaler(), [0, 2])],
                           transformer_weights={"num": 2.0}).fit(X)
    pkl = tmp_path / "w.pkl"
    joblib.dump(ct, pkl)
    r = convert(pkl, tmp_path / "w.trove")
    assert r.returncode == 1 and "transformer_weights" in r.stderr, r.stderr
    with pytest.raises(TypeError, match="transformer_weights"):
        tsk.dump(ct, tmp_path / "w2.trove")


CT_HOSTILE = [
    ("col-range", {"n_features": 2, "transformers": [{"passthrough": True, "columns": [0, 2]}]},
     {"x": np.zeros(1)}, "columns[1]"),
    ("no-columns", {"n_features": 2, "transformers": [{"passthrough": True, "columns": []}]},
     {"x": np.zeros(1)}, "columns"),
    ("part-predicts", {"n_features": 2, "transformers": [
        {"kind": "linear", "kind_version": 1, "columns": [0, 1],
         "model": {"n_features": 2, "task": "regression"}}]},
     {"transformers/0/coef": np.ones((1, 2)), "transformers/0/intercept": np.zeros(1)},
     "predicts"),
    ("width", {"n_features": 3, "transformers": [
        {"kind": "scaler", "kind_version": 1, "columns": [0, 1],
         "model": {"n_features": 3, "op": "standardize"}}]},
     {"transformers/0/center": np.zeros(3), "transformers/0/scale": np.ones(3)}, "lists 2"),
    ("text-twice", {"n_features": 2, "transformers": [
        {"kind": "onehot", "kind_version": 1, "columns": [0],
         "model": {"n_features": 1, "vocabulary": [["a", "b"]]}},
        {"passthrough": True, "columns": [0, 1]}]},
     {"transformers/0/categories": np.array([0.0, 1.0]),
      "transformers/0/offsets": np.array([0, 2], dtype=np.int64)}, "text"),
]


@pytest.mark.parametrize("name,m,t,needle", CT_HOSTILE, ids=[h[0] for h in CT_HOSTILE])
def test_hostile_column_transformer(tmp_path, name, m, t, needle):
    p = tmp_path / "h.trove"
    _other_file(p, "column_transformer", m, t)
    xin = tmp_path / "x.npy"
    np.save(xin, np.zeros((2, m["n_features"])))
    r = run("predict", p, xin)
    assert r.returncode == 1 and needle in r.stderr, r.stderr
