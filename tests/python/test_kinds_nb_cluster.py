"""The discrete naive_bayes distributions (MultinomialNB, ComplementNB, BernoulliNB,
CategoricalNB), the kmeans kind (KMeans, MiniBatchKMeans) and the decomposition kind (PCA,
IncrementalPCA, TruncatedSVD) against scikit-learn itself (docs/MODELS.md 2). Every estimator is
fitted here, at test time, by Debian's scikit-learn on several random data sets, then
  (a) pickled with joblib and with plain pickle and converted by `trove convert`,
  (b) written by trove.sklearn.dump,
and `trove predict` (the C runtime) must reproduce sklearn's predict / predict_proba / transform:
labels exactly, floats within the bounds of docs/MODELS.md 4; trove.sklearn.load must rebuild an
estimator that predicts exactly like the original. Damaged attributes are refused with a message
naming the attribute; older module paths and attribute sets convert."""
import pickle

import numpy as np
import pytest

from convert_helpers import assert_close, convert, labels, metadata, predict, run, same_labels

sklearn = pytest.importorskip("sklearn")
joblib = pytest.importorskip("joblib")

from sklearn.cluster import KMeans, MiniBatchKMeans  # noqa: E402
from sklearn.decomposition import PCA, IncrementalPCA, TruncatedSVD  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.naive_bayes import (BernoulliNB, CategoricalNB, ComplementNB, GaussianNB,  # noqa
                                 MultinomialNB)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler, StandardScaler  # noqa: E402

import trove.sklearn as tsk  # noqa: E402

# docs/MODELS.md 4: naive Bayes and kmeans distances repeat sklearn's sums (log likelihoods and
# projections bit-identical with the reference BLAS; probabilities through exp/log and distances
# through einsum's |x|^2 differ by ulps); relative to max(1, max |expected|).
TOL = {"naive_bayes": 1e-12, "kmeans": 1e-9, "decomposition": 1e-12}
OPS = {"predict": None, "predict_proba": "proba", "decision_function": "decision",
       "transform": "transform"}


def _counts(seed, n=150, d=15, k=3, text=False):
    """Word-count-like data (what MultinomialNB sees in text classifiers)."""
    rng = np.random.RandomState(seed)
    y = rng.randint(0, k, n)
    rates = rng.gamma(1.0, 1.5, size=(k, d))
    X = rng.poisson(rates[y]).astype(np.float64)
    if text:
        y = np.array(["spam", "ham", "eggs", "bacon"][:k], dtype=object)[y]
    return X, y


def _last(meta):
    while meta["kind"] == "pipeline":
        meta = meta["model"]["steps"][-1]
    return meta


def _check(est, X, tmp_path, tol, ops):
    """joblib, plain pickle (protocol 2 and the default) and trove.sklearn.dump into trove files;
    every op of ops against sklearn's own; trove.sklearn.load predicts identically."""
    files = []
    for how in ("joblib", "pickle2", "pickle"):
        pkl = tmp_path / ("m.%s" % how)
        if how == "joblib":
            joblib.dump(est, pkl)
        else:
            with open(pkl, "wb") as f:
                pickle.dump(est, f, protocol=2 if how == "pickle2" else pickle.DEFAULT_PROTOCOL)
        out = tmp_path / ("conv_%s.trove" % how)
        r = convert(pkl, out)
        assert r.returncode == 0, r.stderr
        files.append(out)
    dumped = tmp_path / "dump.trove"
    tsk.dump(est, dumped)
    files.append(dumped)
    errs = {}
    for model in files:
        last = _last(metadata(model))
        for op in ops:
            want = getattr(est, op)(X)
            if op == "predict" and last["model"].get("task") == "classification":
                assert same_labels(labels(model, X, tmp_path), np.asarray(want)), \
                    "%s: labels differ" % model.name
                continue
            if op == "predict" and last["kind"] == "kmeans":  # cluster indices: exact
                got = predict(model, X, tmp_path)[:, 0]
                assert np.array_equal(got, np.asarray(want, dtype=np.float64)), \
                    "%s: clusters differ" % model.name
                continue
            errs[op] = max(errs.get(op, 0.0),
                           assert_close(predict(model, X, tmp_path, OPS[op]), want, tol))
    back = tsk.load(dumped)
    for op in ops:
        assert np.array_equal(np.asarray(getattr(back, op)(X)), np.asarray(getattr(est, op)(X))), op
    if type(est).__name__ != "Pipeline":  # a converted file loads back into sklearn as well
        back_conv = tsk.load(files[0])
        for op in ops:
            assert np.array_equal(np.asarray(getattr(back_conv, op)(X)),
                                  np.asarray(getattr(est, op)(X))), op
    print("max errors", type(est).__name__, errs)
    return errs


