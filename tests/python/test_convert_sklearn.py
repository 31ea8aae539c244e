"""`trove convert` on scikit-learn models fitted and saved here, at test time, with pickle
protocols 0-5 and joblib (raw, zlib, gzip); `trove predict` must reproduce sklearn's own
predictions (labels identical; floats within the docs/MODELS.md tolerances)."""
import gzip
import os
import pickle
import warnings

import joblib
import numpy as np
import pytest
from sklearn import datasets
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor,
                              GradientBoostingClassifier, GradientBoostingRegressor,
                              HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (ElasticNet, HuberRegressor, Lasso, LinearRegression,
                                  LogisticRegression, LogisticRegressionCV, Perceptron, Ridge,
                                  RidgeClassifier, RidgeCV, SGDClassifier, SGDRegressor)
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (MaxAbsScaler, MinMaxScaler, OneHotEncoder, RobustScaler,
                                   StandardScaler)
from sklearn.svm import LinearSVC, LinearSVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor, ExtraTreeRegressor

from convert_helpers import close, convert, labels, metadata, predict, same_labels

warnings.filterwarnings("ignore")


def _data(name):
    if name == "diabetes":
        X, y = datasets.load_diabetes(return_X_y=True)
    elif name == "cancer":
        X, y = datasets.load_breast_cancer(return_X_y=True)
        X = StandardScaler().fit_transform(X)
    elif name == "iris":
        X, y = datasets.load_iris(return_X_y=True)
    elif name == "codes":  # small integer codes, as fed to a one-hot encoder
        X, y = datasets.load_iris(return_X_y=True)
        X = np.round(X).astype(np.float64)
    elif name == "wine":
        X, y = datasets.load_wine(return_X_y=True)
        X = StandardScaler().fit_transform(X)
    return X, y


