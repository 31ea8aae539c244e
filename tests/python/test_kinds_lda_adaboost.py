"""LinearDiscriminantAnalysis (the linear kind) and AdaBoostClassifier over decision trees (the
tree_ensemble kind with a softmax temperature) converted from pickles written at test time by
Debian's scikit-learn, against sklearn's own predict / decision_function / predict_proba
(docs/MODELS.md 2, docs/CODECS.md). Behaviours of other sklearn versions that Debian's cannot
produce (SAMME's symmetric decision from 1.3, LDA's one-vs-rest probabilities before 0.21) are
checked against the formulas of those versions' source, computed here from the fitted
estimator's own parts; what trove cannot reproduce is refused with a message naming why."""
import pickle

import numpy as np
import pytest

from convert_helpers import assert_close, convert, labels, metadata, predict, same_labels

sklearn = pytest.importorskip("sklearn")
joblib = pytest.importorskip("joblib")

from sklearn.discriminant_analysis import LinearDiscriminantAnalysis  # noqa: E402
from sklearn.ensemble import AdaBoostClassifier, AdaBoostRegressor  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier  # noqa: E402

# docs/MODELS.md 4: a linear model repeats sklearn's dot products; AdaBoost sums per-tree leaf
# vectors in tree order and scales once, where sklearn divides the sum (ulps per tree)
TOL_LDA = 1e-12
TOL_ADA = 1e-10


def _data(seed, k, n=300, d=6, text=False):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, k, n)
    X = rng.normal(size=(n, d)) + 1.5 * rng.normal(size=(k, d))[y]
    if text:
        y = np.array(["north", "south", "east", "west", "up"][:k], dtype=object)[y]
    return X, y


def _converted(est, tmp_path, name="m"):
    """The estimator pickled by joblib and by plain pickle, each converted by `trove convert`."""
    out = []
    for how in ("joblib", "pickle"):
        src = tmp_path / ("%s.%s" % (name, how))
        if how == "joblib":
            joblib.dump(est, src)
        else:
            with open(src, "wb") as f:
                pickle.dump(est, f)
        dst = tmp_path / ("%s_%s.trove" % (name, how))
        r = convert(src, dst)
        assert r.returncode == 0, r.stderr
        out.append(dst)
    return out


def _check(est, X, tmp_path, tol, want=None):
    """predict labels exactly; decision_function and predict_proba within tol. want: expected
    outputs by op when they are not this sklearn's (another version's formula). Returns the
    metadata of the converted file."""
    want = want or {}
    errs = {}
    for model in _converted(est, tmp_path):
        exp = want.get("predict", est.predict(X))
        assert same_labels(labels(model, X, tmp_path), np.asarray(exp)), model.name
        for op, flag in (("decision_function", "decision"), ("predict_proba", "proba")):
            err = assert_close(predict(model, X, tmp_path, flag), want.get(op, getattr(est, op)(X)),
                         tol)
            errs[op] = max(errs.get(op, 0.0), err)
    print("max errors", type(est).__name__, errs)
    return metadata(model)


# ---- LinearDiscriminantAnalysis --------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("k,solver,text", [(2, "svd", False), (3, "svd", True),
                                           (4, "lsqr", False), (3, "eigen", False),
                                           (2, "lsqr", True)])
def test_lda_matches_sklearn(tmp_path, seed, k, solver, text):
    X, y = _data(seed, k, text=text)
    kw = {"shrinkage": "auto"} if solver != "svd" else {}
    est = LinearDiscriminantAnalysis(solver=solver, **kw).fit(X, y)
    rng = np.random.RandomState(50 + seed)
    Xt = np.r_[X[:60], rng.normal(scale=4.0, size=(20, X.shape[1]))]
    meta = _check(est, Xt, tmp_path, TOL_LDA)
    assert meta["kind"] == "linear"
    assert meta["model"]["link"] == ("logistic" if k == 2 else "softmax")


def _pickled_as(monkeypatch, version):
    """Pickles written from now on say they come from that sklearn version (BaseEstimator's
    __getstate__ writes sklearn.base.__version__ into every estimator's state)."""
    import sklearn.base
    monkeypatch.setattr(sklearn.base, "__version__", version)