# ---- naive Bayes: multinomial, complement, Bernoulli -------------------------------------------

NB_CASES = [
    ("multinomial", lambda: MultinomialNB(), {}),
    ("multinomial-alpha", lambda: MultinomialNB(alpha=0.01), {"k": 4}),
    ("multinomial-no-prior", lambda: MultinomialNB(fit_prior=False), {"k": 2}),
    ("multinomial-class-prior", lambda: MultinomialNB(class_prior=[0.7, 0.2, 0.1]), {}),
    ("multinomial-text-labels", lambda: MultinomialNB(), {"text": True}),
    ("complement", lambda: ComplementNB(), {}),
    ("complement-norm", lambda: ComplementNB(norm=True), {"k": 4}),
    ("complement-binary", lambda: ComplementNB(alpha=0.5), {"k": 2, "text": True}),
    ("bernoulli", lambda: BernoulliNB(), {}),
    ("bernoulli-threshold", lambda: BernoulliNB(binarize=1.5), {"k": 4}),
    ("bernoulli-none", lambda: BernoulliNB(binarize=None), {"binary": True}),
    ("bernoulli-binary", lambda: BernoulliNB(alpha=0.2), {"k": 2, "text": True}),
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name,make,kw", NB_CASES, ids=[c[0] for c in NB_CASES])
def test_discrete_nb_matches_sklearn(tmp_path, name, make, kw, seed):
    kw = dict(kw)
    binary = kw.pop("binary", False)
    X, y = _counts(seed, **kw)
    if binary:
        X = (X > 1).astype(np.float64)
    est = make().fit(X, y)
    # test rows: fresh counts, fractional values (binarize thresholds) and far-out rows where
    # probabilities saturate and the log-sum-exp normalisation matters
    rng = np.random.RandomState(100 + seed)
    Xt = np.r_[X[:40], rng.poisson(2.0, size=(20, X.shape[1])) * 1.0,
               rng.uniform(0, 3, size=(10, X.shape[1])), X[:5] * 40.0]
    if binary:
        Xt = (Xt > 1).astype(np.float64)
    _check(est, Xt, tmp_path, TOL["naive_bayes"], ("predict", "predict_proba"))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kw", [{}, {"alpha": 0.3, "fit_prior": False},
                                {"min_categories": [5, 3, 6, 2]}, {"text": True}],
                         ids=["default", "alpha-noprior", "min-categories", "text-labels"])
def test_categorical_nb_matches_sklearn(tmp_path, seed, kw):
    kw = dict(kw)
    text = kw.pop("text", False)
    rng = np.random.RandomState(seed)
    n = 120
    y = rng.randint(0, 3, n)
    X = np.c_[rng.randint(0, 4, n), (y + rng.randint(0, 2, n)) % 3, rng.randint(0, 5, n),
              (y == 1).astype(int)].astype(np.float64)
    if text:
        y = np.array(["low", "mid", "high"], dtype=object)[y]
    est = CategoricalNB(**kw).fit(X, y)
    # codes as floats, fractional ones included: sklearn truncates them toward zero
    Xt = np.r_[X[:50], X[:10] + 0.75, np.c_[X[:5, :3], np.full(5, -0.5)]]
    Xt = np.minimum(Xt, np.asarray(est.n_categories_) - 1)
    _check(est, Xt, tmp_path, TOL["naive_bayes"], ("predict", "predict_proba"))
    # a code past the table: sklearn raises (IndexError), trove refuses naming row and column
    bad = Xt[:3].copy()
    bad[2, 1] = est.n_categories_[1]
    for model in (tmp_path / "conv_joblib.trove", tmp_path / "dump.trove"):
        xin = tmp_path / "bad.npy"
        np.save(xin, bad)
        r = run("predict", model, xin)
        assert r.returncode != 0 and "row 2, column 1" in r.stderr, r.stderr
    with pytest.raises(IndexError):
        est.predict(bad)


