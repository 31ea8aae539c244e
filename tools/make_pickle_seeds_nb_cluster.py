"""Write the named seeds fuzz/corpus/pickle/sk-*.{pkl,joblib}: small pickles of the naive Bayes,
k-means and decomposition estimators the importer maps (and four damaged ones it refuses), as
Debian's scikit-learn writes them. Run once; the seeds are committed (tests/unit/
test_model_cluster.c converts some of them under OOM torture, `make check-fuzz` replays all).
Usage: /usr/bin/python3 tools/make_pickle_seeds_nb_cluster.py fuzz/corpus/pickle"""
import io
import os
import pickle
import sys
import warnings

import joblib
import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA, IncrementalPCA, TruncatedSVD
from sklearn.naive_bayes import BernoulliNB, CategoricalNB, ComplementNB, MultinomialNB
from sklearn.pipeline import make_pipeline

warnings.filterwarnings("ignore")
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.RandomState(0)
X = rng.poisson(2.0, size=(12, 3)).astype(float)
y = np.arange(12) % 3
Xr = rng.normal(size=(12, 3))


def joblib_bytes(est):
    b = io.BytesIO()
    joblib.dump(est, b)
    return b.getvalue()


def damaged(est, **attrs):
    est.__dict__.update(attrs)
    return est


bad_flp = MultinomialNB().fit(X, y)
bad_flp.feature_log_prob_[1, 1] = np.nan
bad_pca = PCA(2, whiten=True).fit(Xr)
bad_pca.explained_variance_[1] = 0.0
Xc = np.c_[rng.randint(0, 3, 12), rng.randint(0, 2, 12)]
yc = np.arange(12) % 2
bad_cat = CategoricalNB().fit(Xc, yc)
seeds = {
    "sk-multinomialnb.pkl": pickle.dumps(MultinomialNB().fit(X, y), protocol=2),
    "sk-bernoullinb-threshold.pkl": pickle.dumps(BernoulliNB(binarize=1.5).fit(X, y), protocol=4),
    "sk-bernoullinb-none.joblib": joblib_bytes(BernoulliNB(binarize=None).fit(X > 1, y)),
    "sk-complementnb-norm.pkl": pickle.dumps(ComplementNB(norm=True).fit(X, y), protocol=4),
    "sk-categoricalnb.joblib": joblib_bytes(CategoricalNB().fit(Xc, yc)),
    "sk-kmeans.pkl": pickle.dumps(KMeans(2, n_init=1, random_state=0).fit(Xr), protocol=2),
    "sk-minibatchkmeans.joblib": joblib_bytes(MiniBatchKMeans(2, n_init=1,
                                                              random_state=0).fit(Xr)),
    "sk-pca-whiten.pkl": pickle.dumps(PCA(2, whiten=True).fit(Xr), protocol=2),
    "sk-truncatedsvd.pkl": pickle.dumps(TruncatedSVD(2, random_state=0).fit(Xr), protocol=4),
    "sk-incrementalpca.pkl": pickle.dumps(IncrementalPCA(2).fit(Xr), protocol=4),
    "sk-pipeline-pca-kmeans.joblib": joblib_bytes(
        make_pipeline(PCA(2), KMeans(2, n_init=1, random_state=0)).fit(Xr)),
    "sk-bad-multinomialnb-nan.pkl": pickle.dumps(bad_flp, protocol=4),
    "sk-bad-bernoullinb-binarize.pkl": pickle.dumps(
        damaged(BernoulliNB().fit(X, y), binarize="yes"), protocol=4),
    "sk-bad-kmeans-nclusters.pkl": pickle.dumps(
        damaged(KMeans(2, n_init=1, random_state=0).fit(Xr), n_clusters=3), protocol=4),
    "sk-bad-pca-whiten-zero.pkl": pickle.dumps(bad_pca, protocol=4),
    "sk-bad-categoricalnb-ncat.pkl": pickle.dumps(
        damaged(bad_cat, n_categories_=bad_cat.n_categories_ + 1), protocol=4),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    print(name, len(data))
