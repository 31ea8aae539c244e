#!/bin/sh
# test_encrypt_write.sh: encryption on every write of the CLI: `trove convert --encrypt` of real
# scikit-learn joblib files (made here by /usr/bin/python3), `trove fit --encrypt`, and `trove
# predict --key` on the encrypted models: the decrypted output equals the plain conversion
# (tensors and metadata but the creation time), predictions equal the plain model's and
# scikit-learn's, inspect shows only public facts, wrong / missing keys exit 6 with one clear
# line and leave no output, tampering exits 4, no plaintext or temporary file is left behind.
# Needs $TROVE (the binary).
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
TROVE=${TROVE:-$here/build/trove}
case $TROVE in /*) ;; *) TROVE=$(pwd)/$TROVE ;; esac
PY=/usr/bin/python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/trove-encw.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "  FAILED: $*"; }
# expect CODE DESCRIPTION -- command...: run, compare the exit code
expect() {
    want=$1; what=$2; shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" = "$want" ]; then ok; else bad "$what: exit $got, expected $want"; cat "$tmp/err"; fi
}
err_has() { if grep -q -- "$1" "$tmp/err"; then ok; else bad "stderr lacks '$1'"; cat "$tmp/err"; fi; }
out_has() { if grep -q -- "$1" "$tmp/out"; then ok; else bad "stdout lacks '$1'"; cat "$tmp/out"; fi; }
one_line_err() { if [ "$(wc -l <"$tmp/err")" -eq 1 ]; then ok; else bad "stderr is not one line:"; cat "$tmp/err"; fi; }
absent() { if [ -e "$1" ]; then bad "$1 exists"; else ok; fi; }
same_file() { if cmp -s "$1" "$2"; then ok; else bad "$1 and $2 differ"; diff "$1" "$2" | head -5; fi; }
is_encrypted() {
    if [ "$(head -c 7 "$1" | tail -c 6)" = "TRVENC" ]; then ok; else bad "$1 is not encrypted"; fi
    if [ "$(stat -c %a "$1")" = 600 ]; then ok; else bad "$1 has mode $(stat -c %a "$1")"; fi
}
# no_leftovers: no temporary file or private directory in the work directory
no_leftovers() {
    if ls -A "$tmp" | grep -q -e '^\.trove-convert-' -e '\.tmp-'; then
        bad "left behind: $(ls -A "$tmp" | grep -e '^\.trove-convert-' -e '\.tmp-')"
    else
        ok
    fi
}
# same_model A B: trove diff --json finds identical tensors, and metadata equal but "created"
same_model() {
    "$TROVE" diff --json "$1" "$2" >"$tmp/diff.json" 2>"$tmp/diff.err"
    if "$PY" - "$tmp/diff.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t, m = d["tensors"], d["metadata"]
assert not t["changed"] and not t["only_in_a"] and not t["only_in_b"] and t["identical"] > 0, t
assert not m["added"] and not m["removed"], m
assert all(c["path"] == "created" for c in m["changed"]), m["changed"]
PY
    then ok; else bad "$1 and $2 are not the same model"; cat "$tmp/diff.err"; fi
}

cd "$tmp" || exit 1
shm_before=$(ls -A /dev/shm 2>/dev/null | grep -c '^\.trove-convert-')

# ---- fixtures: real scikit-learn models saved with joblib, inputs, sklearn's predictions ----
if ! "$PY" - <<'PY' 2>"$tmp/py.err"
import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
rng = np.random.RandomState(7)
X = rng.randn(300, 4)
y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)
rf = RandomForestClassifier(n_estimators=8, max_depth=5, random_state=0).fit(X, y)
joblib.dump(rf, "rf.joblib", compress=3)  # zlib-compressed joblib
lr = LogisticRegression(max_iter=500).fit(X, y)
ridge = Ridge(alpha=0.5).fit(X, X @ np.array([1.5, -2.0, 0.25, 3.0]) + 0.1)
joblib.dump({"clf": lr, "reg": ridge}, "pair.joblib")
np.savetxt("X.csv", X, delimiter=",", header="a,b,c,d", comments="", fmt="%.17g")
np.savetxt("rf_sklearn.csv", rf.predict(X), fmt="%d")
np.savetxt("ridge_sklearn.csv", ridge.predict(X), fmt="%.17g")
# training data for trove fit: a header and a target column
Y = X @ np.array([0.5, 1.0, -1.5, 2.0]) + 0.3 + 0.01 * rng.randn(300)
np.savetxt("train.csv", np.column_stack([X, Y]), delimiter=",", header="a,b,c,d,y",
           comments="", fmt="%.17g")
np.savetxt("cls.csv", np.column_stack([X, y]), delimiter=",", header="a,b,c,d,label",
           comments="", fmt="%.17g")
PY
then
    cat "$tmp/py.err"
    echo "0 passed, 1 failed"
    exit 1
fi
"$TROVE" keygen --symmetric -o data >/dev/null && "$TROVE" keygen --symmetric -o other >/dev/null ||
    { echo "keygen failed"; echo "0 passed, 1 failed"; exit 1; }
echo "correct horse battery" >pw.txt
TROVE_TEST_PASS="correct horse battery"; export TROVE_TEST_PASS
TROVE_TEST_WRONG="wrong horse"; export TROVE_TEST_WRONG
kdf="--kdf-ops 1 --kdf-mem 8192" # the cheapest Argon2id: tests, not production

# ---- help mentions the option --------------------------------------------------------------
for cmd in convert fit predict; do
    expect 0 "$cmd --help" -- "$TROVE" $cmd --help
    out_has "exit codes"
done
expect 0 "convert --help" -- "$TROVE" convert --help
out_has "--encrypt"
expect 0 "predict --help" -- "$TROVE" predict --help
out_has "--key"

# ---- convert --encrypt: one estimator ------------------------------------------------------
expect 0 "convert plain" -- "$TROVE" convert rf.joblib -o rf.trove
expect 0 "convert --encrypt --key" -- "$TROVE" convert rf.joblib -o rf.enc --encrypt --key data.key
out_has "rf.enc: sklearn.ensemble.RandomForestClassifier (encrypted)"
is_encrypted rf.enc
no_leftovers
# no plaintext: neither the estimator name nor the tensor names appear in the bytes
if LC_ALL=C grep -q -a -e "RandomForest" -e "sklearn" -e "threshold" rf.enc; then
    bad "rf.enc holds plaintext"
else
    ok
fi
# inspect: public facts only
expect 0 "inspect encrypted" -- "$TROVE" inspect rf.enc
out_has "encrypted trove file"
out_has "xchacha20poly1305"
if grep -q -e RandomForest -e sklearn "$tmp/out"; then bad "inspect shows content"; else ok; fi
expect 0 "inspect --json encrypted" -- "$TROVE" inspect --json rf.enc
"$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['encrypted'] is True and 'metadata' not in d and 'tensors' not in d and d['kdf'] == {'alg': 'none'}" "$tmp/out" && ok || bad "inspect --json of an encrypted file"
# decrypt gives the plain conversion
expect 0 "decrypt" -- "$TROVE" decrypt rf.enc -o rf.dec.trove --key data.key
same_model rf.trove rf.dec.trove
expect 0 "verify decrypted" -- "$TROVE" verify rf.dec.trove
# predict straight from the encrypted file: the plain model's and scikit-learn's labels
expect 0 "predict plain" -- "$TROVE" predict rf.trove X.csv -o rf_plain.csv
expect 0 "predict encrypted --key" -- "$TROVE" predict rf.enc X.csv --key data.key -o rf_enc.csv
same_file rf_plain.csv rf_enc.csv
tail -n +2 rf_enc.csv >rf_enc_labels.csv
same_file rf_sklearn.csv rf_enc_labels.csv
# a key in a variable: unset, then set
expect 1 "predict, key variable unset" -- "$TROVE" predict rf.enc X.csv --proba --key-env TROVE_TEST_KEY_HEX -o p1.csv
err_has "TROVE_TEST_KEY_HEX"
absent p1.csv
TROVE_TEST_KEY_HEX=$(cut -d' ' -f2 data.key); export TROVE_TEST_KEY_HEX
expect 0 "predict --proba encrypted, key from a variable" -- "$TROVE" predict rf.enc X.csv --proba --key-env TROVE_TEST_KEY_HEX -o p_enc.npy
expect 0 "predict --proba plain" -- "$TROVE" predict rf.trove X.csv --proba -o p_plain.npy
same_file p_plain.npy p_enc.npy

# ---- wrong, missing, mismatched keys: exit 6, one clear line, no output ----------------------
expect 6 "predict wrong key" -- "$TROVE" predict rf.enc X.csv --key other.key -o wrong.csv
err_has "wrong key"
one_line_err
absent wrong.csv
expect 6 "predict without a key" -- "$TROVE" predict rf.enc X.csv -o nokey.csv
err_has "encrypted and no key"
one_line_err
absent nokey.csv
expect 6 "predict with a passphrase on a key file" -- "$TROVE" predict rf.enc X.csv --passphrase-env TROVE_TEST_PASS -o pp.csv
err_has "encrypted with a key"
absent pp.csv
expect 6 "decrypt wrong key" -- "$TROVE" decrypt rf.enc -o wrong.trove --key other.key
err_has "wrong key"
one_line_err
absent wrong.trove
no_leftovers

# ---- tampering: exit 4, nothing written --------------------------------------------------
cp rf.enc tampered.enc
size=$(wc -c <rf.enc)
printf '\001' | dd of=tampered.enc bs=1 seek=$((size - 40)) conv=notrunc 2>/dev/null
expect 4 "predict tampered" -- "$TROVE" predict tampered.enc X.csv --key data.key -o t.csv
err_has "failed authentication"
absent t.csv
head -c $((size - 100)) rf.enc >truncated.enc
expect 4 "predict truncated" -- "$TROVE" predict truncated.enc X.csv --key data.key
absent t.csv

# ---- usage errors -----------------------------------------------------------------------------
expect 2 "key option without --encrypt" -- "$TROVE" convert rf.joblib -o x.trove --key data.key
err_has "without --encrypt"
absent x.trove
expect 2 "envelope option without --encrypt" -- "$TROVE" fit linear train.csv --target y -o x.trove --cipher aes256gcm
err_has "without --encrypt"
absent x.trove
expect 2 "--encrypt without a key" -- "$TROVE" convert rf.joblib -o x.trove --encrypt
err_has "give exactly one of"
absent x.trove
expect 2 "--encrypt with two keys" -- "$TROVE" fit linear train.csv --target y -o x.trove --encrypt --key data.key --key-env TROVE_TEST_KEY_HEX
absent x.trove
expect 2 "unknown cipher" -- "$TROVE" convert rf.joblib -o x.trove --encrypt --key data.key --cipher rot13
absent x.trove
expect 2 "bad chunk size" -- "$TROVE" convert rf.joblib -o x.trove --encrypt --key data.key --chunk 12
absent x.trove
no_leftovers
expect 3 "missing key file" -- "$TROVE" convert rf.joblib -o x.trove --encrypt --key nope.key
absent x.trove

# ---- no plaintext file, ever: every file the command opens for writing is the temporary of
# an output, renamed onto that output, which is encrypted; no directory, no memfd. Traced with
# strace -f (every thread); $TROVE_TMPDIR (once where the plaintext went) stays empty and may
# even be missing. ------------------------------------------------------------------------------
# plain_files_absent LOG OUTPUT...: succeeds when the strace log shows a command that wrote exactly
# these (encrypted) outputs and no other file; else prints what else it wrote
plain_files_absent() {
    log=$1; shift
    "$PY" - "$log" "$@" <<'PY'
import glob, os, re, sys
log, outs = sys.argv[1], sys.argv[2:]
calls = []
logs = glob.glob(log + ".*")  # strace -ff: one file per thread, so no call is split in two
if not logs:
    sys.exit("no strace log")
for line in (l for f in logs for l in open(f)):
    m = re.match(r"(\w+)\((.*)\)\s+=\s+(-?\d+|\?)", line)
    if m:
        calls.append((m.group(1), m.group(2), m.group(3)))
    elif re.match(r"\w+\(", line):
        sys.exit("unparsed strace line: " + line.strip())
tmp_of = {}  # temporary path -> output
def output_of(path):
    d, b = os.path.split(path)
    for o in outs:
        od, ob = os.path.split(o)
        if d == od and re.fullmatch(re.escape("." + ob) + r"\.tmp-\w{6}", b):
            return o
    return None
bad = []
renamed = set()
for name, args, ret in calls:
    paths = re.findall(r'"((?:[^"\\]|\\.)*)"', args)
    if name in ("open", "openat", "openat2", "creat"):
        write = name == "creat" or re.search(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND", args)
        if not write or ret.startswith("-"):
            continue
        o = output_of(paths[0])
        if paths[0] == "/dev/null":
            continue
        if o is None:
            bad.append("opened for writing: " + paths[0])
        else:
            tmp_of[paths[0]] = o
    elif name in ("rename", "renameat", "renameat2"):
        src, dst = paths[0], paths[1]
        if tmp_of.get(src) != dst:
            bad.append("renamed %s -> %s" % (src, dst))
        elif ret == "0":
            renamed.add(dst)
    elif name in ("mkdir", "mkdirat", "memfd_create", "link", "linkat", "symlink", "symlinkat",
                  "truncate"):
        if not ret.startswith("-"):
            bad.append("%s(%s)" % (name, args))
if set(outs) != renamed:
    bad.append("outputs %s, renamed into place %s" % (sorted(outs), sorted(renamed)))
for o in outs:
    with open(o, "rb") as f:
        if f.read(8)[1:7] != b"TRVENC":
            bad.append(o + " is not encrypted")
if bad:
    sys.exit("\n".join(bad))
PY
}
no_plain_files() {
    if plain_files_absent "$@" 2>"$tmp/trace.err"; then ok; else
        bad "plaintext may have reached a file:"; cat "$tmp/trace.err"; fi
}
trace="-ff -qq -o strace.log -e trace=open,openat,creat,rename,renameat,renameat2,mkdir,mkdirat,memfd_create,link,linkat,symlink,symlinkat,truncate"
if ! strace -f -qq -o strace.log -e trace=openat true 2>strace.err; then
    bad "strace cannot trace here (deps.txt lists it): $(cat strace.err)"
else
    mkdir -m 700 private
    rm -f strace.log.*
    TROVE_TMPDIR=$tmp/private expect 0 "convert --encrypt, traced" -- strace $trace "$TROVE" convert rf.joblib -o rf.traced.enc --encrypt --key data.key
    no_plain_files strace.log rf.traced.enc
    if [ -z "$(ls -A private)" ]; then ok; else bad "TROVE_TMPDIR holds $(ls -A private)"; fi
    # the check catches a plaintext file: convert, then encrypt (what convert --encrypt did
    # before, with its private directory)
    rm -f strace.log.*
    expect 0 "convert then encrypt, traced" -- strace $trace sh -c "\"$TROVE\" convert rf.joblib -o private/p.trove && \"$TROVE\" encrypt private/p.trove -o rf.twostep.enc --key data.key && rm private/p.trove"
    if plain_files_absent strace.log rf.twostep.enc 2>"$tmp/trace.err"; then
        bad "the trace check missed the plaintext file private/p.trove"
    elif grep -q "opened for writing: private/.p.trove.tmp-" "$tmp/trace.err"; then ok; else
        bad "the trace check failed for another reason:"; cat "$tmp/trace.err"; fi
    mkdir tr
    rm -f strace.log.*
    TROVE_TMPDIR=$tmp/nowhere expect 0 "convert pair --encrypt, traced (TROVE_TMPDIR missing: unused)" -- strace $trace "$TROVE" convert pair.joblib -o tr/pair.trove --encrypt --passphrase-env TROVE_TEST_PASS $kdf
    no_plain_files strace.log tr/pair.clf.trove tr/pair.reg.trove
    expect 0 "decrypt traced rf" -- "$TROVE" decrypt rf.traced.enc -o rf.traced.dec --key data.key
    same_model rf.trove rf.traced.dec
    # a Keras HDF5 model (libhdf5 in a forked child: traced too)
    if "$PY" "$here/tests/python/keras_fixtures.py" kf >/dev/null 2>"$tmp/py.err"; then
        expect 0 "convert keras plain" -- "$TROVE" convert kf/k2_seq.h5 -o k2.trove
        rm -f strace.log.*
        expect 0 "convert keras --encrypt, traced" -- strace $trace "$TROVE" convert kf/k2_seq.h5 -o k2.enc --encrypt --key data.key
        out_has "k2.enc: keras.Sequential (encrypted)"
        no_plain_files strace.log k2.enc
        expect 0 "decrypt keras" -- "$TROVE" decrypt k2.enc -o k2.dec.trove --key data.key
        same_model k2.trove k2.dec.trove
    else
        bad "keras fixtures: $(cat "$tmp/py.err")"
    fi
fi

# ---- a failing conversion leaves nothing -------------------------------------------------------
printf 'not a pickle\n' >junk.pkl
expect 1 "convert junk --encrypt" -- "$TROVE" convert junk.pkl -o junk.trove --encrypt --key data.key
absent junk.trove
no_leftovers
mkdir ro && chmod 555 ro
if [ "$(id -u)" != 0 ]; then
    expect 3 "convert --encrypt into a read-only directory" -- "$TROVE" convert rf.joblib -o ro/x.trove --encrypt --key data.key
fi
expect 3 "convert --encrypt into a missing directory" -- "$TROVE" convert rf.joblib -o nodir/x.trove --encrypt --key data.key
absent nodir

# ---- passphrase, AES-256-GCM, small chunks -------------------------------------------------
expect 0 "convert --encrypt --passphrase-env" -- "$TROVE" convert rf.joblib -o rf.penc --encrypt --passphrase-env TROVE_TEST_PASS $kdf --cipher aes256gcm --chunk 4096
is_encrypted rf.penc
expect 0 "inspect passphrase file" -- "$TROVE" inspect --json rf.penc
"$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['cipher'] == 'aes256gcm' and d['chunk_bytes'] == 4096 and d['chunks'] >= 2 and d['kdf']['alg'] == 'argon2id13' and d['kdf']['ops'] == 1" "$tmp/out" && ok || bad "inspect --json of the passphrase file"
expect 0 "predict --passphrase-fd" -- "$TROVE" predict rf.penc X.csv --passphrase-fd 3 -o rf_penc.csv 3<pw.txt
same_file rf_plain.csv rf_penc.csv
expect 6 "predict wrong passphrase" -- "$TROVE" predict rf.penc X.csv --passphrase-env TROVE_TEST_WRONG -o wp.csv
err_has "wrong passphrase"
one_line_err
absent wp.csv
expect 6 "predict a passphrase file with a key" -- "$TROVE" predict rf.penc X.csv --key data.key
err_has "encrypted with a passphrase"

# ---- convert --encrypt of a container: every element encrypted, all or none --------------
expect 0 "convert pair plain" -- "$TROVE" convert pair.joblib -o pair.trove
expect 3 "convert pair --encrypt, no such directory" -- "$TROVE" convert pair.joblib -o enc/pair.trove --encrypt --key data.key
absent enc
mkdir enc
expect 0 "convert pair --encrypt into a directory" -- "$TROVE" convert pair.joblib -o enc/pair.trove --encrypt --key data.key
out_has "enc/pair.clf.trove: sklearn.linear_model.LogisticRegression (encrypted)"
out_has "enc/pair.reg.trove: sklearn.linear_model.Ridge (encrypted)"
is_encrypted enc/pair.clf.trove
is_encrypted enc/pair.reg.trove
if ls -A enc | grep -q -e '^\.'; then bad "enc/ holds temporaries: $(ls -A enc)"; else ok; fi
for k in clf reg; do
    expect 0 "decrypt pair.$k" -- "$TROVE" decrypt enc/pair.$k.trove -o pair.$k.dec.trove --key data.key
    same_model pair.$k.trove pair.$k.dec.trove
done
expect 0 "predict encrypted ridge" -- "$TROVE" predict enc/pair.reg.trove X.csv --key data.key -o ridge_enc.npy
expect 0 "predict plain ridge" -- "$TROVE" predict pair.reg.trove X.csv -o ridge_plain.npy
same_file ridge_plain.npy ridge_enc.npy
"$PY" -c "
import numpy as np, sys
a = np.load('ridge_enc.npy').ravel(); b = np.loadtxt('ridge_sklearn.csv')
assert np.allclose(a, b, rtol=1e-12, atol=1e-12), abs(a - b).max()
" && ok || bad "encrypted ridge predicts what scikit-learn predicts"

# a failure half-way (the second output cannot be renamed into place: a directory holds its
# name) leaves no output at all, and no temporary
second=$("$TROVE" convert pair.joblib -o pair.order.trove | sed -n 2p | cut -d: -f1)
first=$("$TROVE" convert pair.joblib -o pair.order.trove | sed -n 1p | cut -d: -f1)
case $second in pair.order.*.trove) ok ;; *) bad "no second output in the plain conversion: '$second'" ;; esac
second_enc=mid/$(echo "$second" | sed 's/^pair\.order\./pair./')
first_enc=mid/$(echo "$first" | sed 's/^pair\.order\./pair./')
mkdir -p "$second_enc"
expect 3 "convert pair --encrypt, second output blocked" -- "$TROVE" convert pair.joblib -o mid/pair.trove --encrypt --key data.key
absent "$first_enc"
if [ -d "$second_enc" ] && [ "$(ls -A mid | wc -l)" -eq 1 ]; then ok; else bad "mid/ holds: $(ls -A mid)"; fi
rmdir "$second_enc"
expect 0 "convert pair --encrypt, unblocked" -- "$TROVE" convert pair.joblib -o mid/pair.trove --encrypt --key data.key
is_encrypted "$first_enc"
is_encrypted "$second_enc"
expect 6 "decrypt a converted element with the wrong key" -- "$TROVE" decrypt "$second_enc" -o wrongpair.trove --key other.key
err_has "wrong key"
one_line_err
absent wrongpair.trove

# ---- plain tensors: an .npy import encrypted; its plaintext is the plain conversion, byte for
# byte (no creation time in it); an export cannot be encrypted --------------------------------
"$PY" -c "import numpy as np; np.save('w.npy', np.arange(12, dtype='>f8').reshape(3, 4))" && ok || bad "numpy fixture"
expect 0 "convert npy plain" -- "$TROVE" convert w.npy -o w.trove
expect 0 "convert npy --encrypt" -- "$TROVE" convert w.npy -o w.enc --encrypt --key data.key
out_has "w.enc: 1 tensor (encrypted)"
is_encrypted w.enc
expect 0 "decrypt npy" -- "$TROVE" decrypt w.enc -o w.dec.trove --key data.key
same_file w.trove w.dec.trove
expect 1 "export --encrypt refused" -- "$TROVE" convert w.trove -o w.safetensors --encrypt --key data.key
err_has "cannot be encrypted"
absent w.safetensors
no_leftovers

# ---- fit --encrypt ---------------------------------------------------------------------------
expect 0 "fit linear plain" -- "$TROVE" fit linear train.csv --target y -o lin.trove
expect 0 "fit linear --encrypt" -- "$TROVE" fit linear train.csv --target y -o lin.enc --encrypt --key data.key
err_has "(encrypted)"
is_encrypted lin.enc
no_leftovers
expect 0 "decrypt fitted" -- "$TROVE" decrypt lin.enc -o lin.dec.trove --key data.key
same_model lin.trove lin.dec.trove
expect 0 "predict fitted plain" -- "$TROVE" predict lin.trove X.csv -o lin_plain.csv
expect 0 "predict fitted encrypted" -- "$TROVE" predict lin.enc X.csv --key data.key -o lin_enc.csv
same_file lin_plain.csv lin_enc.csv
expect 6 "predict fitted, wrong key" -- "$TROVE" predict lin.enc X.csv --key other.key -o lw.csv
one_line_err
absent lw.csv
expect 0 "fit logistic --encrypt --passphrase-fd" -- "$TROVE" fit logistic cls.csv --target label -o log.enc --encrypt --passphrase-fd 3 $kdf 3<pw.txt
is_encrypted log.enc
expect 0 "fit logistic plain" -- "$TROVE" fit logistic cls.csv --target label -o log.trove
expect 0 "predict logistic encrypted" -- "$TROVE" predict log.enc X.csv --passphrase-env TROVE_TEST_PASS -o log_enc.csv
expect 0 "predict logistic plain" -- "$TROVE" predict log.trove X.csv -o log_plain.csv
same_file log_plain.csv log_enc.csv
expect 6 "decrypt fitted, wrong passphrase" -- "$TROVE" decrypt log.enc -o lw.trove --passphrase-env TROVE_TEST_WRONG
absent lw.trove
expect 1 "fit --encrypt on singular data" -- sh -c "printf 'a,b,y\n1,2,3\n1,2,4\n1,2,5\n' >sing.csv && \"$TROVE\" fit linear sing.csv --target y -o bad.enc --encrypt --key data.key"
absent bad.enc
no_leftovers

shm_after=$(ls -A /dev/shm 2>/dev/null | grep -c '^\.trove-convert-')
if [ "$shm_after" -le "$shm_before" ]; then ok; else bad "private directories left in /dev/shm"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
