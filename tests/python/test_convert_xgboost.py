"""`trove convert` on XGBoost models trained and saved here, at test time, with Debian's xgboost
(Booster.save_model as JSON and as UBJSON): `trove predict` must reproduce xgboost's own
predict / predict_proba / output_margin. XGBoost sums leaf values in float32 and trove in float64,
so values agree to float32 precision (docs/CODECS.md): margins within 2e-5 x max(1, |margin|),
probabilities within 2e-6; labels are identical except where xgboost's float32 margin is within
float32 rounding of the decision boundary (counted, and required to be none here)."""
import json
import os

import numpy as np
import pytest

from convert_helpers import convert, metadata, predict, run

xgb = pytest.importorskip("xgboost")

MARGIN_RTOL = 2e-5
PROBA_ATOL = 2e-6


def _data(kind, nan, seed=0, n=300, nf=6):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, nf)
    if kind == "binary":
        y = (X[:, 0] + 0.5 * X[:, 1] - X[:, 2] * X[:, 3] > 0).astype(int)
    elif kind == "multi":
        y = (np.digitize(X[:, 0] + X[:, 1], [-0.8, 0.0, 0.8])).astype(int)  # 4 classes
    elif kind == "positive":
        y = np.exp(0.3 * X[:, 0] + 0.2 * X[:, 1]) + 0.01
    elif kind == "counts":
        y = rng.poisson(np.exp(0.5 * X[:, 0])).astype(float)
    elif kind == "unit":
        y = 1.0 / (1.0 + np.exp(-X[:, 0] - X[:, 1]))
    else:
        y = X[:, 0] * 2 + np.sin(X[:, 1] * 3) + 0.1 * rng.randn(n)
    if nan:
        X[rng.rand(*X.shape) < 0.15] = np.nan  # NaN in training: default_left matters
    return X, y


def _test_rows(X, seed=1):
    """Training rows, fresh rows with NaN in other places, and all-NaN rows."""
    rng = np.random.RandomState(seed)
    T = rng.randn(200, X.shape[1]) * 1.5
    T[rng.rand(*T.shape) < 0.2] = np.nan
    return np.vstack([X[:100], T, np.full((3, X.shape[1]), np.nan)])


def _save(model, tmp_path, name, fmt):
    path = tmp_path / ("%s.%s" % (name, fmt))
    model.save_model(str(path))
    return path


def _convert(path, tmp_path):
    out = tmp_path / (path.name + ".trove")
    r = convert(path, out)
    assert r.returncode == 0, r.stderr
    return str(out)


def _margin(model, X):
    return np.asarray(model.predict(X, output_margin=True), dtype=np.float64).reshape(len(X), -1)


def _check_margin(got, want):
    got = np.asarray(got, dtype=np.float64).reshape(want.shape)
    err = np.abs(got - want) / np.maximum(1.0, np.abs(want))
    assert float(err.max()) <= MARGIN_RTOL, "margin: max rel err %.3g" % float(err.max())
    return float(np.abs(got - want).max())


def _ambiguous(margin_rows):
    """Rows whose xgboost decision sits within float32 rounding of a tie (label may differ)."""
    m = np.asarray(margin_rows, dtype=np.float64)
    if m.shape[1] == 1:
        return np.abs(m[:, 0]) < 1e-5
    s = np.sort(m, axis=1)
    return (s[:, -1] - s[:, -2]) < 1e-5


CLASSIFIERS = [
    ("binary", "binary", dict(objective="binary:logistic")),
    ("binary_logitraw", "binary", dict(objective="binary:logitraw", base_score=0.3)),
    ("softprob", "multi", dict(objective="multi:softprob")),
    ("softmax", "multi", dict(objective="multi:softmax")),
    ("binary_dart", "binary", dict(booster="dart", rate_drop=0.3, skip_drop=0.0,
                                   one_drop=True)),
    ("softprob_dart", "multi", dict(booster="dart", rate_drop=0.2, one_drop=True)),
    ("binary_lossguide", "binary", dict(tree_method="hist", grow_policy="lossguide",
                                        max_leaves=12, max_depth=0)),
    ("binary_exact", "binary", dict(tree_method="exact", gamma=2.0)),  # pruned: deleted nodes
    ("binary_rf", "binary", dict(num_parallel_tree=3, subsample=0.8, colsample_bynode=0.7)),
]