def _models():
    yield "linreg", LinearRegression(), "diabetes", 1e-12
    yield "linreg2", LinearRegression(), "diabetes2", 1e-12
    yield "ridge", Ridge(alpha=0.5), "diabetes", 1e-12
    yield "lasso", Lasso(alpha=0.1), "diabetes", 1e-12
    yield "enet", ElasticNet(alpha=0.1, l1_ratio=0.3), "diabetes", 1e-12
    yield "sgdreg", SGDRegressor(random_state=0), "diabetes", 1e-12
    yield "logreg_bin", LogisticRegression(max_iter=2000), "cancer", 1e-12
    yield "logreg_multi", LogisticRegression(max_iter=2000), "wine", 1e-12
    yield "logreg_ovr", LogisticRegression(multi_class="ovr", max_iter=2000), "wine", 1e-12
    yield "logreg_mn_bin", LogisticRegression(multi_class="multinomial", max_iter=2000), \
        "cancer", 1e-12
    yield "logreg_liblinear", LogisticRegression(solver="liblinear"), "iris", 1e-12
    yield "linsvc", LinearSVC(max_iter=5000, dual=False), "wine", 1e-12
    yield "sgdclf_log", SGDClassifier(loss="log_loss", random_state=0), "wine", 1e-12
    yield "sgdclf_hinge", SGDClassifier(random_state=0), "cancer", 1e-12
    yield "stdscaler", StandardScaler(), "diabetes", 0
    yield "stdscaler_nomean", StandardScaler(with_mean=False), "diabetes", 0
    yield "minmax", MinMaxScaler(feature_range=(-1, 2)), "diabetes", 0
    yield "minmax_clip", MinMaxScaler(clip=True), "diabetes", 0
    yield "imputer", SimpleImputer(strategy="median"), "diabetes", 0
    yield "imputer_nan", SimpleImputer(strategy="mean"), "diabetes_nan", 0
    yield "onehot", OneHotEncoder(handle_unknown="ignore"), "codes", 0
    yield "ridgecv", RidgeCV(), "diabetes", 1e-12
    yield "huber", HuberRegressor(max_iter=500), "diabetes", 1e-12
    yield "linsvr", LinearSVR(max_iter=5000, random_state=0), "diabetes", 1e-12
    yield "ridgeclf", RidgeClassifier(), "wine", 1e-12
    yield "perceptron", Perceptron(random_state=0), "cancer", 1e-12
    yield "logregcv", LogisticRegressionCV(max_iter=1000, cv=3), "iris", 1e-12
    yield "etr_single", ExtraTreeRegressor(random_state=0), "diabetes", 1e-12
    yield "ovr_logreg", OneVsRestClassifier(LogisticRegression(max_iter=1000)), "wine", 1e-12
    yield "ovr_svc_bin", OneVsRestClassifier(LinearSVC(dual=False)), "cancer", 1e-12
    yield "robust", RobustScaler(), "diabetes", 0
    yield "robust_noc", RobustScaler(with_centering=False, quantile_range=(10, 90)), "wine", 0
    yield "maxabs", MaxAbsScaler(), "wine", 0
    yield "dtc", DecisionTreeClassifier(random_state=0), "iris", 1e-12
    yield "dtr", DecisionTreeRegressor(max_depth=6, random_state=0), "diabetes", 1e-12
    yield "rfc", RandomForestClassifier(n_estimators=15, random_state=0), "wine", 1e-12
    yield "rfr", RandomForestRegressor(n_estimators=10, random_state=0), "diabetes", 1e-12
    yield "rfr2", RandomForestRegressor(n_estimators=5, random_state=0), "diabetes2", 1e-12
    yield "etc", ExtraTreesClassifier(n_estimators=10, random_state=0), "iris", 1e-12
    yield "etr", ExtraTreesRegressor(n_estimators=10, random_state=0), "diabetes", 1e-12
    yield "gbc_bin", GradientBoostingClassifier(n_estimators=20, random_state=0), "cancer", 1e-12
    yield "gbc_multi", GradientBoostingClassifier(n_estimators=15, random_state=0), "iris", 1e-12
    yield "gbc_zero", GradientBoostingClassifier(n_estimators=10, init="zero",
                                                 random_state=0), "cancer", 1e-12
    yield "gbr", GradientBoostingRegressor(n_estimators=20, random_state=0), "diabetes", 1e-12
    yield "gbr_huber", GradientBoostingRegressor(loss="huber", n_estimators=10,
                                                 random_state=0), "diabetes", 1e-12
    yield "hgbc_bin", HistGradientBoostingClassifier(max_iter=15, random_state=0), "cancer", \
        1e-12
    yield "hgbc_multi", HistGradientBoostingClassifier(max_iter=10, random_state=0), "iris", \
        1e-12
    yield "hgbr", HistGradientBoostingRegressor(max_iter=20, random_state=0), "diabetes", 1e-12
    yield "hgbr_nan", HistGradientBoostingRegressor(max_iter=20, random_state=0), \
        "diabetes_nan", 1e-12
    yield "dtr_nan_free", DecisionTreeRegressor(max_depth=4, random_state=0), "diabetes", 1e-12
    yield "mlpc", MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=300, random_state=0), \
        "wine", 1e-10
    yield "mlpc_bin", MLPClassifier(hidden_layer_sizes=(10,), activation="tanh", max_iter=300,
                                    random_state=0), "cancer", 1e-10
    yield "mlpr", MLPRegressor(hidden_layer_sizes=(12,), activation="logistic", max_iter=300,
                               random_state=0), "diabetes", 1e-10
    yield "pipe", make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)), "wine", \
        1e-12
    yield "pipe_nested", Pipeline([("pre", make_pipeline(SimpleImputer(), MinMaxScaler())),
                                   ("rf", RandomForestClassifier(n_estimators=5,
                                                                 random_state=0))]), "iris", 1e-12


MODELS = list(_models())
# every model with joblib (raw); a spread of models across the other writers
WRITERS = ["pickle0", "pickle1", "pickle2", "pickle3", "pickle4", "pickle5", "joblib",
           "joblib_zlib", "joblib_gzip"]


def _fit(est, dname):
    X, y = _data(dname.rstrip("2").replace("_nan", ""))
    if dname.endswith("_nan"):  # missing values: learnt default directions
        X = X.copy()
        X[np.random.RandomState(0).rand(*X.shape) < 0.15] = np.nan
    if dname == "diabetes2":  # two targets
        y = np.c_[y, np.sqrt(np.abs(y)) * 3]
    if isinstance(est, (StandardScaler, MinMaxScaler, SimpleImputer, RobustScaler, MaxAbsScaler,
                        OneHotEncoder)):
        est.fit(X)
    else:
        est.fit(X, y)
    return est, X


