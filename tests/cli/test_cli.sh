#!/bin/sh
# test_cli.sh: tests of the `trove` command-line tool ($TROVE): output of every command against
# tests/cli/expected/ on a deterministic fixture (gen_fixture.c, compiled here against the
# library next to $TROVE), exit codes (ok, usage, missing, malformed, damaged), .npy exports
# loaded by numpy, JSON parsed by python, and no crash on truncated or bit-flipped files.
# TROVE_UPDATE_EXPECTED=1 rewrites the expected files (review the diff before committing).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
TROVE=${TROVE:-$root/build/trove}
case $TROVE in /*) ;; *) TROVE=$(pwd)/$TROVE ;; esac
build=$(dirname "$TROVE")
PY=/usr/bin/python3
expected=$here/expected
work=$(mktemp -d "${TMPDIR:-/tmp}/trove-cli-test.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# rc EXPECTED DESCRIPTION CMD...: the command exits with EXPECTED (output discarded)
rc() {
    want=$1 desc=$2
    shift 2
    "$@" >"$work/out" 2>"$work/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok; else bad "$desc: exit $got, expected $want: $(head -c 300 "$work/err")"; fi
}

# same NAME CMD...: stdout of CMD equals expected/NAME (exit code not checked here)
same() {
    name=$1
    shift
    "$@" >"$work/out" 2>"$work/err"
    if [ "${TROVE_UPDATE_EXPECTED:-0}" = 1 ]; then
        cp "$work/out" "$expected/$name"
        ok
    elif diff -u "$expected/$name" "$work/out" >"$work/diff" 2>&1; then
        ok
    else
        bad "output of '$*' differs from expected/$name:"
        head -40 "$work/diff"
    fi
}

# has DESCRIPTION PATTERN FILE: grep -q
has() {
    if grep -q -- "$2" "$3"; then ok; else bad "$1: no '$2' in $(head -c 300 "$3")"; fi
}

py() { "$PY" - "$@" >"$work/py" 2>&1 && ok || { bad "python check $1:"; cat "$work/py"; }; }

# ---- fixtures -------------------------------------------------------------------------------
cd "$work" || exit 1
if ! ${CC:-cc} -std=c11 -O1 -I"$root/include" -o gen "$here/gen_fixture.c" "$build/libtrove.a" \
    $(pkg-config --libs libzstd libxxhash libsodium sqlite3) -lpthread -lm 2>gen.err; then
    cat gen.err
    echo "0 passed, 1 failed"
    exit 1
fi
./gen fx.trove && ./gen fxv.trove --variant && ./gen fx-plain.trove --no-zstd &&
    ./gen fx-digests.trove --digests || { echo "gen_fixture failed"; echo "0 passed, 1 failed"; exit 1; }
size=$(wc -c <fx.trove)
head -c $((size / 2)) fx.trove >truncated.trove
head -c 40 fx.trove >short.trove
printf 'not a trove file at all, just text\n' >text.trove
off=$("$TROVE" inspect --json --no-digest fx.trove | "$PY" -c \
    'import json,sys; print([t["offset"] for t in json.load(sys.stdin)["tensors"] if t["name"]=="dtype/float64"][0])')
cp fx.trove flipped.trove
printf '\001' | dd of=flipped.trove bs=1 seek=$((off + 3)) conv=notrunc 2>/dev/null
zoff=$("$TROVE" inspect --json --no-digest fx.trove | "$PY" -c \
    'import json,sys; print([t["offset"] for t in json.load(sys.stdin)["tensors"] if t["name"]=="compressed"][0])')
cp fx.trove badzstd.trove
printf '\377\377\377\377' | dd of=badzstd.trove bs=1 seek=$((zoff + 8)) conv=notrunc 2>/dev/null

# ---- outputs against expected files -----------------------------------------------------------
same inspect.txt "$TROVE" inspect fx.trove
same inspect.json "$TROVE" inspect --json fx.trove
same inspect-digests.txt "$TROVE" inspect fx-digests.trove
same ls.txt "$TROVE" ls fx.trove
same ls-bytes.txt "$TROVE" ls --bytes fx.trove
same ls.json "$TROVE" ls --json fx.trove
for t in dtype/bool dtype/int8 dtype/int16 dtype/int32 dtype/int64 dtype/uint8 dtype/uint16 \
    dtype/uint32 dtype/uint64 dtype/float16 dtype/bfloat16 dtype/float32 dtype/float64 \
    float16_edges scalar empty cube big compressed "poids/été"; do
    printf '%s\n' "$t"
    "$TROVE" cat fx.trove "$t"
done >cat-all.out 2>&1
same cat.txt cat cat-all.out
same cat-limit.txt "$TROVE" cat fx.trove compressed --limit 10
same cat-nolimit.txt "$TROVE" cat fx.trove big --limit 0
same diff.txt "$TROVE" diff fx.trove fxv.trove
same diff.json "$TROVE" diff --json fx.trove fxv.trove
same diff-same.txt "$TROVE" diff fx.trove fx-plain.trove

# no raw escape character reaches the terminal from names, keys or values
for args in "inspect fx.trove" "ls fx.trove" "diff fx.trove fxv.trove" "cat fx.trove nope"; do
    "$TROVE" $args >esc.out 2>&1
    if LC_ALL=C grep -q "$(printf '\033')" esc.out || LC_ALL=C grep -q "$(printf '\342\200\256')" esc.out; then
        bad "trove $args printed a raw control character"
    else
        ok
    fi
done
has "escaped tensor name" 'evil\\x1b\[2J\\nname\\u202e' "$expected/ls.txt"

# ---- exit codes ---------------------------------------------------------------------------------
rc 0 "inspect ok" "$TROVE" inspect fx.trove
rc 0 "ls ok" "$TROVE" ls fx.trove
rc 0 "verify ok" "$TROVE" verify fx.trove fxv.trove fx-plain.trove fx-digests.trove
rc 0 "cat ok" "$TROVE" cat fx.trove cube
rc 0 "diff identical" "$TROVE" diff fx.trove fx.trove
rc 0 "diff same model, other layout" "$TROVE" diff fx.trove fx-plain.trove
rc 0 "diff same model, stored digests" "$TROVE" diff fx-digests.trove fx-plain.trove
rc 1 "diff different" "$TROVE" diff fx.trove fxv.trove
rc 1 "diff -q different" "$TROVE" diff -q fx.trove fxv.trove
[ -s "$work/out" ] && bad "diff -q printed something" || ok
for cmd in inspect ls verify; do
    rc 3 "$cmd missing file" "$TROVE" $cmd does-not-exist.trove
    has "$cmd names the missing file" "does-not-exist.trove" "$work/err"
    rc 1 "$cmd truncated file" "$TROVE" $cmd truncated.trove
    has "$cmd names the truncated file" "truncated.trove" "$work/err"
    rc 1 "$cmd short file" "$TROVE" $cmd short.trove
    rc 1 "$cmd text file" "$TROVE" $cmd text.trove
    rc 2 "$cmd without FILE" "$TROVE" $cmd
    rc 2 "$cmd unknown option" "$TROVE" $cmd --frobnicate fx.trove
    rc 0 "$cmd --help" "$TROVE" $cmd --help
    has "$cmd --help usage" "usage: trove $cmd" "$work/out"
    has "$cmd --help exit codes" "exit codes" "$work/out"
done
for cmd in cat diff; do
    rc 0 "$cmd --help" "$TROVE" $cmd --help
    has "$cmd --help usage" "usage: trove $cmd" "$work/out"
    has "$cmd --help exit codes" "exit codes" "$work/out"
    rc 2 "$cmd without arguments" "$TROVE" $cmd
    rc 2 "$cmd unknown option" "$TROVE" $cmd --frobnicate fx.trove x
done
rc 2 "unknown command" "$TROVE" frobnicate
rc 0 "trove --help" "$TROVE" --help
rc 0 "trove --version" "$TROVE" --version
rc 4 "verify flipped tensor byte" "$TROVE" verify flipped.trove
has "verify names the damaged tensor" "dtype/float64" "$work/err"
rc 4 "verify: first failure decides, later files still checked" "$TROVE" verify flipped.trove fx.trove
has "verify reports the good file too" "fx.trove: ok" "$work/out"
rc 3 "verify: missing then damaged" "$TROVE" verify nope.trove flipped.trove
rc 0 "verify --quiet" "$TROVE" verify --quiet fx.trove
[ -s "$work/out" ] && bad "verify --quiet printed something" || ok
rc 0 "verify prints rate" "$TROVE" verify fx.trove
has "verify prints time and rate" "fx.trove: ok (22 tensors, [0-9.]* KiB, verified in [0-9.]* ms, [0-9.]* GB/s)" "$work/out"
rc 4 "cat damaged tensor" "$TROVE" cat flipped.trove dtype/float64
rc 0 "cat --no-verify damaged tensor" "$TROVE" cat --no-verify flipped.trove dtype/float64
rc 0 "cat undamaged tensor of a damaged file" "$TROVE" cat flipped.trove dtype/float32
rc 1 "cat no such tensor" "$TROVE" cat fx.trove nope
has "cat names the missing tensor" "no tensor named 'nope'" "$work/err"
rc 2 "cat without TENSOR" "$TROVE" cat fx.trove
rc 2 "cat bad --limit" "$TROVE" cat fx.trove big --limit -3
rc 2 "cat -o without file" "$TROVE" cat fx.trove big -o
rc 3 "cat missing file" "$TROVE" cat nope.trove big
rc 1 "cat truncated file" "$TROVE" cat truncated.trove big
rc 3 "cat -o into a missing directory" "$TROVE" cat fx.trove big -o no/such/dir/x.npy
rc 4 "diff damaged file" "$TROVE" diff fx.trove flipped.trove
rc 1 "diff --no-verify damaged file: different" "$TROVE" diff --no-verify fx.trove flipped.trove
rc 3 "diff missing file" "$TROVE" diff fx.trove nope.trove
rc 7 "diff truncated file" "$TROVE" diff truncated.trove fx.trove
rc 7 "diff text file" "$TROVE" diff fx.trove text.trove
rc 2 "diff one file" "$TROVE" diff fx.trove
rc 1 "inspect: damaged zstd frame, digest unavailable" "$TROVE" inspect badzstd.trove
has "inspect names the damaged tensor" "tensor 'compressed'" "$work/err"
has "inspect still prints the table" "poids/été" "$work/out"
rc 1 "inspect --json: damaged zstd frame" "$TROVE" inspect --json badzstd.trove
"$PY" -c 'import json,sys; d = json.load(open(sys.argv[1])); assert d["digest"] is None and len(d["tensors"]) == 22' \
    "$work/out" && ok || bad "inspect --json of a damaged zstd frame is not JSON with a null digest"
rc 4 "cat: damaged zstd frame fails its checksum" "$TROVE" cat badzstd.trove compressed
rc 1 "cat --no-verify: damaged zstd frame" "$TROVE" cat --no-verify badzstd.trove compressed
rc 4 "verify: damaged zstd frame" "$TROVE" verify badzstd.trove

# ---- digest: the same model has the same digest whatever the layout --------------------------
for f in fx.trove fx-plain.trove fx-digests.trove; do
    "$TROVE" inspect --json "$f" >"$f.json" || bad "inspect --json $f"
done
py digests <<'PY'
import json
d = [json.load(open(f + ".json")) for f in ("fx.trove", "fx-plain.trove", "fx-digests.trove")]
assert d[0]["digest"] == d[1]["digest"] == d[2]["digest"], [x["digest"] for x in d]
assert len(d[0]["digest"]) == 64 and int(d[0]["digest"], 16) >= 0
assert [x["digest_source"] for x in d] == ["computed", "computed", "stored"]
assert d[0]["features"]["incompat"] == ["zstd"] and d[1]["features"]["incompat"] == []
assert d[2]["features"]["compat"] == ["digests"]
PY

# ---- inspect --json: fields, metadata values, tensor table ---------------------------------
py inspect-json <<'PY'
import json, os
d = json.load(open("fx.trove.json"))
assert sorted(d) == list(d), "top-level keys not sorted"
assert d["version"] == "1.0" and d["file"] == "fx.trove"
assert d["size"] == os.path.getsize("fx.trove")
m = d["metadata"]
assert m["huge"] == 2**64 - 1 and m["negative"] == -42 and m["ratio"] == 0.1
assert m["enabled"] is True and m["nothing"] is None and m["blob"] == {"$bytes": "AAH+/w=="}
assert m["producer"] == {"name": "tests/cli/gen_fixture", "version": "1.0"}
assert m["squares"] == [i * i for i in range(25)]
assert m["layers"] == [{"units": 4, "activation": "relu"}, {"units": 1, "activation": "identity"}]
assert m["matrix"] == [[0.5, 1.5], [2.5, 3.5]]
assert m["description"] == "CLI test fixture: every dtype \u2014 caf\u00e9\nsecond line"
t = {x["name"]: x for x in d["tensors"]}
assert len(d["tensors"]) == 22
for x in d["tensors"]:
    assert sorted(x) == list(x), x
assert t["cube"]["shape"] == [2, 2, 3] and t["cube"]["dtype"] == "float32" and t["cube"]["nbytes"] == 48
assert t["scalar"]["shape"] == [] and t["empty"]["shape"] == [0, 4] and t["empty"]["nbytes"] == 0
assert t["compressed"]["compressed"] is True and t["compressed"]["stored_bytes"] < 8000
assert t["compressed"]["nbytes"] == 8000 and t["big"]["compressed"] is False
assert "poids/\u00e9t\u00e9" in t and "evil\x1b[2J\nname\u202e" in t
assert m["evil\tkey"] == "\x1b]0;pwned\x07\u202e"
assert all(x["offset"] % x["alignment"] == 0 for x in d["tensors"])
PY

"$TROVE" inspect --json --no-digest fx.trove >nodigest.json
py no-digest <<'PY'
import json
d = json.load(open("nodigest.json"))
assert d["digest"] is None and d["digest_source"] is None and len(d["tensors"]) == 22
PY

# ---- ls --json and diff --json -----------------------------------------------------------------
"$TROVE" ls --json fx.trove >ls.json
"$TROVE" diff --json fx.trove fxv.trove >diff.json
py ls-diff-json <<'PY'
import json
ls = json.load(open("ls.json"))
assert len(ls) == 22 and ls[0] == {"dtype": "bool", "name": "dtype/bool", "nbytes": 6, "shape": [2, 3]}
d = json.load(open("diff.json"))
assert d["identical"] is False
md = d["metadata"]
assert [x["path"] for x in md["added"]] == ["added_in_variant"]
assert [x["path"] for x in md["removed"]] == ["removed_in_variant"]
ch = {x["path"]: (x["a"], x["b"]) for x in md["changed"]}
assert ch == {'["dotted.key"]': ("kept apart", "changed"), "feature_names[3]": ("petal_width", "petal_w"),
              "producer.version": ("1.0", "1.1"), "ratio": (0.1, 0.25), "layers[1].units": (1, 2)}, ch
t = d["tensors"]
assert [x["name"] for x in t["only_in_a"]] == ["only_in_base"]
assert [x["name"] for x in t["only_in_b"]] == ["only_in_variant"]
c = {x["name"]: x for x in t["changed"]}
assert c["dtype/int32"]["max_abs_diff"] == 2**31 and c["dtype/int32"]["differing_elements"] == 1
assert c["dtype/float32"]["max_abs_diff"] == 1.0 and c["scalar"]["max_abs_diff"] == 1.0
assert c["cube"]["b_shape"] == [3, 2, 2] and c["cube"]["max_abs_diff"] is None
p = c["poids/\u00e9t\u00e9"]
assert (p["a_dtype"], p["b_dtype"], p["differing_elements"]) == ("float32", "float64", 0)
assert t["identical"] == 16 and len(c) == 5
PY

# ---- cat -o: numpy reads every dtype with the values the generator wrote ---------------------
for t in dtype/bool dtype/int8 dtype/int16 dtype/int32 dtype/int64 dtype/uint8 dtype/uint16 \
    dtype/uint32 dtype/uint64 dtype/float16 dtype/bfloat16 dtype/float32 dtype/float64 \
    float16_edges scalar empty cube big compressed "poids/été"; do
    out=$(printf '%s' "$t" | tr '/' '_').npy
    "$TROVE" cat fx.trove "$t" -o "$out" 2>"cat-$out.err" || bad "cat -o $t"
done
has "bfloat16 export says float32" "float32" "cat-dtype_bfloat16.npy.err"
echo old >replaced.npy
"$TROVE" cat fx.trove cube -o replaced.npy || bad "cat -o over an existing file"
"$TROVE" cat fx.trove scalar -o - >stdout.npy || bad "cat -o -"
ls ./*.tmp.* >/dev/null 2>&1 && bad "cat -o left a temporary file" || ok
py npy <<'PY'
import numpy as np
def load(name):
    a = np.load(name.replace("/", "_") + ".npy", allow_pickle=False)
    assert a.flags["C_CONTIGUOUS"]
    return a
f = np.array([-1, -0.5, 0, 0.5, 1, 1.5]).reshape(2, 3)
want = {
    "dtype/bool": np.array([1, 0, 1, 1, 0, 0], bool).reshape(2, 3),
    "dtype/int8": np.array([-128, -1, 0, 1, 2, 127], np.int8).reshape(2, 3),
    "dtype/int16": np.array([-32768, -1, 0, 1, 2, 32767], np.int16).reshape(2, 3),
    "dtype/int32": np.array([-2**31, -1, 0, 1, 2, 2**31 - 1], np.int32).reshape(2, 3),
    "dtype/int64": np.array([-2**63, -1, 0, 1, 2, 2**63 - 1], np.int64).reshape(2, 3),
    "dtype/uint8": np.array([0, 1, 2, 3, 254, 255], np.uint8).reshape(2, 3),
    "dtype/uint16": np.array([0, 1, 2, 3, 65534, 65535], np.uint16).reshape(2, 3),
    "dtype/uint32": np.array([0, 1, 2, 3, 2**32 - 2, 2**32 - 1], np.uint32).reshape(2, 3),
    "dtype/uint64": np.array([0, 1, 2, 3, 2**64 - 2, 2**64 - 1], np.uint64).reshape(2, 3),
    "dtype/float16": f.astype(np.float16),
    "dtype/bfloat16": f.astype(np.float32),
    "dtype/float32": f.astype(np.float32),
    "dtype/float64": f,
    "float16_edges": np.array([0x2e66, 0x7bff, 1, 0x7c00, 0x7e00, 0x8000], np.uint16).view(np.float16),
    "scalar": np.array(2.5),
    "empty": np.zeros((0, 4), np.int32),
    "cube": (np.arange(12, dtype=np.float32) * 0.25).reshape(2, 2, 3),
    "big": np.arange(1200, dtype=np.int32).reshape(40, 30),
    "compressed": (np.arange(1000) % 10).astype(np.float64),
    "poids/\u00e9t\u00e9": np.array([1.5, -2.0, 0.125], np.float32),
}
for name, w in want.items():
    a = load(name)
    assert a.dtype == w.dtype and a.shape == w.shape, (name, a.dtype, a.shape, w.dtype, w.shape)
    assert a.tobytes() == w.tobytes(), (name, a, w)  # bit-exact, NaN and -0.0 included
assert np.load("replaced.npy").tobytes() == want["cube"].tobytes()
assert np.load("stdout.npy") == 2.5
with open("cube.npy", "rb") as fh:
    head = fh.read(10)
    assert head[:8] == b"\x93NUMPY\x01\x00" and (10 + int.from_bytes(head[8:10], "little")) % 64 == 0
PY

# ---- hostile files: truncated at many lengths and bytes flipped: no crash, sane exit codes ---
crashes=0
n=0
for cut in 0 1 8 16 31 32 48 63 64 100 200 500 1000 2000 4000 6000 $((size - 300)) \
    $((size - 64)) $((size - 33)) $((size - 32)) $((size - 16)) $((size - 1)); do
    head -c "$cut" fx.trove >h.trove
    for args in "inspect h.trove" "inspect --json h.trove" "ls h.trove" "verify h.trove" \
        "cat h.trove compressed" "diff h.trove fx.trove"; do
        "$TROVE" $args >/dev/null 2>&1
        r=$?
        n=$((n + 1))
        [ $r -ge 1 ] && [ $r -le 7 ] || { crashes=$((crashes + 1)); echo "truncated at $cut: trove $args: exit $r"; }
    done
done
i=0
while [ $i -lt 60 ]; do
    pos=$(( (i * 2654435761) % size ))
    cp fx.trove h.trove
    printf '\252' | dd of=h.trove bs=1 seek=$pos conv=notrunc 2>/dev/null
    for args in "inspect h.trove" "ls h.trove" "verify h.trove" "cat h.trove big" \
        "cat h.trove compressed -o h.npy" "diff h.trove fx.trove"; do
        "$TROVE" $args >/dev/null 2>&1
        r=$?
        n=$((n + 1))
        [ $r -le 7 ] || { crashes=$((crashes + 1)); echo "byte $pos flipped: trove $args: exit $r"; }
    done
    i=$((i + 1))
done
if [ $crashes -eq 0 ]; then ok; else bad "$crashes of $n runs on damaged files crashed"; fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
