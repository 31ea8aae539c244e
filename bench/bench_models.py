"""bench_models.py: trove versus joblib + scikit-learn, in the same run, on the three models of
issue 3: LinearRegression (10 features), RandomForestRegressor (100 trees, depth 10, 20
features), MLPRegressor (256x256, 20 features). Figures: file size; process start to first
prediction of one row (`trove predict` vs python3 + joblib.load + predict, wall time); warm load
time and single-thread throughput on 100,000 rows (CPU time of the process, so that other jobs on
a shared machine do not count). Medians; ratios trove/peer.
Run: make && /usr/bin/python3 bench/bench_models.py [--quick]"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("TROVE_LIB", os.path.join(ROOT, "build", "libtrove.so"))
TROVE = os.environ.get("TROVE", os.path.join(ROOT, "build", "trove"))

import joblib  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import make_regression  # noqa: E402
from sklearn.ensemble import RandomForestRegressor  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402
from sklearn.neural_network import MLPRegressor  # noqa: E402

import trove.sklearn as ts  # noqa: E402

QUICK = "--quick" in sys.argv
ROWS = 100_000
REPS = 3 if QUICK else 7


def build_bench_binary(tmp):
    exe = os.path.join(tmp, "bench_models")
    pc = subprocess.run(["pkg-config", "--libs", "libzstd", "libxxhash", "libsodium", "sqlite3"],
                        capture_output=True, text=True).stdout.split()
    subprocess.run(["cc", "-O2", "-std=c11", "-D_GNU_SOURCE", "-I" + os.path.join(ROOT, "include"),
                    os.path.join(ROOT, "bench", "bench_models.c"),
                    os.path.join(ROOT, "build", "libtrove.a"), "-o", exe] + pc +
                   ["-lpthread", "-lm"], check=True)
    return exe


def models():
    X10, y10 = make_regression(n_samples=2000, n_features=10, noise=1.0, random_state=0)
    Xf, yf = make_regression(n_samples=20000, n_features=20, noise=5.0, random_state=0)
    yield "LinearRegression(10)", LinearRegression().fit(X10, y10), 10
    yield ("RandomForestRegressor(100 trees, depth 10, 20 features)",
           RandomForestRegressor(n_estimators=100, max_depth=10, random_state=0,
                                 n_jobs=1).fit(Xf, yf), 20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPRegressor(hidden_layer_sizes=(256, 256), max_iter=3, random_state=0)
        mlp.fit(Xf[:5000], yf[:5000])
    yield "MLPRegressor(256x256, 20 features)", mlp, 20


def wall(cmd, env=None):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - t0


def main():
    tmp = tempfile.mkdtemp(prefix="trove-bench-")
    exe = build_bench_binary(tmp)
    rng = np.random.RandomState(1)
    results = []
    for name, est, nf in models():
        tp, jp = os.path.join(tmp, "m.trove"), os.path.join(tmp, "m.joblib")
        ts.dump(est, tp)
        joblib.dump(est, jp)
        X = rng.randn(ROWS, nf)
        xbin = os.path.join(tmp, "x.f64")
        X.tofile(xbin)
        one = os.path.join(tmp, "one.csv")
        np.savetxt(one, X[:1], delimiter=",")
        # process start to first prediction, alternating
        py = ("import joblib,numpy as np;m=joblib.load(%r);"
              "print(m.predict(np.loadtxt(%r,delimiter=',').reshape(1,-1)))" % (jp, one))
        t_c, t_py = [], []
        for _ in range(REPS):
            t_c.append(wall([TROVE, "predict", tp, one]))
            t_py.append(wall(["/usr/bin/python3", "-c", py]))
        # warm load + throughput: trove in C, sklearn in this process
        r = json.loads(subprocess.run([exe, tp, xbin, str(ROWS), str(nf)], check=True,
                                      capture_output=True, text=True).stdout)
        loads, thr = [], []
        for _ in range(REPS):
            t0 = time.process_time()
            m = joblib.load(jp)
            loads.append(time.process_time() - t0)
        for _ in range(3):
            t0 = time.process_time()
            m.predict(X)
            thr.append(ROWS / (time.process_time() - t0))
        res = {
            "model": name,
            "size_trove": os.path.getsize(tp), "size_joblib": os.path.getsize(jp),
            "first_pred_trove_s": statistics.median(t_c),
            "first_pred_python_s": statistics.median(t_py),
            "first_pred_trove_min_s": min(t_c), "first_pred_python_min_s": min(t_py),
            "load_trove_s": r["load_s"], "load_joblib_s": statistics.median(loads),
            "rows_per_s_trove": r["rows_per_s"], "rows_per_s_sklearn": statistics.median(thr),
        }
        results.append(res)
        print("%-55s size %8.1f KB vs %8.1f KB | first prediction %6.2f ms vs %7.1f ms (x%.0f;"
              " min %.2f vs %.1f ms)"
              " | warm load %8.3f ms vs %8.3f ms | %10.0f vs %10.0f rows/s (x%.2f)" % (
                  name, res["size_trove"] / 1e3, res["size_joblib"] / 1e3,
                  res["first_pred_trove_s"] * 1e3, res["first_pred_python_s"] * 1e3,
                  res["first_pred_python_s"] / res["first_pred_trove_s"],
                  res["first_pred_trove_min_s"] * 1e3, res["first_pred_python_min_s"] * 1e3,
                  res["load_trove_s"] * 1e3, res["load_joblib_s"] * 1e3,
                  res["rows_per_s_trove"], res["rows_per_s_sklearn"],
                  res["rows_per_s_trove"] / res["rows_per_s_sklearn"]), flush=True)
    with open(os.path.join(ROOT, "build", "bench_models.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
