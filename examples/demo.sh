#!/bin/sh
# demo.sh: `make demo`: fit two small models on the iris data in C, save them in a trove file,
# then show what the trove tool does with it: inspect, ls, verify, cat, diff, and a damaged copy.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
trove="$root/build/trove"
save="$root/build/examples/save_model"
for b in "$trove" "$save"; do
    [ -x "$b" ] || { echo "demo: $b is missing: run 'make all' first" >&2; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/trove-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cp "$root/examples/data/iris.csv" "$work/"
cd "$work"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Show the command as a user would type it (binaries by their base name), then run it.
run() { bin=$1; shift; printf '$ %s %s\n' "$(basename "$bin")" "$*"; "$bin" "$@"; }
[ -t 1 ] || step() { printf '\n== %s\n' "$*"; }

step "1. Fit a least-squares regression and a nearest-centroid classifier on the 150 iris flowers in C, and save both with their data and metadata in one file"
run "$save" iris.csv iris.trove

step "2. inspect: format, features, model digest, metadata tree and tensor table"
run "$trove" inspect iris.trove

step "3. ls: one line per tensor"
run "$trove" ls iris.trove

step "4. verify: read every byte and check every checksum (exit 0 only when all hold)"
run "$trove" verify iris.trove

step "5. cat: print tensors as text, and export the (compressed) training data as .npy"
run "$trove" cat iris.trove regression/coef
run "$trove" cat iris.trove centroid/means
run "$trove" cat iris.trove data/features -o features.npy
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    printf '$ python3 -c "numpy.load(features.npy)"\n'
    /usr/bin/python3 -c 'import numpy as np; a = np.load("features.npy"); print("numpy reads it:", a.dtype, a.shape, "first row", a[0].tolist())'
fi

step "6. diff: refit with ridge regularization (lambda = 10) and compare (exit 1 = different)"
run "$save" --ridge 10 iris.csv iris-ridge.trove
set +e
run "$trove" diff iris.trove iris-ridge.trove
rc=$?
set -e
[ $rc -eq 1 ] || { echo "demo: trove diff returned $rc, expected 1" >&2; exit 1; }

step "7. Damage one byte of the compressed training data: verify names the tensor and exits 4"
cp iris.trove damaged.trove
off=$("$trove" inspect --json --no-digest iris.trove | /usr/bin/python3 -c \
    'import json,sys; print([t["offset"] for t in json.load(sys.stdin)["tensors"] if t["name"] == "data/features"][0] + 100)' 2>/dev/null || echo 400)
printf '\377' | dd of=damaged.trove bs=1 seek="$off" conv=notrunc 2>/dev/null
set +e
run "$trove" verify damaged.trove
rc=$?
set -e
[ $rc -eq 4 ] || { echo "demo: trove verify returned $rc, expected 4" >&2; exit 1; }

step "8. Models: fit in C, predict from CSV, load the same file as a scikit-learn estimator"
sh "$root/examples/demo_models.sh"

printf '\ndemo: done (files were in %s, now removed)\n' "$work"
