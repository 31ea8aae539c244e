"""trove.sklearn: save fitted scikit-learn estimators as trove models, load them back.

    import trove.sklearn
    trove.sklearn.dump(estimator, "model.trove", description="...")
    est = trove.sklearn.load("model.trove")   # a real, fitted scikit-learn estimator
    trove.sklearn.dump(estimator, "secret.trove", key="data.key")   # encrypted (or passphrase=)
    est = trove.sklearn.load("secret.trove", key="data.key")

The file holds the model kind (docs/MODELS.md), the hyperparameters, the input/output signature
and the weights as tensors; it is never a pickle, and loading executes nothing from the file:
the estimator is rebuilt from its class name (looked up in a fixed table of supported classes),
its parameters and its arrays. An estimator that has no kind raises TypeError naming it.
The same file predicts from C (`trove predict`, trove_model_predict).
"""
import datetime
import math
import os

import numpy as np

from . import core as _core  # the generic binding: ctypes over libtrove

__all__ = ["dump", "load", "SUPPORTED"]

# ---- file i/o through the generic binding (python/trove/core.py) ---------------------------


def _write(path, meta, tensors, **write):
    """Write tensors (name -> array) with the metadata tree meta, verbatim, atomically;
    encrypted (streamed through the envelope, never in plaintext on disk) with a key or
    passphrase. write: key, passphrase, sync, cipher, kdf_ops, kdf_mem of trove.dump."""
    _core.dump({k: tensors[k] for k in sorted(tensors)}, path, meta=meta, created=False,
               **write)


def _read(path, key=None, passphrase=None):
    """(metadata dict, {name: ndarray copy}) of a trove file (encrypted: decrypted in memory,
    wiped when closed)."""
    with _core.File(path, key=key, passphrase=passphrase) as f:
        meta = f.metadata
        tensors = {name: np.array(f.array(name)) for name in f.tensors}
    return meta, tensors


# ---- parameters: JSON-safe encoding of get_params() ----------------------------------------

def _enc_param(name, v):
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else {"$float": repr(f)}
    if isinstance(v, (list, tuple)):
        return [_enc_param(name, x) for x in v]
    if isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind in "biufUO":
        return [_enc_param(name, x) for x in v.tolist()]  # e.g. OneHotEncoder(drop=array)
    if isinstance(v, dict):
        return {str(k): _enc_param(name, x) for k, x in v.items()}
    if isinstance(v, np.random.RandomState):
        return None  # only seeds training; predictions do not depend on it
    if isinstance(v, type) and issubclass(v, np.generic):
        return {"$dtype": np.dtype(v).name}
    if isinstance(v, np.dtype):
        return {"$dtype": v.name}
    raise TypeError("parameter %r = %r cannot be stored in a trove file" % (name, v))


def _dec_param(v):
    if isinstance(v, list):
        return [_dec_param(x) for x in v]
    if isinstance(v, dict):
        if set(v) == {"$float"}:
            return float(v["$float"])
        if set(v) == {"$dtype"}:
            return np.dtype(v["$dtype"]).type
        return {k: _dec_param(x) for k, x in v.items()}
    return v


def _params(est):
    return {k: _enc_param(k, v) for k, v in est.get_params(deep=False).items()}


def _classes(est):
    c = np.asarray(est.classes_)
    if c.ndim != 1:
        raise TypeError("%s: multi-output classification is not supported" % _name(est))
    if c.dtype.kind in "iub":
        lst = [int(x) for x in c]
    elif c.dtype.kind == "f":
        lst = [float(x) for x in c]
    elif c.dtype.kind in "UO":
        if not all(isinstance(x, str) for x in c):
            raise TypeError("%s: class labels must be numbers or strings" % _name(est))
        lst = [str(x) for x in c]
    else:
        raise TypeError("%s: class labels of dtype %s not supported" % (_name(est), c.dtype))
    return lst, c.dtype.str


def _name(est):
    return type(est).__module__.split("._")[0] + "." + type(est).__name__


# ---- the estimator table -------------------------------------------------------------------

def _sk(mod, cls):
    import importlib
    return getattr(importlib.import_module(mod), cls)


_LINEAR_REG = ["LinearRegression", "Ridge", "Lasso", "ElasticNet", "SGDRegressor",
               # same prediction (X coef^T + intercept), different fitting
               "RidgeCV", "LassoCV", "ElasticNetCV", "Lars", "LassoLars", "BayesianRidge",
               "ARDRegression", "HuberRegressor"]
_LINEAR_CLS = ["LogisticRegression", "LinearSVC", "SGDClassifier", "LogisticRegressionCV",
               "Perceptron", "PassiveAggressiveClassifier"]
_TREES = {"DecisionTreeClassifier": "sklearn.tree", "DecisionTreeRegressor": "sklearn.tree",
          "RandomForestClassifier": "sklearn.ensemble", "RandomForestRegressor": "sklearn.ensemble",
          "ExtraTreesClassifier": "sklearn.ensemble", "ExtraTreesRegressor": "sklearn.ensemble"}
_GB = ["GradientBoostingClassifier", "GradientBoostingRegressor"]
_HGB = ["HistGradientBoostingClassifier", "HistGradientBoostingRegressor"]
_MLP = ["MLPClassifier", "MLPRegressor"]
_PRE = {"StandardScaler": "sklearn.preprocessing", "MinMaxScaler": "sklearn.preprocessing",
        "OneHotEncoder": "sklearn.preprocessing", "SimpleImputer": "sklearn.impute",
        "LabelEncoder": "sklearn.preprocessing"}
_SVM = ["SVC", "NuSVC", "SVR", "NuSVR"]
_KNN = ["KNeighborsClassifier", "KNeighborsRegressor"]
_NB_DISCRETE = {"MultinomialNB": "multinomial", "ComplementNB": "complement",
                "BernoulliNB": "bernoulli", "CategoricalNB": "categorical"}
_KMEANS = ["KMeans", "MiniBatchKMeans"]
_DECOMP = ["PCA", "IncrementalPCA", "TruncatedSVD"]

SUPPORTED = sorted(["sklearn.linear_model." + n for n in _LINEAR_REG + _LINEAR_CLS
                    if n != "LinearSVC"]
                   + ["sklearn.svm.LinearSVC"]
                   + [m + "." + n for n, m in _TREES.items()]
                   + ["sklearn.ensemble." + n for n in _GB + _HGB]
                   + ["sklearn.neural_network." + n for n in _MLP]
                   + [m + "." + n for n, m in _PRE.items()] + ["sklearn.pipeline.Pipeline"]
                   + ["sklearn.svm." + n for n in _SVM] + ["sklearn.naive_bayes.GaussianNB"]
                   + ["sklearn.neighbors." + n for n in _KNN]
                   + ["sklearn.compose.ColumnTransformer"]
                   + ["sklearn.naive_bayes." + n for n in _NB_DISCRETE]
                   + ["sklearn.cluster." + n for n in _KMEANS]
                   + ["sklearn.decomposition." + n for n in _DECOMP])


# models fitted by `trove fit` (C) load as their scikit-learn equivalents
_TROVE_FIT = {"trove.fit.linear": ("sklearn.linear_model.LinearRegression", ()),
              "trove.fit.ridge": ("sklearn.linear_model.Ridge", ("alpha",)),
              "trove.fit.logistic": ("sklearn.linear_model.LogisticRegression", ("C",))}