@pytest.mark.parametrize("fmt", ["json", "ubj"])
@pytest.mark.parametrize("nan", [False, True], ids=["dense", "nan"])
@pytest.mark.parametrize("name,kind,params", CLASSIFIERS, ids=[c[0] for c in CLASSIFIERS])
def test_classifier(tmp_path, name, kind, params, nan, fmt):
    X, y = _data(kind, nan)
    p = dict(n_estimators=15, max_depth=4, learning_rate=0.3, random_state=0)
    p.update(params)
    model = xgb.XGBClassifier(**p).fit(X, y)
    out = _convert(_save(model, tmp_path, name, fmt), tmp_path)
    meta = metadata(out)
    assert meta["kind"] == "tree_ensemble"
    assert meta["producer"]["name"] == "xgboost"
    K = len(np.unique(y))
    assert meta["model"]["classes"] == list(range(K))
    T = _test_rows(X)
    want_m = _margin(model, T)
    _check_margin(predict(out, T, tmp_path, "decision"), want_m)
    if params.get("objective") != "binary:logitraw":
        pr = predict(out, T, tmp_path, "proba")
        want_p = model.predict_proba(T).astype(np.float64)
        assert pr.shape == want_p.shape
        err = float(np.abs(pr - want_p).max())
        assert err <= PROBA_ATOL, "proba: max abs err %.3g" % err
    lab = predict(out, T, tmp_path)[:, 0]
    want_l = np.asarray(model.predict(T), dtype=np.float64).reshape(-1)
    if params.get("objective") == "binary:logitraw":
        # XGBClassifier thresholds the raw margin at 0.5 as if it were a probability; the
        # classes of the margin are margin > 0, i.e. the logistic probability > 0.5
        want_l = (want_m[:, 0] > 0).astype(np.float64)
    amb = _ambiguous(want_m)
    assert np.array_equal(lab[~amb], want_l[~amb])
    assert amb.sum() == 0


REGRESSORS = [
    ("squarederror", "real", dict()),
    ("absoluteerror", "real", dict(objective="reg:absoluteerror")),
    ("pseudohuber", "real", dict(objective="reg:pseudohubererror")),
    ("logistic", "unit", dict(objective="reg:logistic")),
    ("poisson", "counts", dict(objective="count:poisson")),
    ("gamma", "positive", dict(objective="reg:gamma")),
    ("tweedie", "positive", dict(objective="reg:tweedie", tweedie_variance_power=1.3)),
    ("dart", "real", dict(booster="dart", rate_drop=0.3, one_drop=True)),
    ("base_score", "real", dict(base_score=1.75)),
    ("depth1", "real", dict(max_depth=1, n_estimators=40)),
]


@pytest.mark.parametrize("fmt", ["json", "ubj"])
@pytest.mark.parametrize("nan", [False, True], ids=["dense", "nan"])
@pytest.mark.parametrize("name,kind,params", REGRESSORS, ids=[r[0] for r in REGRESSORS])
def test_regressor(tmp_path, name, kind, params, nan, fmt):
    X, y = _data(kind, nan)
    p = dict(n_estimators=20, max_depth=4, learning_rate=0.3, random_state=0)
    p.update(params)
    model = xgb.XGBRegressor(**p).fit(X, y)
    out = _convert(_save(model, tmp_path, name, fmt), tmp_path)
    T = _test_rows(X)
    got = predict(out, T, tmp_path)[:, 0]
    want = model.predict(T).astype(np.float64)
    err = np.abs(got - want) / np.maximum(1.0, np.abs(want))
    assert float(err.max()) <= MARGIN_RTOL, "predict: max rel err %.3g" % float(err.max())


def test_multi_target_regressor(tmp_path):
    X, y = _data("real", True)
    Xf = np.nan_to_num(X)
    Y = np.c_[y, Xf[:, 2] - Xf[:, 3], Xf[:, 0]]
    model = xgb.XGBRegressor(n_estimators=10, max_depth=3, tree_method="hist").fit(X, Y)
    out = _convert(_save(model, tmp_path, "mt", "ubj"), tmp_path)
    T = _test_rows(X)
    got = predict(out, T, tmp_path)
    want = model.predict(T).astype(np.float64).reshape(len(T), -1)
    assert got.shape == want.shape == (len(T), 3)
    assert float((np.abs(got - want) / np.maximum(1, np.abs(want))).max()) <= MARGIN_RTOL