def test_lda_before_0_21_normalises_one_vs_rest(tmp_path, monkeypatch):
    """sklearn < 0.21 (before PR 11796): multiclass probabilities were the logistic of each
    decision, normalised to sum 1."""
    X, y = _data(3, 3)
    est = LinearDiscriminantAnalysis().fit(X, y)
    _pickled_as(monkeypatch, "0.20.3")
    d = est.decision_function(X[:50])
    p = 1.0 / (1.0 + np.exp(-d))
    p /= p.sum(axis=1, keepdims=True)
    _check(est, X[:50], tmp_path, TOL_LDA, {"predict_proba": p})


def test_lda_in_a_pipeline(tmp_path):
    X, y = _data(4, 3)
    est = make_pipeline(StandardScaler(), LinearDiscriminantAnalysis()).fit(X, y)
    _check(est, X[:80], tmp_path, TOL_LDA)


# ---- AdaBoostClassifier ----------------------------------------------------------------------

ADA_CASES = [
    ("samme.r-binary", 2, dict(algorithm="SAMME.R", n_estimators=30), False),
    ("samme.r-3", 3, dict(algorithm="SAMME.R", n_estimators=25), True),
    ("samme.r-5-deep", 5, dict(algorithm="SAMME.R", n_estimators=15,
                               estimator=DecisionTreeClassifier(max_depth=3)), False),
    ("samme-binary", 2, dict(algorithm="SAMME", n_estimators=40), True),
    ("samme-4", 4, dict(algorithm="SAMME", n_estimators=30, learning_rate=0.5), False),
    ("samme-extra-trees", 3, dict(algorithm="SAMME", n_estimators=20,
                                  estimator=ExtraTreeClassifier(max_depth=2)), False),
]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name,k,kw,text", ADA_CASES, ids=[c[0] for c in ADA_CASES])
def test_adaboost_matches_sklearn(tmp_path, name, k, kw, text, seed):
    X, y = _data(seed, k, text=text)
    est = AdaBoostClassifier(random_state=seed, **kw).fit(X, y)
    rng = np.random.RandomState(70 + seed)
    # rows from the training data (thresholds lie between them) and far-out rows
    Xt = np.r_[X[:80], rng.normal(scale=3.0, size=(20, X.shape[1]))]
    meta = _check(est, Xt, tmp_path, TOL_ADA)
    assert meta["kind"] == "tree_ensemble" and len(est.estimators_) >= 2
    assert meta["model"].get("temperature", 1.0) == (1.0 if k == 2 else k - 1)


def test_adaboost_perfect_first_tree(tmp_path):
    """Boosting stops when a tree fits perfectly (weight 1, the rest of estimator_weights_ 0)."""
    X, y = _data(5, 2)
    y = (X[:, 0] > 0).astype(int)
    est = AdaBoostClassifier(n_estimators=10, algorithm="SAMME", random_state=0).fit(X, y)
    assert len(est.estimators_) < 10
    _check(est, X[:50], tmp_path, TOL_ADA)


def _samme_1_3(est, X):
    """AdaBoostClassifier.decision_function and predict_proba of sklearn >= 1.3 (PR 26521) for
    algorithm='SAMME': the predicted class gets w, the others -w / (k - 1)."""
    k = est.n_classes_
    classes = est.classes_[:, np.newaxis]
    pred = sum(np.where((e.predict(X) == classes).T, w, -1 / (k - 1) * w)
               for e, w in zip(est.estimators_, est.estimator_weights_))
    pred /= est.estimator_weights_.sum()
    if k == 2:
        pred[:, 0] *= -1
        d = pred.sum(axis=1)
        z = np.vstack([-d, d]).T / 2
    else:
        d = pred
        z = d / (k - 1)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return d, z / z.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("k", [2, 4])
def test_adaboost_samme_from_sklearn_1_3(tmp_path, monkeypatch, k):
    X, y = _data(6, k)
    est = AdaBoostClassifier(algorithm="SAMME", n_estimators=20, random_state=1).fit(X, y)
    _pickled_as(monkeypatch, "1.3.2")
    d, p = _samme_1_3(est, X[:60])
    assert not np.allclose(d, est.decision_function(X[:60]))  # the versions differ here
    _check(est, X[:60], tmp_path, TOL_ADA, {"decision_function": d, "predict_proba": p})