def _class_for(estimator_name):
    """The sklearn class named in a file, only if it is one we support (no arbitrary import)."""
    if estimator_name in _TROVE_FIT:
        estimator_name = _TROVE_FIT[estimator_name][0]
    if estimator_name not in SUPPORTED:
        raise TypeError("trove.sklearn.load: estimator %r is not supported (supported: %s)"
                        % (estimator_name, ", ".join(SUPPORTED)))
    mod, cls = estimator_name.rsplit(".", 1)
    return _sk(mod, cls)


def _f64(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float64))


# ---- dump -------------------------------------------------------------------------------------

def _node(est, prefix):
    """(model node dict, {tensor name: array}) for one estimator, tensors under prefix."""
    from sklearn.utils.validation import check_is_fitted
    cls = type(est).__name__
    name = _name(est)
    if name not in SUPPORTED:
        raise TypeError("trove.sklearn.dump: %s is not supported (supported: %s)"
                        % (type(est).__module__ + "." + cls, ", ".join(SUPPORTED)))
    if cls != "Pipeline":
        check_is_fitted(est)
    if cls == "ColumnTransformer":
        return _dump_columns(est, prefix)
    t = {}
    node = {"kind": None, "kind_version": 1, "estimator": name}
    if cls == "Pipeline":
        steps = []
        for i, (sname, step) in enumerate(est.steps):
            if step is None or step == "passthrough":
                raise TypeError("trove.sklearn.dump: Pipeline step %r is passthrough: not "
                                "supported" % sname)
            sub, st = _node(step, "%ssteps/%d/" % (prefix, i))
            sub["name"] = sname
            steps.append(sub)
            t.update(st)
        params = {k: _enc_param(k, v) for k, v in est.get_params(deep=False).items()
                  if k != "steps"}
        node.update(kind="pipeline", params=params,
                    model={"n_features": steps[0]["model"]["n_features"], "steps": steps})
        return node, t
    node["params"] = _params(est)
    nf = 1 if cls == "LabelEncoder" else int(est.n_features_in_)
    m = {"n_features": nf}
    node["model"] = m
    if cls in _LINEAR_REG:
        coef = np.asarray(est.coef_)
        icpt = np.asarray(est.intercept_)
        m.update(task="regression", link="identity",
                 sklearn={"coef_ndim": coef.ndim, "intercept_ndim": icpt.ndim})
        t[prefix + "coef"] = _f64(coef).reshape(-1, nf)
        t[prefix + "intercept"] = _f64(icpt).reshape(-1)
        m["n_outputs"] = int(t[prefix + "coef"].shape[0])
        if t[prefix + "intercept"].size == 1 and t[prefix + "coef"].shape[0] > 1:
            t[prefix + "intercept"] = np.repeat(t[prefix + "intercept"],
                                                t[prefix + "coef"].shape[0])
        node["kind"] = "linear"
    elif cls in _LINEAR_CLS:
        classes, cdt = _classes(est)
        k = len(classes)
        if cls in ("LogisticRegression", "LogisticRegressionCV"):
            mc = est.multi_class
            ovr = mc == "ovr" or (mc == "auto" and (k <= 2 or est.solver == "liblinear"))
            link = ("logistic" if k == 2 else "ovr") if ovr else "softmax"
        elif cls == "SGDClassifier":
            link = ("logistic" if k == 2 else "ovr") if est.loss == "log_loss" else "none"
        else:
            link = "none"
        m.update(task="classification", link=link, classes=classes,
                 sklearn={"classes_dtype": cdt})
        t[prefix + "coef"] = _f64(est.coef_).reshape(-1, nf)
        t[prefix + "intercept"] = _f64(est.intercept_).reshape(-1)
        node["kind"] = "linear"
    elif cls == "StandardScaler":
        node["kind"] = "scaler"
        m.update(task="transform", op="standardize",
                 sklearn={"n_samples_seen": _enc_param("n", np.asarray(est.n_samples_seen_)
                                                       .tolist()),
                          "has_mean": est.mean_ is not None, "has_scale": est.scale_ is not None,
                          "has_var": est.var_ is not None})
        # sklearn subtracts mean_ only when with_mean, divides by scale_ only when with_std
        # (mean_ is computed either way): the C kind gets exact no-ops for what is skipped
        center = est.mean_ if (est.with_mean and est.mean_ is not None) else np.zeros(nf)
        scale = est.scale_ if (est.with_std and est.scale_ is not None) else np.ones(nf)
        t[prefix + "center"] = _f64(center)
        t[prefix + "scale"] = _f64(scale)
        if est.mean_ is not None:
            t[prefix + "sklearn/mean"] = _f64(est.mean_)
        if est.scale_ is not None:
            t[prefix + "sklearn/scale"] = _f64(est.scale_)
        if est.var_ is not None:
            t[prefix + "sklearn/var"] = _f64(est.var_)
    elif cls == "MinMaxScaler":
        node["kind"] = "scaler"
        m.update(task="transform", op="minmax",
                 sklearn={"n_samples_seen": int(est.n_samples_seen_)})
        if est.clip:
            m["clip"] = [float(est.feature_range[0]), float(est.feature_range[1])]
        t[prefix + "scale"] = _f64(est.scale_)
        t[prefix + "offset"] = _f64(est.min_)
        for a in ("data_min_", "data_max_", "data_range_"):
            t[prefix + "sklearn/" + a.rstrip("_")] = _f64(getattr(est, a))
    elif cls == "SimpleImputer":
        if est.add_indicator:
            raise TypeError("trove.sklearn.dump: SimpleImputer(add_indicator=True) is not "
                            "supported")
        if getattr(est, "keep_empty_features", False):
            raise TypeError("trove.sklearn.dump: SimpleImputer(keep_empty_features=True) is "
                            "not supported")
        mv = est.missing_values
        if isinstance(mv, float) and math.isnan(mv):
            mvv = "nan"
        elif isinstance(mv, (int, float, np.number)) and not isinstance(mv, bool):
            mvv = float(mv)
        else:
            raise TypeError("trove.sklearn.dump: SimpleImputer(missing_values=%r): only numbers "
                            "and NaN are supported" % (mv,))
        st = np.asarray(est.statistics_)
        if st.dtype.kind not in "fiu":
            raise TypeError("trove.sklearn.dump: SimpleImputer with non-numeric statistics")
        node["kind"] = "imputer"
        m.update(task="transform", missing_value=mvv)
        t[prefix + "statistics"] = _f64(st)
    elif cls == "OneHotEncoder":
        if getattr(est, "_infrequent_enabled", False):
            raise TypeError("trove.sklearn.dump: OneHotEncoder with infrequent categories is "
                            "not supported")
        # without infrequent categories, these encode unknown values as zeros like "ignore"
        hu = "ignore" if est.handle_unknown in ("infrequent_if_exist", "warn") \
            else est.handle_unknown
        if hu not in ("error", "ignore"):
            raise TypeError("trove.sklearn.dump: OneHotEncoder(handle_unknown=%r) is not "
                            "supported" % (est.handle_unknown,))
        cats = est.categories_
        # object arrays (from a DataFrame) hold text, or numbers stored as objects
        text = [c.dtype.kind in "US" or (c.dtype.kind == "O" and
                                         any(isinstance(x, str) for x in c)) for c in cats]
        for c, tx in zip(cats, text):
            if tx and not all(isinstance(x, str) for x in c):
                raise TypeError("trove.sklearn.dump: OneHotEncoder with categories that mix "
                                "text and other values (or None) is not supported")
            if not tx and c.dtype.kind == "O" and not all(
                    isinstance(x, (int, float, np.number)) and not isinstance(x, bool)
                    for x in c):
                raise TypeError("trove.sklearn.dump: OneHotEncoder with object categories that "
                                "are neither all text nor all numbers is not supported")
            if not tx and c.dtype.kind not in "fiubO":
                raise TypeError("trove.sklearn.dump: OneHotEncoder with categories of dtype %s "
                                "is not supported" % c.dtype)
            if not tx and np.isnan(np.asarray(c, dtype=np.float64)).any():
                raise TypeError("trove.sklearn.dump: OneHotEncoder with NaN as a category is "
                                "not supported")
        node["kind"] = "onehot"
        m.update(task="transform", handle_unknown=hu,
                 sklearn={"categories_dtype": [c.dtype.str for c in cats]})
        if any(text):  # text features: the codes 0..k-1 stand for the strings
            m["vocabulary"] = [[str(x) for x in c] if tx else None for c, tx in zip(cats, text)]
        t[prefix + "categories"] = _f64(np.concatenate(
            [np.arange(len(c), dtype=np.float64) if tx else np.asarray(c, np.float64)
             for c, tx in zip(cats, text)]))
        t[prefix + "offsets"] = np.cumsum([0] + [len(c) for c in cats]).astype(np.int64)
        if est.drop_idx_ is not None:  # the dropped category of each feature (-1: none)
            t[prefix + "drop"] = np.asarray([-1 if d is None else int(d) for d in est.drop_idx_],
                                            dtype=np.int64)
            m["sklearn"]["drop_idx_dtype"] = est.drop_idx_.dtype.str
    elif cls == "LabelEncoder":
        classes, cdt = _classes(est)
        node["kind"] = "label_encoder"
        m.update(task="transform", classes=classes, sklearn={"classes_dtype": cdt})
    elif cls in _SVM:
        _dump_svm(est, cls, prefix, m, t)
        node["kind"] = "svm"
    elif cls == "GaussianNB":
        classes, cdt = _classes(est)
        node["kind"] = "naive_bayes"
        m.update(task="classification", distribution="gaussian", classes=classes,
                 sklearn={"classes_dtype": cdt, "epsilon": float(est.epsilon_)})
        t[prefix + "theta"] = _f64(est.theta_)
        t[prefix + "var"] = _f64(est.var_)
        t[prefix + "class_prior"] = _f64(est.class_prior_)
        t[prefix + "sklearn/class_count"] = _f64(est.class_count_)
    elif cls in _NB_DISCRETE:
        _dump_nb_discrete(est, cls, prefix, m, t)
        node["kind"] = "naive_bayes"
    elif cls in _KMEANS:
        c = _f64(est.cluster_centers_)
        if c.ndim != 2 or c.shape[1] != nf or not np.isfinite(c).all():
            raise TypeError("trove.sklearn.dump: %s.cluster_centers_ must be a finite "
                            "[clusters, %d] array" % (cls, nf))
        node["kind"] = "kmeans"
        m.update(task="transform", n_clusters=int(c.shape[0]),
                 sklearn={k: _enc_param(k, getattr(est, k)) for k in ("inertia_", "n_iter_")
                          if hasattr(est, k)})
        t[prefix + "centers"] = c
    elif cls in _DECOMP:
        _dump_decomp(est, cls, prefix, m, t)
        node["kind"] = "decomposition"
    elif cls in _KNN:
        _dump_knn(est, cls, prefix, m, t)
        node["kind"] = "knn"
    elif cls in _TREES:
        _dump_sk_trees(est, cls, prefix, m, t)
        node["kind"] = "tree_ensemble"
    elif cls in _GB:
        _dump_gb(est, cls, prefix, m, t)
        node["kind"] = "tree_ensemble"
    elif cls in _HGB:
        _dump_hgb(est, cls, prefix, m, t)
        node["kind"] = "tree_ensemble"
    elif cls in _MLP:
        node["kind"] = "mlp"
        if cls == "MLPClassifier":
            if est._label_binarizer.y_type_ == "multilabel-indicator":
                raise TypeError("trove.sklearn.dump: multilabel MLPClassifier is not supported")
            classes, cdt = _classes(est)
            m.update(task="classification", classes=classes, sklearn={"classes_dtype": cdt})
        else:
            m.update(task="regression")
        m["activations"] = [est.activation] * (len(est.coefs_) - 1)
        m["output_activation"] = est.out_activation_
        m.setdefault("sklearn", {})["n_outputs"] = int(est.n_outputs_)
        m["n_outputs"] = int(est.coefs_[-1].shape[1])
        for i, (w, b) in enumerate(zip(est.coefs_, est.intercepts_)):
            t["%slayers/%d/weight" % (prefix, i)] = _f64(np.asarray(w).T)
            t["%slayers/%d/bias" % (prefix, i)] = _f64(b)
    else:  # pragma: no cover (SUPPORTED and the branches above agree)
        raise TypeError("trove.sklearn.dump: %s is not supported" % name)
    return node, t