@pytest.mark.parametrize("kind,obj", [("real", "reg:squarederror"),
                                      ("binary", "binary:logistic"),
                                      ("multi", "multi:softprob")])
def test_gblinear(tmp_path, kind, obj):
    X, y = _data(kind, False)
    cls = xgb.XGBClassifier if kind != "real" else xgb.XGBRegressor
    model = cls(booster="gblinear", n_estimators=30, objective=obj).fit(X, y)
    out = _convert(_save(model, tmp_path, "lin", "json"), tmp_path)
    assert metadata(out)["kind"] == "linear"
    T = _test_rows(X)
    T = np.nan_to_num(T)  # gblinear skips missing values; the linear kind has none (CODECS.md)
    if kind == "real":
        got = predict(out, T, tmp_path)[:, 0]
        want = model.predict(T).astype(np.float64)
        assert float((np.abs(got - want) / np.maximum(1, np.abs(want))).max()) <= MARGIN_RTOL
    else:
        got = predict(out, T, tmp_path, "proba")
        assert float(np.abs(got - model.predict_proba(T)).max()) <= PROBA_ATOL


def _thresholds(model):
    """Every (feature, threshold) of the booster, from its own JSON dump."""
    out = []
    for t in model.get_booster().get_dump(dump_format="json"):
        stack = [json.loads(t)]
        while stack:
            n = stack.pop()
            if "split" in n:
                out.append((int(str(n["split"]).lstrip("f")), np.float32(n["split_condition"])))
                stack.extend(n["children"])
    return out


@pytest.mark.parametrize("fmt", ["json", "ubj"])
def test_inputs_exactly_at_thresholds(tmp_path, fmt):
    """XGBoost goes left when x < t: rows with x == t exactly (and the float32 neighbours of t)
    must take xgboost's branches, which a <= comparison on t would not."""
    X, y = _data("real", True, nf=4)
    model = xgb.XGBRegressor(n_estimators=1, max_depth=6, learning_rate=1.0,
                             random_state=0).fit(X, y)
    out = _convert(_save(model, tmp_path, "thr", fmt), tmp_path)
    th = _thresholds(model)
    assert th
    rows = {"at": [], "below": [], "above": []}
    rng = np.random.RandomState(3)
    for f, t in th:
        for key, v in (("at", t), ("below", np.nextafter(t, np.float32(-np.inf))),
                       ("above", np.nextafter(t, np.float32(np.inf)))):
            for _ in range(8):
                r = X[rng.randint(len(X))].copy()
                r[f] = float(v)
                rows[key].append(r)
    A, B = np.array(rows["at"]), np.array(rows["below"])
    xa, xb = model.predict(A), model.predict(B)
    assert np.any(xa != xb), "the rows do not sit on the thresholds"
    for key in rows:
        R = np.array(rows[key])
        got = predict(out, R, tmp_path)[:, 0]
        want = model.predict(R).astype(np.float64)
        # one tree: the value is one float32 leaf (plus base_score); a wrong branch gives
        # another leaf, far beyond this bound
        assert np.allclose(got, want, rtol=1e-6, atol=1e-6), key


def test_feature_names_and_metadata(tmp_path):
    X, y = _data("binary", False)
    d = xgb.DMatrix(X, label=y, feature_names=["a%d" % i for i in range(X.shape[1])])
    bst = xgb.train({"objective": "binary:logistic", "max_depth": 3}, d, num_boost_round=5)
    path = tmp_path / "named.json"
    bst.save_model(str(path))
    out = _convert(path, tmp_path)
    meta = metadata(out)
    assert meta["signature"]["inputs"]["names"] == ["a%d" % i for i in range(X.shape[1])]
    assert meta["estimator"] == "xgboost.core.Booster"
    assert meta["lineage"]["source"]["format"] == "XGBoost JSON"
    got = predict(out, X, tmp_path, "proba")[:, 1]
    assert float(np.abs(got - bst.predict(d)).max()) <= PROBA_ATOL


