#!/bin/sh
# demo_models.sh: a model's whole story in C alone, on bundled data (examples/data/iris.csv,
# Fisher's iris as shipped with scikit-learn): fit, save, inspect, verify, load, predict; then
# the same file from Python, if scikit-learn is there. Called by examples/demo.sh (make demo).
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
T=${TROVE:-$root/build/trove}
D=$(mktemp -d "${TMPDIR:-/tmp}/trove-models.XXXXXX")
trap 'rm -rf "$D"' EXIT INT TERM
DATA=$root/examples/data/iris.csv

echo "== 1. fit: multinomial logistic regression (L2, C=1, Newton's method), in C"
"$T" fit logistic "$DATA" --target species -o "$D/iris.trove" 2>&1

echo
echo "== 2. save: one file, weights + kind + signature ($(wc -c < "$D/iris.trove") bytes)"
"$T" inspect "$D/iris.trove" 2>/dev/null || echo "(trove inspect is not in this build)"

echo
echo "== 3. verify every checksum"
"$T" verify "$D/iris.trove" 2>/dev/null || echo "(trove verify is not in this build)"

echo
echo "== 4. load and predict: CSV in (columns matched by name, the label column ignored)"
head -1 "$DATA" > "$D/few.csv"
sed -n "2p;52p;102p" "$DATA" >> "$D/few.csv"
cat "$D/few.csv"
echo "-> labels:"
"$T" predict "$D/iris.trove" "$D/few.csv"
echo "-> probabilities:"
"$T" predict "$D/iris.trove" "$D/few.csv" --proba

echo
echo "== 5. accuracy on the training file (predictions written to a CSV file)"
"$T" predict "$D/iris.trove" "$DATA" -o "$D/pred.csv"
tail -n +2 "$D/pred.csv" > "$D/pred2.csv"
right=$(tail -n +2 "$DATA" | cut -d, -f5 | paste -d, - "$D/pred2.csv" \
        | awk -F, '{n++; if ($1==$2) r++} END {print r "/" n}')
echo "correct: $right"

if [ -x "$root/build/examples/predict_model" ]; then
    echo
    echo "== 5b. the C API (examples/predict_model.c): open, bind, predict one row"
    "$root/build/examples/predict_model" "$D/iris.trove" 6.3 3.3 6.0 2.5
fi

echo
echo "== 6. a hostile model is refused, with a reason"
printf 'not a model' > "$D/bad.trove"
"$T" predict "$D/bad.trove" "$D/few.csv" 2>&1 || true

if /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
    echo
    echo "== 7. the same file in Python: a real scikit-learn estimator, no pickle"
    PYTHONPATH=$root/python${PYTHONPATH:+:$PYTHONPATH} \
    TROVE_LIB=${TROVE_LIB:-$root/build/libtrove.so} \
    /usr/bin/python3 - "$D/iris.trove" "$DATA" <<'PY'
import sys
import warnings
import numpy as np
import trove.sklearn
est = trove.sklearn.load(sys.argv[1])
X = np.loadtxt(sys.argv[2], delimiter=",", skiprows=1, usecols=range(4))
print(type(est).__module__ + "." + type(est).__name__, "C =", est.C)
warnings.simplefilter("ignore")  # X is a plain array; the model knows the column names
print("predict:", est.predict(X[[0, 50, 100]]))
PY
fi
