"""make_xgboost_corpus.py: the seed corpus of fuzz/fuzz_xgboost.c: small models written by the
installed xgboost (Booster.save_model as JSON and UBJSON): binary with NaN, 3 classes, a dart
regressor, a gblinear classifier, a pruned exact tree (deleted nodes), named files (kept by
fuzz/run.sh's merge). Run once: /usr/bin/python3 tools/make_xgboost_corpus.py fuzz/corpus/xgboost
"""
import os
import sys

import numpy as np
import xgboost as xgb


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.RandomState(0)
    X = rng.randn(120, 3)
    Xn = X.copy()
    Xn[rng.rand(*X.shape) < 0.15] = np.nan
    yb = (X[:, 0] + X[:, 1] > 0).astype(int)
    ym = np.digitize(X[:, 0], [-0.5, 0.5])
    yr = X[:, 0] * 2 + X[:, 1]
    models = {
        "binary_nan": xgb.XGBClassifier(n_estimators=3, max_depth=2).fit(Xn, yb),
        "multi": xgb.XGBClassifier(n_estimators=2, max_depth=2).fit(X, ym),
        "dart": xgb.XGBRegressor(booster="dart", n_estimators=3, max_depth=2,
                                 rate_drop=0.5).fit(Xn, yr),
        "linear": xgb.XGBClassifier(booster="gblinear", n_estimators=3).fit(X, yb),
        "pruned": xgb.XGBRegressor(tree_method="exact", gamma=5.0, n_estimators=2,
                                   max_depth=3).fit(X, yr),
        "poisson": xgb.XGBRegressor(objective="count:poisson", n_estimators=2,
                                    max_depth=2).fit(X, np.abs(np.round(yr))),
    }
    for name, m in models.items():
        for fmt in ("json", "ubj"):
            m.save_model(os.path.join(out, "%s.%s" % (name, fmt)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/xgboost")