def test_checkpoint_layout(tmp_path):
    """Booster.save_raw("json") (what pickling a 1.x Booster holds): {"Config", "Model"}."""
    X, y = _data("real", True)
    d = xgb.DMatrix(X, label=y)
    bst = xgb.train({"max_depth": 3}, d, num_boost_round=5)
    path = tmp_path / "raw.json"
    path.write_bytes(bytes(bst.save_raw("json")))
    doc = json.loads(path.read_text())
    out = _convert(path, tmp_path)
    got = predict(out, X, tmp_path)[:, 0]
    assert ("Model" in doc) or ("learner" in doc)
    assert float(np.abs(got - bst.predict(d)).max()) <= MARGIN_RTOL * 10


def _refused(tmp_path, name, data, *needles):
    path = tmp_path / name
    path.write_bytes(data)
    r = convert(path, tmp_path / (name + ".trove"))
    assert r.returncode != 0, "accepted: %s" % name
    assert not os.path.exists(tmp_path / (name + ".trove"))
    for n in needles:
        assert n in r.stderr, (n, r.stderr)
    return r.stderr


def _small_model_doc(tmp_path):
    X, y = _data("binary", True)
    model = xgb.XGBClassifier(n_estimators=3, max_depth=3).fit(X, y)
    path = _save(model, tmp_path, "small", "json")
    return json.loads(path.read_text())