def test_adaboost_refusals(tmp_path, monkeypatch):
    X, y = _data(7, 3)
    cases = [
        (AdaBoostClassifier(estimator=LogisticRegression(), n_estimators=3).fit(X, y),
         "only decision trees", None),
        (AdaBoostRegressor(n_estimators=5).fit(X, X[:, 0]), "weighted median", None),
        (AdaBoostClassifier(algorithm="SAMME", n_estimators=5).fit(X, y), "< 0.22", "0.21.3"),
    ]
    for i, (est, why, version) in enumerate(cases):
        if version:
            _pickled_as(monkeypatch, version)
        src = tmp_path / ("r%d.pkl" % i)
        joblib.dump(est, src)
        r = convert(src, tmp_path / ("r%d.trove" % i))
        assert r.returncode != 0
        assert why in r.stderr, r.stderr
        assert not (tmp_path / ("r%d.trove" % i)).exists()


def test_damaged_adaboost_refused(tmp_path):
    X, y = _data(8, 3)
    est = AdaBoostClassifier(n_estimators=5).fit(X, y)
    for attr, value, why in (("estimator_weights_", np.array([1.0]), "estimator_weights_"),
                             ("estimator_weights_", np.zeros(5), "sum to 0"),
                             ("estimators_", [], "estimators_"),
                             ("algorithm", "SAMME.X", "algorithm")):
        bad = pickle.loads(pickle.dumps(est))
        setattr(bad, attr, value)
        src = tmp_path / "bad.pkl"
        with open(src, "wb") as f:
            pickle.dump(bad, f)
        r = convert(src, tmp_path / "bad.trove")
        assert r.returncode != 0 and why in r.stderr, (attr, r.stderr)


# ---- feature selection (a column_transformer passing the kept columns) -----------------------

from sklearn.feature_selection import (RFE, RFECV, SelectKBest, VarianceThreshold,  # noqa: E402
                                       chi2, f_classif)
from sklearn.svm import SVC, SVR  # noqa: E402


def _selection_data(seed):
    X, y = _data(seed, 3, n=200, d=9)
    X[:, 2] = 1.5                      # constant: variance 0, f_classif score NaN
    X[:, 5] = X[:, 4]                  # a duplicate: tied scores
    X[:, 7] = np.round(X[:, 7]) * 0.1  # low variance
    return np.abs(X), y                # chi2 needs non-negative features