def _save(est, path, how):
    if how.startswith("pickle"):
        with open(path, "wb") as f:
            pickle.dump(est, f, protocol=int(how[-1]))
    elif how == "joblib":
        joblib.dump(est, path)
    elif how == "joblib_zlib":
        joblib.dump(est, path, compress=("zlib", 3))
    elif how == "joblib_gzip":
        joblib.dump(est, path, compress=("gzip", 3))


def _check(est, X, model, tmp, rtol):
    last = est.steps[-1][1] if isinstance(est, Pipeline) else est
    if not hasattr(last, "predict"):
        got = predict(model, X, tmp, "transform")
        want = est.transform(X)
        want = want.toarray() if hasattr(want, "toarray") else want
        ok, how = close(got, want, rtol)
        assert ok, "transform: " + how
        return
    if hasattr(last, "classes_"):
        assert same_labels(labels(model, X, tmp), est.predict(X)), "labels differ"
        if hasattr(est, "decision_function"):
            ok, how = close(predict(model, X, tmp, "decision"), est.decision_function(X), rtol)
            assert ok, "decision_function: " + how
        try:
            want = est.predict_proba(X)
        except AttributeError:
            want = None
        if want is not None:
            ok, how = close(predict(model, X, tmp, "proba"), want, rtol)
            assert ok, "predict_proba: " + how
    else:
        ok, how = close(predict(model, X, tmp), est.predict(X), rtol)
        assert ok, "predict: " + how


# every model with joblib (raw) and pickle protocol 4; each other writer on a third of the models
CASES = [(m, how) for i, m in enumerate(MODELS) for j, how in enumerate(WRITERS)
         if how in ("joblib", "pickle4") or i % 3 == j % 3]


@pytest.mark.parametrize("model,how", CASES, ids=["%s-%s" % (m[0], h) for m, h in CASES])
def test_convert_matches_sklearn(tmp_path, model, how):
    import copy
    name, est, dname, rtol = model
    est, X = _fit(copy.deepcopy(est), dname)
    src = tmp_path / ("model." + how)
    _save(est, src, how)
    out = tmp_path / "model.trove"
    r = convert(src, out)
    assert r.returncode == 0, r.stderr
    _check(est, X, str(out), tmp_path, rtol)


def test_metadata_recorded(tmp_path):
    import hashlib
    import sklearn
    est, X = _fit(LogisticRegression(C=0.5, max_iter=1000), "iris")
    src = tmp_path / "lr.joblib"
    joblib.dump(est, src)
    out = tmp_path / "lr.trove"
    assert convert(src, out).returncode == 0
    meta = metadata(out)
    assert meta["kind"] == "linear" and meta["model"]["link"] == "softmax"
    assert meta["estimator"] == "sklearn.linear_model.LogisticRegression"
    assert meta["producer"] == {"name": "scikit-learn", "version": sklearn.__version__}
    assert meta["params"]["C"] == 0.5 and meta["params"]["max_iter"] == 1000
    assert meta["signature"]["inputs"]["n_features"] == 4
    assert meta["signature"]["classes"] == [0, 1, 2]
    src_meta = meta["lineage"]["source"]
    assert src_meta["file"] == "lr.joblib"
    assert src_meta["sha256"] == hashlib.sha256(open(src, "rb").read()).hexdigest()


def test_string_classes_and_feature_names(tmp_path):
    iris = datasets.load_iris()
    y = np.asarray(iris.target_names)[iris.target]
    try:
        import pandas as pd
        X = pd.DataFrame(iris.data, columns=["sl", "sw", "pl", "pw"])
    except ImportError:
        X = iris.data
    est = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    src = tmp_path / "rf.pkl"
    with open(src, "wb") as f:
        pickle.dump(est, f)
    out = tmp_path / "rf.trove"
    assert convert(src, out).returncode == 0, "convert failed"
    meta = metadata(out)
    assert meta["signature"]["classes"] == list(iris.target_names)
    if hasattr(X, "columns"):
        assert meta["signature"]["inputs"]["names"] == ["sl", "sw", "pl", "pw"]
    Xa = np.asarray(X, dtype=np.float64)
    assert same_labels(labels(str(out), Xa, tmp_path), est.predict(X))