def _ct_indices(est, name, cols):
    """Input column indices of one ColumnTransformer part (as sklearn resolved them)."""
    t2i = getattr(est, "_transformer_to_input_indices", None)
    if t2i is not None and name in t2i:
        return [int(i) for i in np.asarray(t2i[name]).reshape(-1)]
    from sklearn.utils import _get_column_indices
    names = getattr(est, "feature_names_in_", None)
    if names is not None:
        X = np.zeros((1, len(names)))
        if isinstance(cols, str) or (isinstance(cols, (list, tuple)) and cols and
                                     isinstance(cols[0], str)):
            lst = [cols] if isinstance(cols, str) else list(cols)
            return [int(np.flatnonzero(names == c)[0]) for c in lst]
    else:
        X = np.zeros((1, est.n_features_in_))
    return [int(i) for i in _get_column_indices(X, cols)]


def _dump_columns(est, prefix):
    """ColumnTransformer: parts with their input columns; 'drop' parts and empty selections are
    left out (sklearn skips them), 'passthrough' parts copy their columns."""
    if est.transformer_weights is not None:
        raise TypeError("trove.sklearn.dump: ColumnTransformer(transformer_weights=...) is not "
                        "supported")
    parts, t = [], {}
    for name, trans, cols in est.transformers_:
        if isinstance(trans, str) and trans == "drop":
            continue
        idx = _ct_indices(est, name, cols)
        if not idx:
            continue
        if isinstance(trans, str) and trans == "passthrough":
            sub = {"passthrough": True}
        else:
            sub, st = _node(trans, "%stransformers/%d/" % (prefix, len(parts)))
            t.update(st)
        sub.update(name=name, columns=idx)
        parts.append(sub)
    if not parts:
        raise TypeError("trove.sklearn.dump: ColumnTransformer whose parts are all dropped")
    params = {k: _enc_param(k, v) for k, v in est.get_params(deep=False).items()
              if k not in ("transformers", "remainder")}
    rem = est.remainder if isinstance(est.remainder, str) else None
    node = {"kind": "column_transformer", "kind_version": 1, "estimator": _name(est),
            "params": params,
            "model": {"n_features": int(est.n_features_in_), "task": "transform",
                      "transformers": parts,
                      "sklearn": {"sparse_output": bool(est.sparse_output_), "remainder": rem}}}
    return node, t


