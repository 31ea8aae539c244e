"""Regenerate the seed corpus fuzz/corpus/pickle/ (small pickles and joblib files of the
estimators the importer maps, across protocols and containers). Run once; the seeds are committed.
Usage: /usr/bin/python3 tools/make_pickle_corpus.py fuzz/corpus/pickle"""
import hashlib
import io
import os
import pickle
import sys
import warnings

import joblib
import numpy as np
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.tree import DecisionTreeClassifier

warnings.filterwarnings("ignore")
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.RandomState(0)
X = rng.normal(size=(30, 3))
yc = (X[:, 0] + X[:, 1] > 0).astype(int)
yr = X @ [1.0, -2.0, 0.5]
models = [LinearRegression().fit(X, yr),
          LogisticRegression().fit(X, yc),
          StandardScaler().fit(X),
          make_pipeline(MinMaxScaler(), LogisticRegression()).fit(X, yc),
          DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, yc),
          RandomForestRegressor(n_estimators=2, max_depth=2, random_state=0).fit(X, yr),
          GradientBoostingClassifier(n_estimators=2, max_depth=1, random_state=0).fit(X, yc),
          MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(X, yc),
          (StandardScaler().fit(X), LinearRegression().fit(X, yr))]


def save(data):
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


for i, m in enumerate(models):
    for proto in (0, 2, 4, 5) if i < 3 else (i % 6,):
        save(pickle.dumps(m, protocol=proto))
    for compress in (0, 3) if i % 2 else (0,):
        b = io.BytesIO()
        joblib.dump(m, b, compress=compress)
        save(b.getvalue())
save(b"\x80\x02(K\x01\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01]q\x00h\x00a\x8f(N\x90t.")
save(b"(lp0\nI1\naS'a\\x00'\np1\naVx\\u00e9\nag1\na.")