def test_search_cv_uses_best_estimator(tmp_path):
    from sklearn.model_selection import GridSearchCV
    X, y = _data("wine")
    gs = GridSearchCV(LogisticRegression(max_iter=1000), {"C": [0.1, 1.0]}, cv=3).fit(X, y)
    src = tmp_path / "gs.joblib"
    joblib.dump(gs, src)
    out = tmp_path / "gs.trove"
    r = convert(src, out)
    assert r.returncode == 0, r.stderr
    assert metadata(out)["params"]["C"] == gs.best_params_["C"]
    _check(gs.best_estimator_, X, str(out), tmp_path, 1e-12)


def test_container_split(tmp_path):
    a, X = _fit(StandardScaler(), "iris")
    b, _ = _fit(LogisticRegression(max_iter=500), "iris")
    src = tmp_path / "both.pkl"
    joblib.dump({"scaler": a, "clf": b}, src, compress=3)
    out = tmp_path / "both.trove"
    r = convert(src, out)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(tmp_path / "both.scaler.trove")
    assert os.path.exists(tmp_path / "both.clf.trove")
    assert not os.path.exists(out)
    ok, how = close(predict(str(tmp_path / "both.scaler.trove"), X, tmp_path, "transform"),
                    a.transform(X), 0)
    assert ok, how
    r = convert(src, tmp_path / "x.trove", "--no-split")
    assert r.returncode == 1 and "estimators" in r.stderr
    # plain data next to the estimators (a feature list, a label array) is left out
    bundle = tmp_path / "bundle.pkl"
    with open(bundle, "wb") as f:
        pickle.dump({"model": b, "features": ["a", "b", "c", "d"], "labels": np.arange(3),
                     "version": 2}, f)
    r = convert(bundle, tmp_path / "bundle.trove")
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["both.pkl", "both.scaler.trove", "both.clf.trove", "bundle.pkl", "bundle.model.trove"]
        + [p for p in os.listdir(tmp_path) if p.endswith(".npy")])


class Custom:  # a class only this script defines: refused by name
    def __init__(self):
        self.w = np.arange(3.0)


@pytest.mark.parametrize("obj,needle", [
    (lambda: Custom(), "Custom"),
    (lambda: _fit(__import__("sklearn.svm", fromlist=["OneClassSVM"]).OneClassSVM(), "iris")[0],
     "OneClassSVM"),
    (lambda: _fit(__import__("sklearn.cluster", fromlist=["BisectingKMeans"]).BisectingKMeans(
        n_clusters=3, random_state=0), "iris")[0], "BisectingKMeans"),
    (lambda: {"a": 1}, "none is an estimator"),
    (lambda: [LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), Custom()], "item 1"),
])
def test_refusals_name_the_reason(tmp_path, obj, needle):
    src = tmp_path / "x.pkl"
    with open(src, "wb") as f:
        pickle.dump(obj(), f)
    out = tmp_path / "x.trove"
    r = convert(src, out)
    assert r.returncode == 1, r.stderr
    assert needle in r.stderr, r.stderr
    assert not os.path.exists(out)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".trove")]


def test_hostile_inputs_refused(tmp_path):
    est, _ = _fit(Ridge(), "diabetes")
    good = pickle.dumps(est, protocol=4)
    cases = {
        "truncated": good[: len(good) // 2],
        "garbage": b"\x80\x04\xff\xff\xff",
        "persid": b"\x80\x02X\x01\x00\x00\x00aQ.",
        "ext": b"\x80\x02\x82\x01.",
        "empty": b"",
        "gzip_garbage": gzip.compress(good)[:40],
        "bz2": b"BZh91AY&SY" + b"\x00" * 20,
    }
    for name, data in cases.items():
        src = tmp_path / (name + ".pkl")
        src.write_bytes(data)
        r = convert(src, tmp_path / (name + ".trove"))
        assert r.returncode in (1, 3), (name, r.returncode, r.stderr)
        assert r.stderr.startswith("trove convert: "), (name, r.stderr)