def _dump_svm(est, cls, prefix, m, t):
    """libsvm's own coefficients (sklearn's _dual_coef_, _intercept_: for two classes the public
    dual_coef_/intercept_ are their negation) and Platt's probA/probB when fitted."""
    if callable(est.kernel) or est.kernel not in ("linear", "poly", "rbf", "sigmoid"):
        raise TypeError("trove.sklearn.dump: %s(kernel=%r) is not supported" % (cls, est.kernel))
    if est._sparse:
        raise TypeError("trove.sklearn.dump: %s fitted on sparse data is not supported" % cls)
    m.update(kernel=est.kernel, gamma=float(est._gamma), coef0=float(est.coef0),
             degree=int(est.degree),
             sklearn={"shape_fit": [int(x) for x in est.shape_fit_],
                      "fit_status": int(est.fit_status_)})
    t[prefix + "support_vectors"] = _f64(est.support_vectors_)
    t[prefix + "dual_coef"] = _f64(est._dual_coef_)
    t[prefix + "intercept"] = _f64(est._intercept_).reshape(-1)
    t[prefix + "sklearn/support"] = np.asarray(est.support_, dtype=np.int64)
    if cls in ("SVC", "NuSVC"):
        classes, cdt = _classes(est)
        m.update(task="classification", classes=classes,
                 decision_shape="ovr" if est.decision_function_shape == "ovr" else "ovo",
                 break_ties=bool(est.break_ties))
        m["sklearn"]["classes_dtype"] = cdt
        m["sklearn"]["class_weight"] = [float(x) for x in est.class_weight_]
        t[prefix + "n_support"] = np.asarray(est._n_support, dtype=np.int64)
        if est.probability and np.asarray(est._probA).size:
            t[prefix + "prob_a"] = _f64(est._probA)
            t[prefix + "prob_b"] = _f64(est._probB)
    else:
        m.update(task="regression", n_outputs=1)
        t[prefix + "sklearn/n_support"] = np.asarray(est._n_support, dtype=np.int64)


def _dump_nb_categorical(est, prefix, m, t):
    """CategoricalNB: the per-feature tables side by side, with offsets."""
    tabs = [_f64(a) for a in est.feature_log_prob_]
    k = len(est.classes_)
    if any(a.ndim != 2 or a.shape[0] != k or a.shape[1] == 0 for a in tabs):
        raise TypeError("trove.sklearn.dump: CategoricalNB.feature_log_prob_ must hold one "
                        "[classes, categories] array per feature")
    flp = np.concatenate(tabs, axis=1)
    if not (np.isfinite(flp) & (flp <= 0)).all():
        raise TypeError("trove.sklearn.dump: CategoricalNB.feature_log_prob_ holds a value "
                        "that is not a finite log probability")
    t[prefix + "category_log_prob"] = flp
    t[prefix + "offsets"] = np.cumsum([0] + [a.shape[1] for a in tabs]).astype(np.int64)
    t[prefix + "sklearn/category_count"] = np.concatenate(
        [_f64(a) for a in est.category_count_], axis=1)


def _dump_nb_discrete(est, cls, prefix, m, t):
    classes, cdt = _classes(est)
    if len(classes) < 2:
        raise TypeError("trove.sklearn.dump: %s fitted on one class is not supported" % cls)
    clp = _f64(est.class_log_prior_)
    if cls != "ComplementNB" and not (np.isfinite(clp) & (clp <= 0)).all():
        raise TypeError("trove.sklearn.dump: %s.class_log_prior_ is not finite (a class with no "
                        "sample and no prior?)" % cls)
    if cls == "CategoricalNB":
        _dump_nb_categorical(est, prefix, m, t)
    else:
        flp = _f64(est.feature_log_prob_)
        bad = ~np.isfinite(flp)
        if cls == "MultinomialNB":
            bad |= flp > 0
        elif cls == "BernoulliNB":
            bad |= flp >= 0
        if bad.any():
            raise TypeError("trove.sklearn.dump: %s.feature_log_prob_ holds %r: not a finite "
                            "log probability" % (cls, float(flp[bad][0])))
        t[prefix + "feature_log_prob"] = flp
        t[prefix + "sklearn/feature_count"] = _f64(est.feature_count_)
    m.update(task="classification", distribution=_NB_DISCRETE[cls], classes=classes,
             sklearn={"classes_dtype": cdt})
    # ComplementNB predicts without its prior (sklearn adds it only for a single class)
    t[prefix + ("sklearn/class_log_prior" if cls == "ComplementNB" else "class_log_prior")] = clp
    t[prefix + "sklearn/class_count"] = _f64(est.class_count_)
    if cls == "ComplementNB":
        t[prefix + "sklearn/feature_all"] = _f64(est.feature_all_)
    if cls == "BernoulliNB":
        m["binarize"] = None if est.binarize is None else float(est.binarize)


def _dump_decomp(est, cls, prefix, m, t):
    comp = _f64(est.components_)
    nf = int(m["n_features"])
    if comp.ndim != 2 or comp.shape[1] != nf or not np.isfinite(comp).all():
        raise TypeError("trove.sklearn.dump: %s.components_ must be a finite [components, %d] "
                        "array" % (cls, nf))
    m.update(task="transform", sklearn={})
    t[prefix + "components"] = comp
    ev = _f64(est.explained_variance_)
    t[prefix + "explained_variance"] = ev
    if cls != "TruncatedSVD":
        t[prefix + "mean"] = _f64(est.mean_)
        if est.whiten:
            if not (np.isfinite(ev) & (ev > 0)).all():
                raise TypeError("trove.sklearn.dump: %s(whiten=True) with an explained variance "
                                "that is not > 0: whitening divides by its square root" % cls)
            m["whiten"] = True
        m["sklearn"]["noise_variance"] = _enc_param("noise_variance_", est.noise_variance_)
    for a in ("explained_variance_ratio_", "singular_values_", "var_"):
        if getattr(est, a, None) is not None:
            t[prefix + "sklearn/" + a.rstrip("_")] = _f64(getattr(est, a))
    for a in ("n_samples_", "n_samples_seen_", "batch_size_", "n_components_"):
        if hasattr(est, a):
            m["sklearn"][a] = _enc_param(a, getattr(est, a))


def _dump_knn(est, cls, prefix, m, t):
    metric, p = est.effective_metric_, est.effective_metric_params_.get("p", est.p)
    if metric == "minkowski" and p in (1, 2):
        metric = "manhattan" if p == 1 else "euclidean"
    if metric not in ("euclidean", "manhattan"):
        raise TypeError("trove.sklearn.dump: %s(metric=%r) is not supported (euclidean, "
                        "manhattan, minkowski with p = 1 or 2)" % (cls, est.metric))
    if est.weights not in ("uniform", "distance", None):
        raise TypeError("trove.sklearn.dump: %s with callable weights is not supported" % cls)
    m.update(n_neighbors=int(est.n_neighbors), weights=est.weights or "uniform", metric=metric)
    t[prefix + "fit_X"] = _f64(est._fit_X)
    if cls == "KNeighborsClassifier":
        if est.outputs_2d_:
            raise TypeError("trove.sklearn.dump: multi-output %s is not supported" % cls)
        classes, cdt = _classes(est)
        m.update(task="classification", classes=classes, sklearn={"classes_dtype": cdt})
        t[prefix + "y"] = np.asarray(est._y, dtype=np.int64).reshape(-1)
    else:
        y = np.asarray(est._y, dtype=np.float64)
        m.update(task="regression", n_outputs=1 if y.ndim == 1 else int(y.shape[1]),
                 sklearn={"y_ndim": int(y.ndim)})
        t[prefix + "y"] = np.ascontiguousarray(y.reshape(len(y), -1))