def test_nb_in_pipelines(tmp_path):
    X, y = _counts(4, d=10)
    for est in (make_pipeline(MinMaxScaler(), MultinomialNB()).fit(X, y),
                make_pipeline(StandardScaler(), BernoulliNB(binarize=0.25)).fit(X, y),
                make_pipeline(MinMaxScaler(), ComplementNB(norm=True)).fit(X, y),
                make_pipeline(StandardScaler(), PCA(4), GaussianNB()).fit(X, y)):
        _check(est, X[:60], tmp_path, TOL["naive_bayes"], ("predict", "predict_proba"))


# ---- k-means ----------------------------------------------------------------------------------

def _blobs(seed, n=240, d=5, k=4):
    rng = np.random.RandomState(seed)
    centres = rng.normal(scale=4.0, size=(k, d))
    return centres[rng.randint(0, k, n)] + rng.normal(size=(n, d))


KM_CASES = [
    ("kmeans-4", lambda: KMeans(n_clusters=4, n_init=4, random_state=0), {}),
    ("kmeans-1", lambda: KMeans(n_clusters=1, n_init=1, random_state=0), {}),
    ("kmeans-elkan-7", lambda: KMeans(n_clusters=7, n_init=2, algorithm="elkan",
                                      random_state=1), {"d": 9}),
    ("minibatch-5", lambda: MiniBatchKMeans(n_clusters=5, n_init=3, batch_size=64,
                                            random_state=0), {}),
    ("minibatch-2", lambda: MiniBatchKMeans(n_clusters=2, n_init=3, random_state=2), {"d": 2}),
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name,make,kw", KM_CASES, ids=[c[0] for c in KM_CASES])
def test_kmeans_matches_sklearn(tmp_path, name, make, kw, seed):
    X = _blobs(seed, **kw)
    est = make().fit(X)
    rng = np.random.RandomState(50 + seed)
    Xt = np.r_[X[:60], rng.normal(scale=6.0, size=(40, X.shape[1]))]
    _check(est, Xt, tmp_path, TOL["kmeans"], ("predict", "transform"))


def test_kmeans_ties_go_to_the_first_centre(tmp_path):
    """A point at the same distance from two centres (exactly, in floating point) belongs to
    the lower-numbered one, as sklearn's strict < decides."""
    X = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 0.1], [2.0, 0.1]])
    est = KMeans(n_clusters=2, n_init=1, random_state=0).fit(X)
    Xt = np.array([[1.0, 0.05], [1.0, 7.0], [1.0, -3.0], [0.0, 0.0]])
    assert est.predict(Xt)[0] == 0 or est.predict(Xt)[0] == est.predict(Xt)[1]
    _check(est, Xt, tmp_path, TOL["kmeans"], ("predict", "transform"))


def test_kmeans_in_pipelines(tmp_path):
    X = _blobs(3, d=6)
    y = (X[:, 0] > 0).astype(int)
    for est, ops in ((make_pipeline(StandardScaler(), KMeans(3, n_init=3, random_state=0))
                      .fit(X), ("predict", "transform")),
                     (make_pipeline(PCA(3), KMeans(4, n_init=3, random_state=0)).fit(X),
                      ("predict", "transform")),
                     (make_pipeline(StandardScaler(), KMeans(5, n_init=3, random_state=0),
                                    LogisticRegression()).fit(X, y),
                      ("predict", "predict_proba"))):
        _check(est, X[:80], tmp_path, TOL["kmeans"], ops)


