"""`trove convert` over real-world model files (/work/shared/wild, untrusted: never unpickled
here). A file the README expects to CONVERT+MATCH, whose classes trove supports, must convert and
reproduce the reference outputs (<file>.npz, loaded with allow_pickle=False); every other file must
be refused cleanly: exit status 1, a message naming the reason, no output file, no crash.
The per-file outcome is appended to $TROVE_WILD_REPORT (JSON lines) when set."""
import json
import os
import re

import numpy as np
import pytest

from convert_helpers import compare_all, convert, metadata

WILD = os.environ.get("TROVE_WILD", "/work/shared/wild")
SUPPORTED = {"LinearRegression", "Ridge", "Lasso", "ElasticNet", "LogisticRegression",
             "LinearSVC", "SGDClassifier", "SGDRegressor", "StandardScaler", "MinMaxScaler",
             "DecisionTreeClassifier", "DecisionTreeRegressor", "RandomForestClassifier",
             "RandomForestRegressor", "ExtraTreesClassifier", "ExtraTreesRegressor",
             "GradientBoostingClassifier", "GradientBoostingRegressor", "MLPClassifier",
             "MLPRegressor", "Pipeline", "SimpleImputer", "HistGradientBoostingClassifier",
             "HistGradientBoostingRegressor", "ExtraTreeClassifier", "ExtraTreeRegressor",
             "RidgeCV", "LassoCV", "ElasticNetCV", "LogisticRegressionCV", "RidgeClassifier",
             "GridSearchCV", "RandomizedSearchCV", "SVC", "SVR", "NuSVC", "NuSVR", "GaussianNB",
             "KNeighborsClassifier", "KNeighborsRegressor", "LabelEncoder", "OneHotEncoder",
             "ColumnTransformer"}


def _rows():
    readme = os.path.join(WILD, "README.md")
    if not os.path.exists(readme):
        return []
    rows = []
    for line in open(readme, encoding="utf-8"):
        m = re.match(r"\|\s*`([^`]+)`\s*\|", line)
        if not m:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append((m.group(1), cells[5], cells[4], cells[9]))  # file, type, producer, expect
    return rows


ROWS = _rows()


def _supported(typ, producer):
    if "keras" in producer or "xgboost" in producer:
        return False
    names = set(re.findall(r"[A-Z][A-Za-z]+", typ))
    return bool(names) and names <= SUPPORTED


def _proba_rule(node):
    """sklearn >= 1.5 pickles LogisticRegression(multi_class='deprecated'): its own
    predict_proba is the logistic one for 2 classes, while sklearn 1.2.1 (which made the
    references) reads 'deprecated' as multinomial, i.e. softmax([-d, d]). trove reproduces the
    producer; for these files predict_proba is checked against the producer's rule applied to
    the reference decision_function (and predict/decision_function against the reference)."""
    if (node.get("estimator", "").endswith("LogisticRegression")
            and node.get("params", {}).get("multi_class") == "deprecated"
            and len(node["model"].get("classes", [])) == 2):
        return "logistic"
    return None


def _report(entry):
    path = os.environ.get("TROVE_WILD_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(entry) + "\n")


@pytest.mark.skipif(not ROWS, reason="no wild model files at %s (set TROVE_WILD)" % WILD)
@pytest.mark.parametrize("name,typ,producer,expect", ROWS, ids=[r[0] for r in ROWS])
def test_wild_file(tmp_path, name, typ, producer, expect):
    src = os.path.join(WILD, name)
    out = tmp_path / "m.trove"
    r = convert(src, out)
    assert r.returncode < 128, "crashed: %s" % r.stderr
    must_match = expect.startswith("CONVERT+MATCH") and _supported(typ, producer)
    entry = {"file": name, "type": typ, "expect": expect.split(" ")[0]}
    if r.returncode != 0:
        msg = r.stderr.strip()
        entry.update(result="refused", message=msg)
        _report(entry)
        assert not must_match, "expected a conversion, got: %s" % msg
        assert r.returncode == 1 and msg.startswith("trove convert: "), msg
        assert len(msg) > len("trove convert: ") + len(src) + 10, "message without a reason"
        assert not os.path.exists(out), "a refused conversion left a file"
        return
    written = [l.split(": ")[0] for l in r.stdout.splitlines() if l.strip()]
    refpath = src + ".npz"
    assert os.path.exists(refpath) or not must_match
    if not os.path.exists(refpath):
        entry.update(result="converted (no reference)")
        _report(entry)
        return
    ref = dict(np.load(refpath, allow_pickle=False))
    rtol = 1e-7 if re.search(r"MLP|Boosting|SVC|SVR", typ) else 1e-9
    notes = []
    for path in written:
        key = ""
        m = re.search(r"\.([^./]+)\.trove$", path)
        if len(written) > 1 and m:
            key = m.group(1) + "__"
        meta = metadata(path)
        last = meta
        while last.get("kind") == "pipeline":
            last = last["model"]["steps"][-1]
        is_clf = last["model"].get("task") == "classification"
        notes += compare_all(path, ref, key, tmp_path, rtol, is_clf,
                             proba_rule=_proba_rule(last))
    entry.update(result="converted+matched", notes=notes)
    _report(entry)