def _flat_trees(trees, leaf_fn, prefix, t):
    """Flatten sklearn Tree objects into the tree_ensemble arrays."""
    offs, feat, thr, left, right, val = [0], [], [], [], [], []
    for tr in trees:
        n = tr.node_count
        offs.append(offs[-1] + n)
        l = tr.children_left.astype(np.int32)
        f = tr.feature.astype(np.int32)
        f[l == -1] = 0
        feat.append(f)
        thr.append(tr.threshold.astype(np.float64))
        left.append(l)
        right.append(tr.children_right.astype(np.int32))
        val.append(leaf_fn(tr.value))
    t[prefix + "trees/offsets"] = np.asarray(offs, np.int64)
    t[prefix + "trees/feature"] = _small_ints(np.concatenate(feat))
    t[prefix + "trees/threshold"] = np.concatenate(thr)
    t[prefix + "trees/left"] = _small_ints(np.concatenate(left))
    t[prefix + "trees/right"] = _small_ints(np.concatenate(right))
    t[prefix + "trees/value"] = np.ascontiguousarray(np.concatenate(val))


def _small_ints(a):
    """int16 when every value fits (node indices are local to a tree): less to read at bind."""
    if a.size == 0 or (a.min() >= -32768 and a.max() <= 32767):
        return a.astype(np.int16)
    return a.astype(np.int32)


def _dump_sk_trees(est, cls, prefix, m, t):
    trees = [est.tree_] if cls.startswith("DecisionTree") else [e.tree_ for e in est.estimators_]
    m.update(aggregate="mean", compare="float32", scale=1.0)
    if cls.endswith("Classifier"):
        if est.n_outputs_ != 1:
            raise TypeError("trove.sklearn.dump: multi-output %s is not supported" % cls)
        classes, cdt = _classes(est)
        k = len(classes)

        def leaf(v):  # sklearn's predict_proba normalisation, the same numpy operations
            p = np.array(v[:, 0, :k], dtype=np.float64)
            s = p.sum(axis=1)[:, np.newaxis]
            s[s == 0.0] = 1.0
            p /= s
            return p
        m.update(task="classification", link="none", classes=classes, n_outputs=k,
                 sklearn={"classes_dtype": cdt})
    else:
        n_out = int(est.n_outputs_)

        def leaf(v):
            return np.array(v[:, :, 0], dtype=np.float64)
        m.update(task="regression", link="identity", n_outputs=n_out,
                 sklearn={"n_outputs": n_out})
    _flat_trees(trees, leaf, prefix, t)


def _dump_gb(est, cls, prefix, m, t):
    init = est.init_
    if isinstance(init, str) and init == "zero":
        init_desc = "zero"
    elif type(init).__name__ == "DummyClassifier" and init._strategy == "prior":
        init_desc = {"strategy": "prior", "class_prior": [float(x) for x in init.class_prior_]}
    elif type(init).__name__ == "DummyRegressor" and np.asarray(init.constant_).size == 1:
        init_desc = {"strategy": init.strategy,
                     "constant": float(np.asarray(init.constant_).ravel()[0])}
    else:
        raise TypeError("trove.sklearn.dump: %s with init=%r is not supported"
                        % (cls, est.init))
    K = est.estimators_.shape[1]
    base = est._raw_predict_init(np.zeros((1, est.n_features_in_), dtype=np.float32))[0]
    m.update(aggregate="sum", compare="float32", scale=float(est.learning_rate), n_outputs=K,
             sklearn={"init": init_desc, "n_estimators": int(est.n_estimators_)})
    if cls == "GradientBoostingClassifier":
        if est.loss != "log_loss":
            raise TypeError("trove.sklearn.dump: GradientBoostingClassifier(loss=%r) is not "
                            "supported" % (est.loss,))
        classes, cdt = _classes(est)
        m.update(task="classification", link="logistic" if K == 1 else "softmax",
                 classes=classes)
        m["sklearn"]["classes_dtype"] = cdt
    else:
        m.update(task="regression", link="identity")
    trees = [est.estimators_[i, k].tree_ for i in range(est.estimators_.shape[0])
             for k in range(K)]
    _flat_trees(trees, lambda v: np.array(v[:, 0, :1], dtype=np.float64), prefix, t)
    if K > 1:
        t[prefix + "trees/output"] = np.tile(np.arange(K, dtype=np.int32),
                                             est.estimators_.shape[0])
    t[prefix + "base_score"] = _f64(base).reshape(-1)


def _dump_hgb(est, cls, prefix, m, t):
    if est.is_categorical_ is not None and np.any(est.is_categorical_):
        raise TypeError("trove.sklearn.dump: %s with categorical features is not supported"
                        % cls)
    lossname = type(est._loss).__name__
    K = int(est.n_trees_per_iteration_)
    if cls.endswith("Classifier"):
        classes, cdt = _classes(est)
        m.update(task="classification", link="logistic" if K == 1 else "softmax",
                 classes=classes, sklearn={"classes_dtype": cdt})
    else:
        if lossname in ("HalfSquaredError", "AbsoluteError", "PinballLoss"):
            link = "identity"
        elif lossname in ("HalfPoissonLoss", "HalfGammaLoss"):
            link = "exp"  # log link: predict = exp(raw)
        else:
            raise TypeError("trove.sklearn.dump: %s(loss=%r) is not supported" % (cls, est.loss))
        m.update(task="regression", link=link, sklearn={})
    base = np.asarray(est._baseline_prediction, dtype=np.float64)
    m["sklearn"].update(baseline_shape=list(base.shape), n_iter=len(est._predictors))
    m.update(aggregate="sum", compare="float64", scale=1.0, n_outputs=K)
    offs, feat, thr, left, right, dl, val, outc = [0], [], [], [], [], [], [], []
    for it in est._predictors:
        for k, p in enumerate(it):
            nodes = p.nodes
            n = len(nodes)
            offs.append(offs[-1] + n)
            leaf = nodes["is_leaf"].astype(bool)
            feat.append(np.where(leaf, 0, nodes["feature_idx"]).astype(np.int32))
            thr.append(nodes["num_threshold"].astype(np.float64))
            left.append(np.where(leaf, -1, nodes["left"].astype(np.int64)).astype(np.int32))
            right.append(np.where(leaf, -1, nodes["right"].astype(np.int64)).astype(np.int32))
            dl.append(nodes["missing_go_to_left"].astype(np.uint8))
            val.append(nodes["value"].astype(np.float64).reshape(-1, 1))
            outc.append(k)
    t[prefix + "trees/offsets"] = np.asarray(offs, np.int64)
    t[prefix + "trees/feature"] = _small_ints(np.concatenate(feat))
    t[prefix + "trees/threshold"] = np.concatenate(thr)
    t[prefix + "trees/left"] = _small_ints(np.concatenate(left))
    t[prefix + "trees/right"] = _small_ints(np.concatenate(right))
    t[prefix + "trees/default_left"] = np.concatenate(dl)
    t[prefix + "trees/value"] = np.concatenate(val)
    if K > 1:
        t[prefix + "trees/output"] = np.asarray(outc, np.int32)
    t[prefix + "base_score"] = base.reshape(-1)