# ---- PCA and friends --------------------------------------------------------------------------

DEC_CASES = [
    ("pca-3", lambda: PCA(n_components=3)),
    ("pca-whiten", lambda: PCA(n_components=4, whiten=True)),
    ("pca-var-0.9", lambda: PCA(n_components=0.9, svd_solver="full")),
    ("pca-randomized", lambda: PCA(n_components=2, svd_solver="randomized", random_state=0)),
    ("pca-all", lambda: PCA()),
    ("incremental", lambda: IncrementalPCA(n_components=3, batch_size=50)),
    ("incremental-whiten", lambda: IncrementalPCA(n_components=2, whiten=True)),
    ("truncated-svd", lambda: TruncatedSVD(n_components=3, random_state=0)),
    ("truncated-svd-arpack", lambda: TruncatedSVD(n_components=2, algorithm="arpack")),
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name,make", DEC_CASES, ids=[c[0] for c in DEC_CASES])
def test_decomposition_matches_sklearn(tmp_path, name, make, seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(120, 7)) @ rng.normal(size=(7, 7)) + rng.normal(size=7) * 3
    est = make().fit(X)
    Xt = np.r_[X[:50], rng.normal(scale=5.0, size=(30, 7))]
    _check(est, Xt, tmp_path, TOL["decomposition"], ("transform",))


def test_decomposition_in_pipelines(tmp_path):
    rng = np.random.RandomState(7)
    X = rng.normal(size=(150, 8))
    y = (X[:, 0] + X[:, 3] > 0).astype(int)
    for est in (make_pipeline(StandardScaler(), PCA(n_components=5, whiten=True),
                              LogisticRegression()).fit(X, y),
                make_pipeline(TruncatedSVD(4, random_state=0), LogisticRegression()).fit(X, y),
                make_pipeline(MinMaxScaler(), IncrementalPCA(3), GaussianNB()).fit(X, y)):
        _check(est, X[:70], tmp_path, TOL["decomposition"], ("predict", "predict_proba"))
    est = make_pipeline(StandardScaler(), PCA(3)).fit(X)
    _check(est, X[:70], tmp_path, TOL["decomposition"], ("transform",))


# ---- older scikit-learn: other module paths, fewer attributes -----------------------------------

def _old_pickle(est, path, module_from, module_to, drop=()):
    """Protocol 2 pickle of est as an older sklearn wrote it: the class under an old module path
    (GLOBAL opcodes are newline-terminated text) and without attributes added later."""
    import copy
    old = copy.deepcopy(est)
    for k in drop:
        old.__dict__.pop(k, None)
    data = pickle.dumps(old, protocol=2)
    a = ("c%s\n" % module_from).encode()
    assert a in data, "module %s not in the pickle" % module_from
    with open(path, "wb") as f:
        f.write(data.replace(a, ("c%s\n" % module_to).encode()))


@pytest.mark.parametrize("make,mod_from,mod_to,drop,ops", [
    (lambda X, y: MultinomialNB().fit(X, y), "sklearn.naive_bayes", "sklearn.naive_bayes",
     ("n_features_in_", "feature_names_in_"), ("predict", "predict_proba")),
    (lambda X, y: BernoulliNB(binarize=0.5).fit(X, y), "sklearn.naive_bayes",
     "sklearn.naive_bayes", ("n_features_in_",), ("predict", "predict_proba")),
    (lambda X, y: KMeans(3, n_init=2, random_state=0).fit(X), "sklearn.cluster._kmeans",
     "sklearn.cluster.k_means_", ("n_features_in_", "_n_threads", "_algorithm"),
     ("predict", "transform")),
    (lambda X, y: PCA(3, whiten=True).fit(X), "sklearn.decomposition._pca",
     "sklearn.decomposition.pca", ("n_features_in_", "n_components_"), ("transform",)),
], ids=["multinomial-0.23", "bernoulli-0.23", "kmeans-0.21", "pca-0.21"])
def test_old_versions_convert(tmp_path, make, mod_from, mod_to, drop, ops):
    X, y = _counts(5)
    est = make(X, y)
    pkl = tmp_path / "old.pkl"
    _old_pickle(est, pkl, mod_from, mod_to, drop)
    out = tmp_path / "old.trove"
    r = convert(pkl, out)
    assert r.returncode == 0, r.stderr
    for op in ops:
        want = getattr(est, op)(X)
        if op == "predict":
            assert np.array_equal(predict(out, X, tmp_path)[:, 0], np.asarray(want, np.float64))
        else:
            assert_close(predict(out, X, tmp_path, OPS[op]), want, 1e-9)


def _old_pca(est, path, components, cls="PCA"):
    """est as sklearn < 0.18 pickled a whitening PCA (no _sklearn_version, no
    n_features_in_), with the given components_, under sklearn.decomposition.pca.<cls>."""
    import copy
    old = copy.deepcopy(est)
    for k in ("_sklearn_version", "n_features_in_", "n_components_", "n_samples_"):
        old.__dict__.pop(k, None)
    old.__dict__["components_"] = components
    data = pickle.dumps(old, protocol=2)
    a = b"csklearn.decomposition._pca\nPCA\n"
    assert a in data and b"_sklearn_version" in data
    # BaseEstimator.__getstate__ always adds _sklearn_version: rename the key (same length)
    data = data.replace(b"_sklearn_version", b"_sklearn_versiox")
    with open(path, "wb") as f:
        f.write(data.replace(a, ("csklearn.decomposition.pca\n%s\n" % cls).encode()))


@pytest.mark.parametrize("form", ["0.15-prewhitened", "0.17-unit-rows", "randomized-0.17",
                                  "neither"])
def test_old_whitening_pca(tmp_path, form):
    """Up to 0.15 a whitening PCA stored components_ / sqrt(explained_variance_) and did not
    divide in transform; 0.16-0.17 store unit rows and divide; RandomizedPCA (< 0.20) always
    stored whitened components. The three transform X alike; a file fitting neither form is
    refused."""
    rng = np.random.RandomState(9)
    X = rng.normal(size=(100, 5)) @ rng.normal(size=(5, 5))
    est = PCA(n_components=3, whiten=True).fit(X)
    white = est.components_ / np.sqrt(est.explained_variance_)[:, np.newaxis]
    comps = {"0.15-prewhitened": white, "0.17-unit-rows": est.components_,
             "randomized-0.17": white, "neither": est.components_ * 1.5}[form]
    pkl = tmp_path / "old.pkl"
    _old_pca(est, pkl, comps, "RandomizedPCA" if form.startswith("randomized") else "PCA")
    out = tmp_path / "old.trove"
    r = convert(pkl, out)
    if form == "neither":
        assert r.returncode == 1 and "whiten" in r.stderr and "0.18" in r.stderr, r.stderr
        return
    assert r.returncode == 0, r.stderr
    assert_close(predict(out, X, tmp_path, "transform"), est.transform(X), 1e-9)
    assert metadata(out)["model"].get("whiten", False) == (form == "0.17-unit-rows")


# ---- damaged attributes: refused, naming the attribute and why ----------------------------------

def _damaged(est, **attrs):
    import copy
    bad = copy.deepcopy(est)
    for k, v in attrs.items():
        if v is _DEL:
            bad.__dict__.pop(k, None)
        else:
            bad.__dict__[k] = v
    return bad


_DEL = object()


def _hostile_cases():
    X, y = _counts(6, k=3, d=4)
    mnb = MultinomialNB().fit(X, y)
    bnb = BernoulliNB().fit(X, y)
    cnb = ComplementNB().fit(X, y)
    km = KMeans(2, n_init=1, random_state=0).fit(X)
    pca = PCA(2, whiten=True).fit(X)
    flp_nan = mnb.feature_log_prob_.copy()
    flp_nan[1, 2] = np.nan
    flp_pos = bnb.feature_log_prob_.copy()
    flp_pos[0, 0] = 0.0
    cat = CategoricalNB().fit(np.minimum(X, 3), y)
    cat_nan = [a.copy() for a in cat.feature_log_prob_]
    cat_nan[2][1, 0] = np.nan
    cc_nan = km.cluster_centers_.copy()
    cc_nan[1, 3] = np.inf
    return [
        ("nb-flp-nan", _damaged(mnb, feature_log_prob_=flp_nan), "feature_log_prob_[1][2]"),
        ("nb-flp-shape", _damaged(mnb, feature_log_prob_=mnb.feature_log_prob_[:2]),
         "feature_log_prob_"),
        ("nb-flp-1d", _damaged(mnb, feature_log_prob_=mnb.feature_log_prob_[0]),
         "feature_log_prob_"),
        ("nb-flp-missing", _damaged(mnb, feature_log_prob_=_DEL), "feature_log_prob_"),
        ("nb-flp-text", _damaged(cnb, feature_log_prob_=np.array([["a"] * 4] * 3)),
         "feature_log_prob_"),
        ("nb-prior-length", _damaged(mnb, class_log_prior_=mnb.class_log_prior_[:2]),
         "class_log_prior_"),
        ("nb-prior-inf", _damaged(mnb, class_log_prior_=np.array([-np.inf, -1.0, -1.0])),
         "class_log_prior_[0]"),
        ("nb-columns", _damaged(mnb, n_features_in_=7), "columns"),
        ("bnb-flp-zero", _damaged(bnb, feature_log_prob_=flp_pos), "Bernoulli"),
        ("bnb-binarize-text", _damaged(bnb, binarize="yes"), "binarize"),
        ("bnb-binarize-missing", _damaged(bnb, binarize=_DEL), "binarize"),
        ("nb-one-class", MultinomialNB().fit(X, np.zeros(len(X), dtype=int)), "1 class"),
        ("cat-flp-nan", _damaged(cat, feature_log_prob_=cat_nan), "feature_log_prob_[2][1][0]"),
        ("cat-flp-shape", _damaged(cat, feature_log_prob_=cat.feature_log_prob_[:3]),
         "tables"),
        ("cat-flp-not-list", _damaged(cat, feature_log_prob_=cat.feature_log_prob_[0]),
         "list"),
        ("cat-ncat", _damaged(cat, n_categories_=cat.n_categories_ + 1), "n_categories_[0]"),
        ("cat-table-rows", _damaged(cat, feature_log_prob_=[a[:2] for a in
                                                             cat.feature_log_prob_]),
         "feature_log_prob_[0]"),
        ("km-centres-inf", _damaged(km, cluster_centers_=cc_nan), "cluster_centers_[1][3]"),
        ("km-centres-1d", _damaged(km, cluster_centers_=km.cluster_centers_[0]),
         "cluster_centers_"),
        ("km-n-clusters", _damaged(km, n_clusters=5), "n_clusters"),
        ("km-missing", _damaged(km, cluster_centers_=_DEL), "cluster_centers_"),
        ("pca-mean-length", _damaged(pca, mean_=pca.mean_[:3]), "mean_"),
        ("pca-components-columns", _damaged(pca, components_=pca.components_[:, :3]),
         "components_"),
        ("pca-whiten-zero", _damaged(pca, explained_variance_=np.array([1.0, 0.0])),
         "explained_variance_[1]"),
        ("pca-whiten-length", _damaged(pca, explained_variance_=np.array([1.0])),
         "explained_variance_"),
        ("pca-components-nan", _damaged(pca, components_=np.full((2, 4), np.nan)),
         "components_[0][0]"),
    ]


@pytest.mark.parametrize("case", range(26), ids=lambda i: "case%d" % i)
def test_damaged_attributes_refused(tmp_path, case):
    cases = _hostile_cases()
    assert len(cases) == 26
    name, est, needle = cases[case]
    pkl = tmp_path / "bad.pkl"
    with open(pkl, "wb") as f:
        pickle.dump(est, f)
    r = convert(pkl, tmp_path / "bad.trove")
    assert r.returncode == 1, (name, r.stdout, r.stderr)
    assert needle in r.stderr and type(est).__name__ in r.stderr, (name, r.stderr)
    assert not (tmp_path / "bad.trove").exists()


def test_dump_refuses_damaged(tmp_path):
    X, y = _counts(8, k=2, d=3)
    mnb = MultinomialNB().fit(X, y)
    mnb.feature_log_prob_ = mnb.feature_log_prob_.copy()
    mnb.feature_log_prob_[0, 0] = np.nan
    with pytest.raises(TypeError, match="feature_log_prob_"):
        tsk.dump(mnb, tmp_path / "x.trove")
    pca = PCA(2, whiten=True).fit(X)
    pca.explained_variance_ = np.array([1.0, 0.0])
    with pytest.raises(TypeError, match="whiten"):
        tsk.dump(pca, tmp_path / "y.trove")


# ---- hostile trove files (bind-time validation, seen from the CLI) -----------------------------

def _write(path, kind, m, t):
    from trove import core
    core.dump(t, str(path), meta={"kind": kind, "kind_version": 1, "model": m}, created=False)


NB = {"n_features": 2, "task": "classification", "classes": [0, 1]}
FILE_HOSTILE = [
    ("nb-dist", "naive_bayes", dict(NB, distribution="poisson"),
     {"feature_log_prob": -np.ones((2, 2)), "class_log_prior": -np.ones(2)}, "distribution"),
    ("nb-flp-shape", "naive_bayes", dict(NB, distribution="multinomial"),
     {"feature_log_prob": -np.ones((3, 2)), "class_log_prior": -np.ones(2)}, "feature_log_prob"),
    ("nb-prior-positive", "naive_bayes", dict(NB, distribution="multinomial"),
     {"feature_log_prob": -np.ones((2, 2)), "class_log_prior": np.array([0.5, -1])},
     "class_log_prior"),
    ("nb-no-prior", "naive_bayes", dict(NB, distribution="bernoulli"),
     {"feature_log_prob": -np.ones((2, 2))}, "class_log_prior"),
    ("nb-bernoulli-zero", "naive_bayes", dict(NB, distribution="bernoulli"),
     {"feature_log_prob": np.array([[-1.0, 0.0], [-1, -1]]), "class_log_prior": -np.ones(2)},
     "< 0"),
    ("nb-binarize-text", "naive_bayes", dict(NB, distribution="bernoulli", binarize="x"),
     {"feature_log_prob": -np.ones((2, 2)), "class_log_prior": -np.ones(2)}, "binarize"),
    ("nb-binarize-multinomial", "naive_bayes", dict(NB, distribution="multinomial", binarize=0),
     {"feature_log_prob": -np.ones((2, 2)), "class_log_prior": -np.ones(2)}, "binarize"),
    ("nb-flp-nan", "naive_bayes", dict(NB, distribution="complement"),
     {"feature_log_prob": np.array([[1.0, np.nan], [1, 1]])}, "not finite"),
    ("cat-offsets", "naive_bayes", dict(NB, distribution="categorical"),
     {"category_log_prob": -np.ones((2, 3)), "offsets": np.array([0, 3, 3], dtype=np.int64),
      "class_log_prior": -np.ones(2)}, "offsets"),
    ("cat-width", "naive_bayes", dict(NB, distribution="categorical"),
     {"category_log_prob": -np.ones((2, 3)), "offsets": np.array([0, 1, 4], dtype=np.int64),
      "class_log_prior": -np.ones(2)}, "category_log_prob"),
    ("cat-positive", "naive_bayes", dict(NB, distribution="categorical"),
     {"category_log_prob": np.array([[-1.0, 0.5, -1], [-1, -1, -1]]),
      "offsets": np.array([0, 1, 3], dtype=np.int64), "class_log_prior": -np.ones(2)}, "<= 0"),
    ("km-cols", "kmeans", {"n_features": 2}, {"centers": np.zeros((3, 3))}, "centers"),
    ("km-nclusters", "kmeans", {"n_features": 2, "n_clusters": 4}, {"centers": np.zeros((3, 2))},
     "n_clusters"),
    ("km-inf", "kmeans", {"n_features": 2}, {"centers": np.array([[0, np.inf]])}, "not finite"),
    ("km-overflow", "kmeans", {"n_features": 2}, {"centers": np.array([[1e200, 1e200]])},
     "overflows"),
    ("km-missing", "kmeans", {"n_features": 2}, {"x": np.zeros(1)}, "centers"),
    ("dec-cols", "decomposition", {"n_features": 2}, {"components": np.ones((2, 3))},
     "components"),
    ("dec-mean", "decomposition", {"n_features": 2},
     {"components": np.ones((1, 2)), "mean": np.zeros(3)}, "mean"),
    ("dec-whiten-missing", "decomposition", {"n_features": 2, "whiten": True},
     {"components": np.ones((1, 2))}, "explained_variance"),
    ("dec-whiten-zero", "decomposition", {"n_features": 2, "whiten": True},
     {"components": np.ones((2, 2)), "explained_variance": np.array([1.0, 0.0])}, "> 0"),
    ("dec-whiten-type", "decomposition", {"n_features": 2, "whiten": "yes"},
     {"components": np.ones((2, 2))}, "whiten"),
    ("dec-int", "decomposition", {"n_features": 2},
     {"components": np.ones((2, 2), dtype=np.int64)}, "dtype"),
]


@pytest.mark.parametrize("name,kind,m,t,needle", FILE_HOSTILE, ids=[h[0] for h in FILE_HOSTILE])
def test_hostile_files_refused(tmp_path, name, kind, m, t, needle):
    p = tmp_path / "h.trove"
    _write(p, kind, m, t)
    xin = tmp_path / "x.npy"
    np.save(xin, np.zeros((2, m["n_features"])))
    r = run("predict", p, xin, *([] if kind == "naive_bayes" else ["--transform"]))
    assert r.returncode == 1 and needle in r.stderr and "model" in r.stderr, r.stderr


def test_kmeans_ops_available(tmp_path):
    """kmeans: predict (cluster index) and transform (distances); no probabilities."""
    p = tmp_path / "k.trove"
    _write(p, "kmeans", {"n_features": 2}, {"centers": np.array([[0.0, 0.0], [3.0, 4.0]])})
    X = np.array([[0.0, 0.0], [3.0, 4.0], [1.5, 2.0], [10.0, 0.0]])
    got = predict(p, X, tmp_path)[:, 0]
    assert np.array_equal(got, [0, 1, 0, 1])  # [1.5, 2]: a tie, the first centre
    d = predict(p, X, tmp_path, "transform")
    assert np.array_equal(d[:2], [[0, 5], [5, 0]])
    xin = tmp_path / "x.npy"
    np.save(xin, X)
    r = run("predict", p, xin, "--proba")
    assert r.returncode != 0 and "--proba" in r.stderr, r.stderr


def test_text_pipeline_refused_with_reason(tmp_path):
    """The usual text classifier, TfidfVectorizer + MultinomialNB: the vectorizer tokenises raw
    text, which no kind does; the refusal names the step and the reason."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    docs = ["free money now", "hello friend", "win money fast", "lunch at noon"]
    pipe = make_pipeline(TfidfVectorizer(), MultinomialNB()).fit(docs, [1, 0, 1, 0])
    pkl = tmp_path / "text.pkl"
    joblib.dump(pipe, pkl)
    r = convert(pkl, tmp_path / "text.trove")
    assert r.returncode == 1 and "tfidfvectorizer" in r.stderr and "text vectorizer" in r.stderr, \
        r.stderr
    assert not (tmp_path / "text.trove").exists()
    with pytest.raises(TypeError, match="TfidfVectorizer"):
        tsk.dump(pipe, tmp_path / "text2.trove")