def test_hostile_json(tmp_path):
    doc = _small_model_doc(tmp_path)
    trees = doc["learner"]["gradient_booster"]["model"]["trees"]

    def mutate(fn):
        d = json.loads(json.dumps(doc))
        fn(d["learner"]["gradient_booster"]["model"]["trees"][0], d)
        return json.dumps(d).encode()

    n = len(trees[0]["left_children"])

    def cycle(t, d):
        t["left_children"][1] = 0
    _refused(tmp_path, "cycle.json", mutate(cycle), "reached twice")

    def self_loop(t, d):
        t["right_children"][0] = 0
    _refused(tmp_path, "self.json", mutate(self_loop), "reached twice")

    def oob(t, d):
        t["left_children"][0] = n + 5
    _refused(tmp_path, "oob.json", mutate(oob), "out of range")

    def feat(t, d):
        t["split_indices"][0] = 10 ** 6
    _refused(tmp_path, "feat.json", mutate(feat), "splits on feature")

    def count(t, d):
        t["tree_param"]["num_nodes"] = str(n + 1)
    _refused(tmp_path, "count.json", mutate(count), "entries for")

    def huge(t, d):
        t["tree_param"]["num_nodes"] = "99999999999"
    _refused(tmp_path, "huge.json", mutate(huge), "num_nodes")

    def categorical(t, d):
        t["split_type"][0] = 1
    _refused(tmp_path, "cat.json", mutate(categorical), "categorical")

    def objective(t, d):
        d["learner"]["objective"]["name"] = "binary:hinge"
    _refused(tmp_path, "hinge.json", mutate(objective), "binary:hinge")

    def vector_leaf(t, d):
        t["tree_param"]["size_leaf_vector"] = "3"
    _refused(tmp_path, "vl.json", mutate(vector_leaf), "vector leaves")

    def booster(t, d):
        d["learner"]["gradient_booster"]["name"] = "gbfoo"
    _refused(tmp_path, "gbfoo.json", mutate(booster), "gbfoo")

    def base(t, d):
        d["learner"]["learner_model_param"]["base_score"] = "2E0"
    _refused(tmp_path, "base.json", mutate(base), "base_score")

    deep = b'{"learner": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    _refused(tmp_path, "deep.json", deep)
    raw = json.dumps(doc).encode()
    _refused(tmp_path, "trunc.json", raw[: len(raw) // 2], "XGBoost JSON")


def test_hostile_ubjson(tmp_path):
    X, y = _data("multi", True)
    model = xgb.XGBClassifier(n_estimators=2, max_depth=3).fit(X, y)
    raw = _save(model, tmp_path, "m", "ubj").read_bytes()
    # every truncation point in the first 2 KB and a sample after: refused, never a crash
    cuts = list(range(1, min(len(raw), 2048))) + list(range(2048, len(raw), 97))
    paths = []
    for c in cuts[::7]:
        p = tmp_path / ("t%d.ubj" % c)
        p.write_bytes(raw[:c])
        paths.append(p)
    for p in paths:
        r = convert(p, str(p) + ".trove")
        assert r.returncode != 0 and "trove convert" in r.stderr or r.stderr, p
        assert r.returncode != 0
    # bit flips: refused cleanly or accepted as a model that validates (a flip in a float)
    rng = np.random.RandomState(0)
    for i in range(60):
        b = bytearray(raw)
        j = rng.randint(1, len(b))
        b[j] ^= 1 << rng.randint(8)
        p = tmp_path / ("f%d.ubj" % i)
        p.write_bytes(bytes(b))
        r = convert(p, str(p) + ".trove")
        assert r.returncode in (0, 1), (j, r.returncode, r.stderr)
    # an absurd count: a typed array claiming 2^62 elements
    absurd = b"{L\x00\x00\x00\x00\x00\x00\x00\x07learner[$d#L" + b"\x40" + b"\x00" * 7
    _refused(tmp_path, "absurd.ubj", absurd, "exceeds")
    deep = b"{L\x00\x00\x00\x00\x00\x00\x00\x01a" + b"[" * 200 + b"]" * 200 + b"}"
    _refused(tmp_path, "deep.ubj", deep, "nested deeper")


@pytest.mark.parametrize("how", ["pickle", "joblib_booster"])
def test_pickled_xgboost_refused_with_advice(tmp_path, how):
    """A pickled XGBoost object is a Python object that only xgboost can rebuild: refused (exit
    1, nothing written) with the way out: save_model and convert that file."""
    import pickle

    import joblib
    X, y = _data("binary", False)
    model = xgb.XGBClassifier(n_estimators=2, max_depth=2).fit(X, y)
    path = tmp_path / "m.pkl"
    if how == "pickle":
        with open(path, "wb") as f:
            pickle.dump(model, f)
    else:
        joblib.dump(model.get_booster(), path)
    r = convert(path, tmp_path / "m.trove")
    assert r.returncode == 1
    assert not (tmp_path / "m.trove").exists()
    assert 'save_model("model.json")' in r.stderr and "model.ubj" in r.stderr, r.stderr
    # and the advice works
    model.save_model(str(tmp_path / "model.json"))
    out = _convert(tmp_path / "model.json", tmp_path)
    assert float(np.abs(predict(out, X, tmp_path, "proba") - model.predict_proba(X)).max()) \
        <= PROBA_ATOL


@pytest.mark.parametrize("kind", ["binary", "multi"])
def test_early_stopping_best_iteration(tmp_path, kind):
    """An XGBClassifier trained with early stopping predicts with the rounds up to
    best_iteration; the file keeps every tree: the converted model uses the same rounds."""
    X, y = _data(kind, True, n=600)
    Xv, yv = _data(kind, True, seed=5, n=300)
    rng = np.random.RandomState(0)
    y = np.where(rng.rand(len(y)) < 0.3, rng.randint(0, y.max() + 1, len(y)), y)  # noisy: stops
    model = xgb.XGBClassifier(n_estimators=200, max_depth=5, learning_rate=0.5,
                              early_stopping_rounds=5).fit(X, y, eval_set=[(Xv, yv)],
                                                           verbose=False)
    assert model.best_iteration < 150
    out = _convert(_save(model, tmp_path, "es", "ubj"), tmp_path)
    assert metadata(out)["params"]["best_iteration"] == model.best_iteration
    T = _test_rows(X)
    assert float(np.abs(predict(out, T, tmp_path, "proba") - model.predict_proba(T)).max()) \
        <= PROBA_ATOL


def _ubj(v, typed=True):
    """A UBJSON encoder (big-endian, keys without markers, as XGBoost writes): typed float/int
    arrays when typed, otherwise plain arrays of markers; objects counted or ']'-terminated."""
    import struct
    if isinstance(v, dict):
        out = b"{"
        for k, x in v.items():
            kb = k.encode()
            out += b"L" + struct.pack(">q", len(kb)) + kb + _ubj(x, typed)
        return out + b"}"
    if isinstance(v, list):
        if typed and v and all(isinstance(x, float) for x in v):
            return b"[$d#L" + struct.pack(">q", len(v)) + b"".join(struct.pack(">f", x)
                                                                 for x in v)
        if typed and v and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
            return b"[$l#L" + struct.pack(">q", len(v)) + b"".join(struct.pack(">i", x)
                                                                 for x in v)
        return b"[#I" + struct.pack(">h", len(v)) + b"".join(_ubj(x, typed) for x in v)
    if isinstance(v, bool):
        return b"T" if v else b"F"
    if isinstance(v, int):
        return (b"i" + struct.pack(">b", v)) if -128 <= v < 128 else b"L" + struct.pack(">q", v)
    if isinstance(v, float):
        return b"D" + struct.pack(">d", v)
    if v is None:
        return b"Z"
    b = str(v).encode()
    return b"S" + (b"U" + bytes([len(b)]) if len(b) < 256 else b"L" + struct.pack(">q", len(b))) + b


def _variants(doc, K):
    """The same model as other XGBoost versions write it (docs/CODECS.md, version differences)."""
    import copy

    def v(fn):
        d = copy.deepcopy(doc)
        fn(d)
        return d
    L = lambda d: d["learner"]  # noqa: E731
    M = lambda d: d["learner"]["gradient_booster"]["model"]  # noqa: E731
    bs = doc["learner"]["learner_model_param"]["base_score"]
    yield "base_score_vector_3x", v(lambda d: L(d)["learner_model_param"].update(
        base_score="[%s]" % bs))
    if K > 2:
        yield "base_score_per_class", v(lambda d: L(d)["learner_model_param"].update(
            base_score="[" + ",".join([bs] * K) + "]"))
    yield "base_score_number", v(lambda d: L(d)["learner_model_param"].update(
        base_score=float(bs)))
    yield "ints_not_strings", v(lambda d: [L(d)["learner_model_param"].update(
        num_class=int(L(d)["learner_model_param"]["num_class"]),
        num_feature=int(L(d)["learner_model_param"]["num_feature"])),
        [t["tree_param"].update(num_nodes=int(t["tree_param"]["num_nodes"]))
         for t in M(d)["trees"]]])
    yield "bool_default_left", v(lambda d: [t.update(default_left=[bool(x) for x in
                                                                   t["default_left"]])
                                            for t in M(d)["trees"]])
    yield "no_split_type_1_0", v(lambda d: [[t.pop(k, None) for k in (
        "split_type", "categories", "categories_nodes", "categories_segments",
        "categories_sizes")] for t in M(d)["trees"]] and L(d)["learner_model_param"].pop(
        "num_target", None))

    def indptr(d):
        n = len(M(d)["trees"])
        per = max(1, K if K > 2 else 1)
        M(d)["iteration_indptr"] = list(range(0, n + 1, per))
        L(d)["learner_model_param"]["num_target"] = "1"
    yield "iteration_indptr_2x", v(indptr)

    def shuffled(d):  # children stored before parents: a valid XGBoost tree in any order
        for t in M(d)["trees"]:
            n = len(t["left_children"])
            perm = [0] + list(range(n - 1, 0, -1))  # new position of old node i
            inv = {p: i for i, p in enumerate(perm)}
            for key in ("left_children", "right_children", "split_indices", "split_conditions",
                        "default_left", "base_weights", "parents", "loss_changes",
                        "sum_hessian", "split_type"):
                if key in t and len(t[key]) == n:
                    t[key] = [t[key][inv[j]] for j in range(n)]
            for key in ("left_children", "right_children"):
                t[key] = [c if c < 0 else perm[c] for c in t[key]]
    yield "nodes_reordered", v(shuffled)


@pytest.mark.parametrize("kind", ["binary", "multi", "real"])
def test_version_variants(tmp_path, kind):
    """One model, rewritten the ways XGBoost 1.0 ... 3.x write it, as JSON and as UBJSON (typed
    and plain arrays): every variant predicts what xgboost predicts."""
    X, y = _data(kind, True)
    cls = xgb.XGBRegressor if kind == "real" else xgb.XGBClassifier
    model = cls(n_estimators=6, max_depth=3, random_state=0).fit(X, y)
    doc = json.loads(_save(model, tmp_path, "base", "json").read_text())
    K = len(np.unique(y)) if kind != "real" else 1
    T = _test_rows(X)
    want = _margin(model, T)
    n = 0
    for name, d in _variants(doc, K):
        for enc, data in (("json", json.dumps(d).encode()), ("ubj", _ubj(d)),
                          ("ubj_plain", _ubj(d, typed=False))):
            p = tmp_path / ("%s_%s.bin" % (name, enc))
            p.write_bytes(data)
            out = _convert(p, tmp_path)
            op = "decision" if kind != "real" else None
            got = predict(out, T, tmp_path, op)
            try:
                _check_margin(got, want)
            except AssertionError as e:
                raise AssertionError("%s/%s: %s" % (name, enc, e))
            n += 1
    assert n >= 21