def dump(estimator, path, key=None, passphrase=None, *, sync=True, cipher=None, kdf_ops=0,
         kdf_mem=0, **metadata):
    """Write a fitted scikit-learn estimator to path as a trove model (atomically).

    key= (32 bytes, or the path of a key file from 'trove keygen --symmetric') or passphrase=
    (str or bytes, stretched with Argon2id) writes an encrypted file instead (mode 0600,
    XChaCha20-Poly1305 in authenticated chunks; docs/SECURITY.md): the model streams through
    the encryption and its plaintext is never on disk. Read it back with load(path, key=...),
    `trove predict MODEL INPUT --key ...` or `trove decrypt`. cipher='aes256gcm' picks
    AES-256-GCM; kdf_ops= / kdf_mem= the Argon2id cost of a passphrase (0 = libsodium
    MODERATE), stored in the file. sync=False skips the fsync.

    metadata: description, license, lineage, metrics, user, x-... go to the top of the metadata,
    other keywords under "user" (docs/FORMAT.md section 9). The producer,
    estimator class, parameters, signature (feature count and names, classes) and creation
    time are recorded automatically. Raises TypeError for an unsupported estimator (naming
    it) or a setting that the model kinds cannot represent; nothing is silently dropped."""
    import sklearn
    node, tensors = _node(estimator, "")
    nf = node["model"]["n_features"]
    meta = dict(node)
    meta["producer"] = {"name": "scikit-learn", "version": sklearn.__version__}
    meta["created"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    sig = {"inputs": {"n_features": nf, "dtype": "float64"}}
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        sig["inputs"]["names"] = [str(x) for x in names]
    last = node
    while last["kind"] == "pipeline":
        last = last["model"]["steps"][-1]
    if last["model"].get("task") == "classification":
        sig["classes"] = last["model"]["classes"]
        sig["outputs"] = {"n_outputs": 1}
    elif last["model"].get("task") == "regression":
        sig["outputs"] = {"n_outputs": int(last["model"]["n_outputs"])}
    meta["signature"] = sig
    user = {}
    for k, v in metadata.items():
        if k in ("kind", "kind_version", "model", "estimator", "params", "signature",
                 "producer"):
            raise ValueError("trove.sklearn.dump: %r is set by dump itself" % k)
        if k in _core.RESERVED_KEYS or k.startswith("x-"):
            meta[k] = v  # description, license, lineage, metrics, created, user, x-...
        else:
            user[k] = v  # anything else goes under "user" (docs/FORMAT.md section 9)
    if user:
        meta["user"] = dict(meta.get("user", {}), **user)
    _write(os.fspath(path), meta, tensors, key=key, passphrase=passphrase, sync=sync,
           cipher=cipher, kdf_ops=kdf_ops, kdf_mem=kdf_mem)


# ---- load -------------------------------------------------------------------------------------

def _classes_array(m):
    dt = m.get("sklearn", {}).get("classes_dtype")
    c = np.asarray(m["classes"])
    return c.astype(np.dtype(dt)) if dt else c


def _tree_object(n_features, n_classes, n_outputs, nodes_left, nodes_right, feature, threshold,
                 value):
    from sklearn.tree._tree import NODE_DTYPE, Tree
    n = len(nodes_left)
    nodes = np.zeros(n, dtype=NODE_DTYPE)
    leaf = nodes_left == -1
    nodes["left_child"] = nodes_left
    nodes["right_child"] = nodes_right
    nodes["feature"] = np.where(leaf, -2, feature)
    nodes["threshold"] = np.where(leaf, -2.0, threshold)
    # depth (needed by Tree.max_depth): children come after parents
    depth = np.zeros(n, dtype=np.int64)
    for i in range(n):
        if not leaf[i]:
            depth[nodes_left[i]] = depth[i] + 1
            depth[nodes_right[i]] = depth[i] + 1
    tree = Tree(n_features, np.asarray([n_classes] * n_outputs, dtype=np.intp), n_outputs)
    tree.__setstate__({"max_depth": int(depth.max()), "node_count": n, "nodes": nodes,
                       "values": np.ascontiguousarray(value)})
    return tree


def _split_trees(t, prefix):
    offs = t[prefix + "trees/offsets"]
    for i in range(len(offs) - 1):
        lo, hi = int(offs[i]), int(offs[i + 1])
        yield (i, t[prefix + "trees/left"][lo:hi].astype(np.int64),
               t[prefix + "trees/right"][lo:hi].astype(np.int64),
               t[prefix + "trees/feature"][lo:hi].astype(np.int64),
               t[prefix + "trees/threshold"][lo:hi], t[prefix + "trees/value"][lo:hi])


def _build(node, t, prefix):
    cls = _class_for(node.get("estimator", ""))
    name = cls.__name__
    m = node["model"]
    if name == "ColumnTransformer":
        return _load_columns(cls, node, t, prefix)
    if name == "Pipeline":
        steps = []
        for i, s in enumerate(m["steps"]):
            steps.append((s["name"], _build(s, t, "%ssteps/%d/" % (prefix, i))))
        params = _dec_param(node.get("params", {}))
        return cls(steps=steps, **params)
    params = _dec_param(node.get("params", {}))
    if node.get("estimator") in _TROVE_FIT:
        keep = _TROVE_FIT[node["estimator"]][1]
        params = {k: v for k, v in params.items() if k in keep}
    est = cls(**params)
    nf = int(m["n_features"])
    if name == "LabelEncoder":
        est.classes_ = _classes_array(m)
        return est
    est.n_features_in_ = nf
    sk = m.get("sklearn", {})
    if name in _LINEAR_REG and "sklearn" not in m:  # trove fit: one target
        est.coef_ = t[prefix + "coef"].reshape(-1)
        est.intercept_ = float(t[prefix + "intercept"][0])
    elif name in _LINEAR_REG:
        coef, icpt = t[prefix + "coef"], t[prefix + "intercept"]
        est.coef_ = coef.reshape(-1) if sk.get("coef_ndim") == 1 else coef
        if sk.get("intercept_ndim") == 0:
            est.intercept_ = float(icpt[0])
        else:
            est.intercept_ = icpt
    elif name in _LINEAR_CLS:
        est.coef_ = t[prefix + "coef"]
        est.intercept_ = t[prefix + "intercept"]
        est.classes_ = _classes_array(m)
        if name in ("SGDClassifier", "Perceptron", "PassiveAggressiveClassifier"):
            est.t_ = 1.0
    elif name == "StandardScaler":
        est.mean_ = t.get(prefix + "sklearn/mean", t[prefix + "center"]) \
            if sk.get("has_mean", True) else None
        est.scale_ = t.get(prefix + "sklearn/scale", t[prefix + "scale"]) \
            if sk.get("has_scale", True) else None
        est.var_ = t.get(prefix + "sklearn/var") if sk.get("has_var", True) else None
        n = sk.get("n_samples_seen", 0)
        est.n_samples_seen_ = np.asarray(n, dtype=np.int64) if isinstance(n, list) else n
    elif name == "MinMaxScaler":
        est.scale_ = t[prefix + "scale"]
        est.min_ = t[prefix + "offset"]
        est.data_min_ = t[prefix + "sklearn/data_min"]
        est.data_max_ = t[prefix + "sklearn/data_max"]
        est.data_range_ = t[prefix + "sklearn/data_range"]
        est.n_samples_seen_ = sk.get("n_samples_seen", 0)
    elif name == "SimpleImputer":
        est.statistics_ = t[prefix + "statistics"]
        est._fit_dtype = np.dtype(np.float64)
        est.indicator_ = None
    elif name == "OneHotEncoder":
        offs = t[prefix + "offsets"]
        cats = t[prefix + "categories"]
        dts = sk.get("categories_dtype", ["<f8"] * nf)
        voc = m.get("vocabulary") or [None] * nf
        est.categories_ = [np.asarray(voc[j], dtype=object) if voc[j] is not None
                           else cats[offs[j]:offs[j + 1]].astype(np.dtype(dts[j]))
                           for j in range(nf)]
        est.drop_idx_ = None
        if prefix + "drop" in t:
            d = [None if int(v) < 0 else int(v) for v in t[prefix + "drop"]]
            est.drop_idx_ = np.asarray(d, dtype=np.dtype(sk.get("drop_idx_dtype", "|O")))
        est._drop_idx_after_grouping = est.drop_idx_
        est._infrequent_enabled = False
        est._n_features_outs = [len(c) - (0 if est.drop_idx_ is None or est.drop_idx_[j] is None
                                          else 1) for j, c in enumerate(est.categories_)]
    elif name in _SVM:
        _load_svm(est, name, m, t, prefix)
    elif name == "GaussianNB":
        est.classes_ = _classes_array(m)
        est.theta_ = t[prefix + "theta"]
        est.var_ = t[prefix + "var"]
        est.class_prior_ = t[prefix + "class_prior"]
        est.class_count_ = t.get(prefix + "sklearn/class_count", np.zeros(len(est.classes_)))
        est.epsilon_ = sk.get("epsilon", 0.0)
    elif name in _NB_DISCRETE:
        k = len(m["classes"])
        est.classes_ = _classes_array(m)
        if name == "CategoricalNB":
            offs = t[prefix + "offsets"]
            flp = t[prefix + "category_log_prob"]
            cc = t.get(prefix + "sklearn/category_count", np.zeros_like(flp))
            est.feature_log_prob_ = [flp[:, offs[j]:offs[j + 1]] for j in range(nf)]
            est.category_count_ = [cc[:, offs[j]:offs[j + 1]] for j in range(nf)]
            est.n_categories_ = np.diff(offs).astype(np.int64)
        else:
            est.feature_log_prob_ = t[prefix + "feature_log_prob"]
            est.feature_count_ = t.get(prefix + "sklearn/feature_count", np.zeros((k, nf)))
        est.class_log_prior_ = t.get(prefix + "class_log_prior",
                                     t.get(prefix + "sklearn/class_log_prior", np.zeros(k)))
        est.class_count_ = t.get(prefix + "sklearn/class_count", np.zeros(k))
        if name == "ComplementNB":
            est.feature_all_ = t.get(prefix + "sklearn/feature_all", np.zeros(nf))
    elif name in _KMEANS:
        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
        est.cluster_centers_ = t[prefix + "centers"]
        est._n_threads = _openmp_effective_n_threads()
        for k, v in sk.items():
            setattr(est, k, _dec_param(v))
    elif name in _DECOMP:
        est.components_ = t[prefix + "components"]
        k = est.components_.shape[0]
        est.explained_variance_ = t.get(prefix + "explained_variance", np.ones(k))
        if name != "TruncatedSVD":
            est.mean_ = t.get(prefix + "mean", np.zeros(nf))
            est.noise_variance_ = _dec_param(sk.get("noise_variance", 0.0))
        for a in ("explained_variance_ratio_", "singular_values_", "var_"):
            if prefix + "sklearn/" + a.rstrip("_") in t:
                setattr(est, a, t[prefix + "sklearn/" + a.rstrip("_")])
        for a in ("n_samples_", "n_samples_seen_", "batch_size_", "n_components_"):
            if a in sk:
                setattr(est, a, _dec_param(sk[a]))
    elif name in _KNN:
        # fitting a neighbours model only stores the data (and builds the same search tree)
        X = t[prefix + "fit_X"]
        if name == "KNeighborsClassifier":
            y = _classes_array(m)[t[prefix + "y"]]
        else:
            y = t[prefix + "y"]
            if sk.get("y_ndim", 1) == 1:
                y = y.reshape(-1)
        est.fit(X, y)
    elif name in _TREES:
        _load_sk_trees(est, name, m, t, prefix)
    elif name in _GB:
        _load_gb(est, name, m, t, prefix)
    elif name in _HGB:
        _load_hgb(est, name, m, t, prefix)
    elif name in _MLP:
        L = len(m["activations"]) + 1
        est.coefs_ = [np.ascontiguousarray(t["%slayers/%d/weight" % (prefix, i)].T)
                      for i in range(L)]
        est.intercepts_ = [t["%slayers/%d/bias" % (prefix, i)] for i in range(L)]
        est.n_layers_ = L + 1
        est.n_outputs_ = int(sk.get("n_outputs", est.coefs_[-1].shape[1]))
        est.out_activation_ = m["output_activation"]
        if name == "MLPClassifier":
            from sklearn.preprocessing import LabelBinarizer
            est.classes_ = _classes_array(m)
            est._label_binarizer = LabelBinarizer().fit(est.classes_)
    return est


def _load_columns(cls, node, t, prefix):
    m = node["model"]
    nf = int(m["n_features"])
    sk = m.get("sklearn", {})
    fitted, spec, used = [], [], set()
    remainder = sk.get("remainder") or "drop"
    for i, p in enumerate(m["transformers"]):
        est = "passthrough" if p.get("passthrough") else \
            _build(p, t, "%stransformers/%d/" % (prefix, i))
        cols = [int(c) for c in p["columns"]]
        used.update(cols)
        fitted.append((p["name"], est, cols))
        if p["name"] == "remainder":
            remainder = est
        else:
            spec.append((p["name"], est, cols))
    params = _dec_param(node.get("params", {}))
    ct = cls(transformers=spec, remainder=remainder, **params)
    rest = [c for c in range(nf) if c not in used]
    if isinstance(remainder, str) and remainder == "drop" and rest:
        fitted.append(("remainder", "drop", rest))
    ct.transformers_ = fitted
    ct._remainder = ("remainder", remainder, rest)
    ct._columns = [c for n_, _, c in fitted if n_ != "remainder"]
    ct._transformer_to_input_indices = {n_: c for n_, _, c in fitted}
    ct.sparse_output_ = bool(sk.get("sparse_output", False))
    ct._n_features = nf
    ct.n_features_in_ = nf
    # sklearn >= 1.2 runs passthrough parts through fitted identity FunctionTransformers
    from sklearn.preprocessing import FunctionTransformer
    ct._name_to_fitted_passthrough = {
        n_: FunctionTransformer(accept_sparse=True, check_inverse=False,
                                feature_names_out="one-to-one").fit(np.zeros((1, len(c))))
        for n_, e, c in fitted if isinstance(e, str) and e == "passthrough"}
    return ct


def _load_svm(est, name, m, t, prefix):
    sk = m.get("sklearn", {})
    nf = int(m["n_features"])
    est.support_vectors_ = t[prefix + "support_vectors"]
    est._dual_coef_ = t[prefix + "dual_coef"]
    est._intercept_ = t[prefix + "intercept"]
    est.support_ = t.get(prefix + "sklearn/support",
                         np.arange(len(est.support_vectors_))).astype(np.int32)
    est._gamma = float(m["gamma"])
    est._sparse = False
    est.fit_status_ = int(sk.get("fit_status", 0))
    est.shape_fit_ = tuple(sk.get("shape_fit", [len(est.support_vectors_), nf]))
    est.dual_coef_ = est._dual_coef_
    est.intercept_ = est._intercept_.copy()
    if name in ("SVC", "NuSVC"):
        est.classes_ = _classes_array(m)
        est._n_support = t[prefix + "n_support"].astype(np.int32)
        est.class_weight_ = np.asarray(sk.get("class_weight", [1.0] * len(est.classes_)))
        if prefix + "prob_a" in t:
            est._probA = t[prefix + "prob_a"]
            est._probB = t[prefix + "prob_b"]
        else:
            est._probA = np.empty(0)
            est._probB = np.empty(0)
        if len(est.classes_) == 2:  # sklearn's public binary coefficients are libsvm's negated
            est.intercept_ = -est.intercept_
            est.dual_coef_ = -est.dual_coef_
    else:
        est._n_support = t.get(prefix + "sklearn/n_support", np.array(
            [0, len(est.support_vectors_)])).astype(np.int32)
        est._probA = np.empty(0)
        est._probB = np.empty(0)


def _load_sk_trees(est, name, m, t, prefix):
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
    nf = int(m["n_features"])
    clf = m["task"] == "classification"
    if clf:
        est.classes_ = _classes_array(m)
        est.n_classes_ = len(est.classes_)
        nc, no = est.n_classes_, 1
    else:
        nc, no = 1, int(m["n_outputs"])
    est.n_outputs_ = no
    trees = []
    for _, l, r, f, th, v in _split_trees(t, prefix):
        value = v.reshape(-1, 1, nc) if clf else v.reshape(-1, no, 1)
        trees.append(_tree_object(nf, nc, no, l, r, f, th, value))
    if name.startswith("DecisionTree"):
        est.tree_ = trees[0]
        est.max_features_ = nf
        return
    base = DecisionTreeClassifier if clf else DecisionTreeRegressor
    ests = []
    for tr in trees:
        e = base()
        e.tree_ = tr
        e.n_features_in_ = nf
        e.n_outputs_ = no
        e.max_features_ = nf
        if clf:
            e.classes_ = est.classes_
            e.n_classes_ = est.n_classes_
        ests.append(e)
    est.estimators_ = ests


def _load_gb(est, name, m, t, prefix):
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.ensemble import _gb_losses
    from sklearn.tree import DecisionTreeRegressor
    nf = int(m["n_features"])
    K = int(m["n_outputs"])
    sk = m.get("sklearn", {})
    trees = [(i, _tree_object(nf, 1, 1, l, r, f, th, v.reshape(-1, 1, 1)))
             for i, l, r, f, th, v in _split_trees(t, prefix)]
    n_stages = len(trees) // K
    est.estimators_ = np.empty((n_stages, K), dtype=object)
    for i, tr in trees:
        e = DecisionTreeRegressor()
        e.tree_ = tr
        e.n_features_in_ = nf
        e.n_outputs_ = 1
        e.max_features_ = nf
        est.estimators_[i // K, i % K] = e
    est.n_estimators_ = n_stages
    est.train_score_ = np.zeros(n_stages)
    init = sk["init"]
    if name == "GradientBoostingClassifier":
        est.classes_ = _classes_array(m)
        est.n_classes_ = len(est.classes_)
        est._n_classes = est.n_classes_
        est._loss = (_gb_losses.MultinomialDeviance(est.n_classes_) if est.n_classes_ > 2
                     else _gb_losses.BinomialDeviance(2))
        if init != "zero":
            d = DummyClassifier(strategy="prior")
            d.classes_ = est.classes_
            d.n_classes_ = est.n_classes_
            d.class_prior_ = np.asarray(init["class_prior"])
            d.n_outputs_ = 1
            d._strategy = "prior"
            d.sparse_output_ = False
            d.n_features_in_ = nf
            init = d
    else:
        est.n_classes_ = 1
        est._n_classes = 1
        lf = _gb_losses.LOSS_FUNCTIONS[est.loss]
        est._loss = lf(alpha=est.alpha) if est.loss in ("huber", "quantile") else lf()
        if init != "zero":
            d = DummyRegressor(strategy=init["strategy"] if init["strategy"] in (
                "mean", "median", "quantile", "constant") else "mean")
            d.constant_ = np.asarray([[init["constant"]]])
            d.n_outputs_ = 1
            d.n_features_in_ = nf
            init = d
    est.init_ = init


def _load_hgb(est, name, m, t, prefix):
    from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    nf = int(m["n_features"])
    K = int(m["n_outputs"])
    sk = m["sklearn"]
    offs = t[prefix + "trees/offsets"]
    dl = t[prefix + "trees/default_left"]
    preds = []
    for i, l, r, f, th, v in _split_trees(t, prefix):
        lo = int(offs[i])
        nodes = np.zeros(len(l), dtype=PREDICTOR_RECORD_DTYPE)
        leaf = l == -1
        nodes["is_leaf"] = leaf
        nodes["left"] = np.where(leaf, 0, l)
        nodes["right"] = np.where(leaf, 0, r)
        nodes["feature_idx"] = f
        nodes["num_threshold"] = th
        nodes["missing_go_to_left"] = dl[lo:lo + len(l)]
        nodes["value"] = v[:, 0]
        p = TreePredictor(nodes, np.zeros((0, 8), dtype=np.uint32),
                          np.zeros((0, 8), dtype=np.uint32))
        if i % K == 0:
            preds.append([])
        preds[-1].append(p)
    est._predictors = preds
    est.n_trees_per_iteration_ = K
    est._n_features = nf
    est.is_categorical_ = None
    bm = _BinMapper()
    bm.is_categorical_ = np.zeros(nf, dtype=np.uint8)
    bm.bin_thresholds_ = [np.zeros(0)] * nf
    bm.missing_values_bin_idx_ = bm.n_bins - 1
    est._bin_mapper = bm
    est._baseline_prediction = t[prefix + "base_score"].reshape(sk["baseline_shape"])
    if name == "HistGradientBoostingClassifier":
        est.classes_ = _classes_array(m)
        est._loss = est._get_loss(sample_weight=None)
    else:
        est._loss = est._get_loss(sample_weight=None)
    est.do_early_stopping_ = False


def load(path, key=None, passphrase=None):
    """Rebuild the fitted scikit-learn estimator stored at path by dump() (or by another
    producer using the same kinds and an sklearn estimator name). Never unpickles: the class
    comes from a fixed table, the state from arrays and parameters.
    An encrypted file needs key= or passphrase= (as given to dump); a wrong one raises
    trove.TroveError with code TROVE_E_KEY ("wrong key ..." / "wrong passphrase ..."), an
    altered file TROVE_E_DECRYPT; nothing is decrypted to disk."""
    meta, tensors = _read(os.fspath(path), key=key, passphrase=passphrase)
    if "kind" not in meta:
        raise TypeError("trove.sklearn.load: %s holds no model (no 'kind'): use trove.load"
                        % path)
    est = _build(meta, tensors, "")
    names = meta.get("signature", {}).get("inputs", {}).get("names")
    if names is not None:
        first = est
        while type(first).__name__ == "Pipeline":
            first = first.steps[0][1]
        first.feature_names_in_ = np.asarray(names, dtype=object)
    return est