SEL_CASES = [
    ("variance", lambda: VarianceThreshold()),
    ("variance-0.05", lambda: VarianceThreshold(threshold=0.05)),
    ("kbest-f-3", lambda: SelectKBest(f_classif, k=3)),
    ("kbest-f-5-ties", lambda: SelectKBest(f_classif, k=5)),
    ("kbest-chi2-all", lambda: SelectKBest(chi2, k="all")),
    ("kbest-chi2-8", lambda: SelectKBest(chi2, k=8)),
    ("rfe", lambda: RFE(LogisticRegression(max_iter=500), n_features_to_select=4)),
    ("rfecv", lambda: RFECV(DecisionTreeClassifier(max_depth=3, random_state=0), cv=3)),
]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name,make", SEL_CASES, ids=[c[0] for c in SEL_CASES])
def test_selectors_in_a_pipeline(tmp_path, name, make, seed):
    """As a step before a classifier: trove's pipeline must see exactly sklearn's columns."""
    import warnings
    X, y = _selection_data(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # f_classif on a constant feature
        est = make_pipeline(make(), StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    meta = _check(est, X[:80], tmp_path, TOL_LDA)
    sel = meta["model"]["steps"][0]
    assert sel["kind"] == "column_transformer"
    kept = est.steps[0][1].get_support(indices=True).tolist()
    assert sel["model"]["transformers"][0]["columns"] == kept


@pytest.mark.parametrize("name,make", SEL_CASES[2:], ids=[c[0] for c in SEL_CASES[2:]])
def test_selectors_transform(tmp_path, name, make):
    import warnings
    X, y = _selection_data(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = make().fit(X, y)
    for model in _converted(est, tmp_path):
        if name.startswith("rfe"):  # on its own, RFE predicts with its estimator
            assert same_labels(labels(model, X[:50], tmp_path), est.predict(X[:50]))
        else:
            assert np.array_equal(predict(model, X[:50], tmp_path, "transform"),
                                  est.transform(X[:50]))


def test_selector_refusals(tmp_path):
    X, y = _selection_data(4)
    est = VarianceThreshold(threshold=0.0).fit(X, y)
    est.threshold = 1e9  # keeps nothing
    src = tmp_path / "none.pkl"
    joblib.dump(est, src)
    r = convert(src, tmp_path / "none.trove")
    assert r.returncode != 0 and "selects no feature" in r.stderr, r.stderr
    est = SelectKBest(chi2, k=3).fit(X, y)
    est.scores_ = est.scores_[:4]
    joblib.dump(est, src)
    r = convert(src, tmp_path / "none.trove")
    assert r.returncode != 0 and "scores_ has 4 entries" in r.stderr, r.stderr
    est = RFE(SVC(kernel="linear"), n_features_to_select=3).fit(X, y)
    est.support_ = est.support_[:-1]
    joblib.dump(est, src)
    r = convert(src, tmp_path / "none.trove")
    assert r.returncode != 0 and "support_" in r.stderr, r.stderr


# ---- bagging over trees (a forest reading each tree's feature subset) --------------------------

from sklearn.ensemble import BaggingClassifier, BaggingRegressor  # noqa: E402
from sklearn.tree import DecisionTreeRegressor  # noqa: E402

BAG_CASES = [
    ("clf-default", BaggingClassifier, dict(n_estimators=10), 3),
    ("clf-features", BaggingClassifier,
     dict(estimator=DecisionTreeClassifier(max_depth=4), n_estimators=12, max_features=0.5,
          bootstrap_features=True), 4),
    ("clf-rare-class", BaggingClassifier, dict(n_estimators=15, max_samples=0.1), 5),
    ("clf-binary-extra", BaggingClassifier,
     dict(estimator=ExtraTreeClassifier(), n_estimators=8, max_features=3), 2),
    ("reg-default", BaggingRegressor, dict(n_estimators=10), 0),
    ("reg-features", BaggingRegressor,
     dict(estimator=DecisionTreeRegressor(max_depth=5), n_estimators=9, max_features=0.6), 0),
]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name,cls,kw,k", BAG_CASES, ids=[c[0] for c in BAG_CASES])
def test_bagging_matches_sklearn(tmp_path, name, cls, kw, k, seed):
    if k:
        X, y = _data(seed, k, text=seed == 1)
        if name == "clf-rare-class":  # a class so rare that some bags never see it
            y = np.asarray(y, dtype=object)
            y[:3] = "rare"
            y = y.astype(str)
    else:
        X, _ = _data(seed, 3)
        y = X[:, 0] * 2.0 - np.sin(X[:, 1]) + 0.1 * X[:, 2] ** 2
    est = cls(random_state=seed, **kw).fit(X, y)
    if name == "clf-rare-class":
        # trees are fitted with bootstrap counts as weights, so they know every class; a base
        # estimator fitted on rows without the rare class (as bagging does for estimators
        # without sample weights) knows fewer: sklearn maps its columns through its classes_
        feats = est.estimators_features_[0]
        codes = np.searchsorted(est.classes_, y)
        rows = codes != list(est.classes_).index("rare")
        est.estimators_[0] = DecisionTreeClassifier(random_state=0).fit(X[rows][:, feats],
                                                                         codes[rows])
        assert len(est.estimators_[0].classes_) < len(est.classes_)
    rng = np.random.RandomState(90 + seed)
    Xt = np.r_[X[:80], rng.normal(scale=3.0, size=(20, X.shape[1]))]
    for model in _converted(est, tmp_path):
        if k:
            assert same_labels(labels(model, Xt, tmp_path), est.predict(Xt)), model.name
            assert_close(predict(model, Xt, tmp_path, "proba"), est.predict_proba(Xt), 1e-12)
        else:
            assert_close(predict(model, Xt, tmp_path), est.predict(Xt), 1e-12)


def test_bagging_refusals(tmp_path):
    X, y = _data(9, 3)
    for i, (est, why) in enumerate([
            (BaggingClassifier(LogisticRegression(), n_estimators=3).fit(X, y),
             "only decision trees"),
            (BaggingRegressor(SVR(), n_estimators=3).fit(X, X[:, 0]), "only decision trees")]):
        src = tmp_path / ("b%d.pkl" % i)
        joblib.dump(est, src)
        r = convert(src, tmp_path / "b.trove")
        assert r.returncode != 0 and why in r.stderr, r.stderr
    est = BaggingClassifier(n_estimators=3, max_features=2).fit(X, y)
    est.estimators_features_[1] = np.array([0, 99])
    src = tmp_path / "bad.pkl"
    joblib.dump(est, src)
    r = convert(src, tmp_path / "b.trove")
    assert r.returncode != 0 and "column 99" in r.stderr, r.stderr


# ---- OrdinalEncoder (one label_encoder per column) --------------------------------------------

from sklearn.compose import make_column_transformer  # noqa: E402
from sklearn.preprocessing import OrdinalEncoder  # noqa: E402


def test_ordinal_encoder_numbers(tmp_path):
    rng = np.random.RandomState(11)
    X = np.c_[rng.randint(0, 5, 100), rng.choice([-2.5, 0.0, 7.25], 100),
              rng.randint(10, 13, 100)].astype(np.float64)
    est = OrdinalEncoder().fit(X)
    for model in _converted(est, tmp_path):
        assert np.array_equal(predict(model, X, tmp_path, "transform"), est.transform(X))
        bad = X[:4].copy()
        bad[3, 1] = 1.0  # unknown: sklearn raises, trove refuses naming the row
        with pytest.raises(ValueError):
            est.transform(bad)
        xin = tmp_path / "bad.npy"
        np.save(xin, bad)
        from convert_helpers import run
        r = run("predict", model, xin)
        assert r.returncode != 0 and "row 3" in r.stderr, r.stderr


def test_ordinal_encoder_text_in_a_pipeline(tmp_path):
    rng = np.random.RandomState(12)
    n = 150
    colour = rng.choice(["red", "green", "blue"], n)
    size = rng.choice(["S", "M", "L", "XL"], n)
    num = rng.normal(size=n)
    X = np.empty((n, 3), dtype=object)
    X[:, 0], X[:, 1], X[:, 2] = colour, size, num
    y = ((colour == "red") ^ (num > 0)).astype(int)
    est = make_pipeline(
        make_column_transformer((OrdinalEncoder(), [0, 1]), ("passthrough", [2])),
        DecisionTreeClassifier(max_depth=4, random_state=0)).fit(X, y)
    for model in _converted(est, tmp_path):
        assert same_labels(labels(model, X[:60], tmp_path), est.predict(X[:60]))
        assert_close(predict(model, X[:60], tmp_path, "proba"), est.predict_proba(X[:60]), 1e-12)


def test_ordinal_encoder_refusals(tmp_path):
    X = np.c_[np.arange(12) % 3, np.arange(12) % 4].astype(np.float64)
    unsorted = OrdinalEncoder().fit(X)  # sklearn refuses to fit these; a damaged file has them
    unsorted.categories_[0] = np.array([2.0, 0.0, 1.0])
    for i, (est, why) in enumerate([
            (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1).fit(X),
             "use_encoded_value"),
            (unsorted, "increasing order")]):
        src = tmp_path / ("o%d.pkl" % i)
        joblib.dump(est, src)
        r = convert(src, tmp_path / "o.trove")
        assert r.returncode != 0 and why in r.stderr, r.stderr


# ---- PolynomialFeatures (the polynomial kind) ---------------------------------------------------

from sklearn.linear_model import LinearRegression, Ridge  # noqa: E402
from sklearn.preprocessing import PolynomialFeatures  # noqa: E402

POLY_CASES = [dict(degree=2), dict(degree=3), dict(degree=2, include_bias=False),
              dict(degree=3, interaction_only=True), dict(degree=(2, 3)),
              dict(degree=(2, 4), include_bias=False, interaction_only=True), dict(degree=1),
              dict(degree=(0, 2))]


@pytest.mark.parametrize("d", [1, 3, 5])
@pytest.mark.parametrize("kw", POLY_CASES, ids=[str(sorted(k.items())) for k in POLY_CASES])
def test_polynomial_features(tmp_path, kw, d):
    rng = np.random.RandomState(d)
    X = rng.normal(scale=2.0, size=(60, d))
    X[:5] = np.round(X[:5])  # exact small integers: products must be exact too
    est = PolynomialFeatures(**kw).fit(X)
    want = est.transform(X)
    if want.shape[1] == 0:  # e.g. interactions of a single feature: nothing to compute
        joblib.dump(est, tmp_path / "empty.pkl")
        r = convert(tmp_path / "empty.pkl", tmp_path / "empty.trove")
        assert r.returncode != 0 and "no output column" in r.stderr, r.stderr
        return
    for model in _converted(est, tmp_path):
        got = predict(model, X, tmp_path, "transform")
        assert got.shape == want.shape
        # degree <= 2: the same products bit for bit; higher degrees in sklearn's order too
        assert np.array_equal(got, want), float(np.max(np.abs(got - want)))


def test_polynomial_regression_pipeline(tmp_path):
    rng = np.random.RandomState(7)
    X = rng.uniform(-3, 3, size=(120, 2))
    y = 1.5 * X[:, 0] ** 3 - X[:, 0] * X[:, 1] + 0.5 + rng.normal(scale=0.1, size=120)
    for est in (make_pipeline(PolynomialFeatures(3), LinearRegression()).fit(X, y),
                make_pipeline(StandardScaler(), PolynomialFeatures(2, include_bias=False),
                              Ridge(alpha=0.1)).fit(X, y)):
        for model in _converted(est, tmp_path):
            assert_close(predict(model, X, tmp_path), est.predict(X), 1e-12)


def test_polynomial_refusals(tmp_path):
    X = np.arange(12.0).reshape(6, 2)
    est = PolynomialFeatures(2).fit(X)
    est.n_output_features_ = 7
    src = tmp_path / "p.pkl"
    joblib.dump(est, src)
    r = convert(src, tmp_path / "p.trove")
    assert r.returncode != 0 and "n_output_features_ is 7" in r.stderr, r.stderr
    est = PolynomialFeatures(2).fit(X)
    est._max_degree = 1000
    joblib.dump(est, src)
    r = convert(src, tmp_path / "p.trove")
    assert r.returncode != 0 and "out of range" in r.stderr, r.stderr


# ---- LabelBinarizer (the onehot kind over one input) -----------------------------------------

from sklearn.preprocessing import LabelBinarizer  # noqa: E402


@pytest.mark.parametrize("labels_", [[3, 1, 2, 3, 7], [0, 1, 1, 0], ["spam", "ham", "eggs", "ham"],
                                     ["yes", "no", "no"], [1.0, 2.0, 5.0, 2.0]])
def test_label_binarizer(tmp_path, labels_):
    y = np.asarray(labels_)
    est = LabelBinarizer().fit(y)
    unseen = np.array(["unseen"] if y.dtype.kind in "US" else [99], dtype=y.dtype)
    yt = np.r_[y, y[::-1]]
    for model in _converted(est, tmp_path):
        # an unknown label alone: a row of zeros (in a batch of known ones sklearn's width
        # would follow the batch's own type of target, which a model cannot)
        for batch in (yt, unseen):
            got = predict(model, batch.reshape(-1, 1), tmp_path, "transform")
            assert np.array_equal(got, est.transform(batch)), (got, est.transform(batch))


def test_label_binarizer_refusals(tmp_path):
    for i, (est, why) in enumerate([
            (LabelBinarizer(neg_label=-1).fit([0, 1, 2]), "only 0/1"),
            (LabelBinarizer().fit([[0, 1], [1, 1]]), "multilabel"),
            (LabelBinarizer().fit([4, 4]), "at least 2")]):
        src = tmp_path / ("lb%d.pkl" % i)
        joblib.dump(est, src)
        r = convert(src, tmp_path / "lb.trove")
        assert r.returncode != 0 and why in r.stderr, r.stderr


# ---- Normalizer and Binarizer (scaler ops) ------------------------------------------------------

from sklearn.preprocessing import Binarizer, Normalizer  # noqa: E402


@pytest.mark.parametrize("est", [Normalizer(), Normalizer("l1"), Normalizer("max"), Binarizer(),
                                 Binarizer(threshold=0.75), Binarizer(threshold=-1)],
                         ids=["l2", "l1", "max", "bin0", "bin0.75", "bin-1"])
def test_row_scalers(tmp_path, est):
    rng = np.random.RandomState(13)
    X = rng.normal(size=(50, 7))
    X[3] = 0.0             # a zero row: divided by 1
    X[4, :3] = 0.75        # exactly at a threshold: not above
    X[5] = -X[5] * 1e150   # large values: squares near overflow are still finite
    est.fit(X)
    want = est.transform(X)
    for model in _converted(est, tmp_path):
        got = predict(model, X, tmp_path, "transform")
        if isinstance(est, Binarizer) or est.norm != "l2":
            assert np.array_equal(got, want)  # l1 sums pairwise like numpy; max and 0/1 exact
        else:
            assert_close(got, want, 1e-15)    # sklearn's l2 sums squares with einsum


def test_row_scaler_in_a_pipeline(tmp_path):
    X, y = _data(14, 3)
    est = make_pipeline(Normalizer(), LogisticRegression(max_iter=500)).fit(X, y)
    _check(est, X[:60], tmp_path, 1e-12)
