#!/bin/sh
# test_registry.sh: the registry commands of `trove` ($TROVE): push, pull (byte-identical),
# models, log (table and --json parsed by python), alias and its history, rm (refused while
# aliased), gc, fsck (clean, then a damaged blob: exit 4, DAMAGED line, pull writes nothing),
# diff of refs, REF forms, signatures (status, push/pull --pubkey), the TROVE_REGISTRY
# variable and usage errors. Models come from
# bench/bench_registry_gen.c, compiled here against the library next to $TROVE.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
TROVE=${TROVE:-$root/build/trove}
case $TROVE in /*) ;; *) TROVE=$(pwd)/$TROVE ;; esac
build=$(dirname "$TROVE")
PY=/usr/bin/python3
work=$(mktemp -d "${TMPDIR:-/tmp}/trove-registry-test.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# rc EXPECTED DESCRIPTION CMD...: the command exits with EXPECTED; output in $work/out, err
rc() {
    want=$1 desc=$2
    shift 2
    "$@" >"$work/out" 2>"$work/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok; else
        bad "$desc: exit $got, expected $want: $(head -c 300 "$work/err")"; fi
}
# has DESCRIPTION FILE TEXT: FILE contains TEXT
has() {
    if grep -q -- "$3" "$2"; then ok; else bad "$1: '$3' not in: $(head -c 400 "$2")"; fi
}

PKGS="libzstd libxxhash libsodium sqlite3"
if ! cc -O1 -std=c11 -I"$root/include" -o "$work/gen" "$root/bench/bench_registry_gen.c" \
    "$build/libtrove.a" $(pkg-config --libs $PKGS) -lpthread -lm; then
    echo "cannot build the model generator"
    echo "0 passed, 1 failed"
    exit 1
fi
G=$work/gen
R=$work/reg
$G "$work/v1.trove" 8 300000 1 1 zstd
$G "$work/v2.trove" 8 300000 2 1 zstd
$G "$work/v3.trove" 8 300000 3 2 zstd
T() { "$TROVE" "$@" --registry "$R"; }

# push: creates the registry, numbers versions, reports an identical push as the same version
rc 0 "push v1" T push "$work/v1.trove" net -m "first run" --alias prod --metric acc=0.91
has "push prints NAME:1" "$work/out" "^net:1 "
has "push prints the alias" "$work/out" "@prod"
rc 0 "push v2 with parent" T push "$work/v2.trove" net -m second --parent net:1 --author ci
has "push v2" "$work/out" "^net:2 "
rc 0 "push v1 again" T push "$work/v1.trove" net
has "same bytes: same version" "$work/out" "^net:1 "
rc 0 "push --json" T push "$work/v3.trove" net --json --param lr=0.01
$PY -c "import json,sys; d=json.load(open(sys.argv[1]))
assert d['version']==3 and d['params']['lr']==0.01 and d['params']['step']==3, d" "$work/out" \
    && ok || bad "push --json"
[ "$(stat -c %a "$R")" = 700 ] && ok || bad "registry directory mode $(stat -c %a "$R")"
[ "$(stat -c %a "$R/catalog.db")" = 600 ] && ok || bad "catalog mode"

# pull: every REF form, byte-identical
rc 0 "pull NAME:1" T pull net:1 -o "$work/p1.trove"
cmp -s "$work/v1.trove" "$work/p1.trove" && ok || bad "pull net:1 not byte-identical"
rc 0 "pull NAME@ALIAS" T pull net@prod -o "$work/pp.trove"
cmp -s "$work/v1.trove" "$work/pp.trove" && ok || bad "pull net@prod"
rc 0 "pull NAME (latest)" T pull net -o "$work/pl.trove"
cmp -s "$work/v3.trove" "$work/pl.trove" && ok || bad "pull net is not the latest"
rc 0 "pull --rehash" T pull --rehash net:2 -o "$work/pf.trove"
cmp -s "$work/v2.trove" "$work/pf.trove" && ok || bad "pull --rehash"
digest=$("$TROVE" push "$work/v2.trove" net --registry "$R" | awk '{print $2}')
prefix=$(echo "$digest" | cut -c1-12)
rc 0 "pull by digest prefix" T pull "$prefix" -o "$work/pd.trove"
cmp -s "$work/v2.trove" "$work/pd.trove" && ok || bad "pull by digest"
rc 1 "pull unknown version" T pull net:9 -o "$work/x.trove"
has "unknown version message" "$work/err" "no version 9 of model 'net'"
[ ! -e "$work/x.trove" ] && ok || bad "failed pull left a file"
rc 2 "pull without -o" T pull net
rc 1 "pull unknown model" T pull nosuch -o "$work/x.trove"

# the environment variable names the registry
TROVE_REGISTRY=$R "$TROVE" models >"$work/out" 2>"$work/err" && ok || bad "TROVE_REGISTRY"
has "models via TROVE_REGISTRY" "$work/out" "^net "

# models, log
rc 0 "models" T models
has "models header" "$work/out" "MODEL"
has "models row" "$work/out" "^net  *3  *3 "
rc 0 "models --json" T models --json
$PY -c "import json,sys; d=json.load(open(sys.argv[1]))
assert d[0]['versions']==3 and d[0]['latest']['version']==3" "$work/out" && ok \
    || bad "models --json"
rc 0 "alias staging" T alias net staging 2
rc 0 "models with aliases" T models
has "models lists aliases" "$work/out" "prod=1,staging=2"
rc 0 "alias prod -> 3" T alias net prod 3 --author alice
rc 0 "alias rollback prod -> 1" T alias net prod 1 --author bob
rc 0 "log" T log net
has "log header" "$work/out" "VERSION"
has "log v1 row" "$work/out" "first run"
has "log metrics" "$work/out" '"acc":0.91'
has "log parent" "$work/out" "net:1"
has "log alias moves" "$work/out" "prod .*3 -> 1  by bob"
rc 0 "log --json" T log net --json
$PY - "$work/out" <<'PYEOF' && ok || bad "log --json content"
import json, sys
d = json.load(open(sys.argv[1]))
v = d["versions"]
assert [x["version"] for x in v] == [1, 2, 3], v
assert v[0]["message"] == "first run" and v[0]["metrics"]["acc"] == 0.91
assert v[0]["aliases"] == ["prod"] and v[1]["aliases"] == ["staging"]
assert v[1]["parent"] == "net:1" and v[1]["parent_digest"] == v[0]["digest"]
assert v[1]["author"] == "ci" and v[0]["signature"] == "unsigned"
moves = [(m["alias"], m["from"], m["to"], m["who"]) for m in d["alias_moves"]]
assert moves[-2:] == [("prod", 1, 3, "alice"), ("prod", 3, 1, "bob")], moves
PYEOF
rc 0 "alias --history" T alias net --history
has "history lists moves" "$work/out" "net@prod  3 -> 1  by bob"
rc 2 "alias with a bad version" T alias net prod zero
rc 1 "alias to a missing version" T alias net prod 42

# rm: refused while aliased, --force deletes the aliases too
rc 1 "rm aliased version" T rm net:1
has "rm names the alias" "$work/err" "alias 'prod'"
rc 0 "rm unaliased version" T rm net:3
rc 0 "rm --force" T rm net:2 --force
rc 1 "pull removed version" T pull net:2 -o "$work/x.trove"
rc 0 "gc" T gc
has "gc reports" "$work/out" "removed"
rc 0 "fsck after gc" T fsck
has "fsck ok" "$work/out" "fsck: ok"
rc 0 "pull after gc" T pull net@prod -o "$work/p1b.trove"
cmp -s "$work/v1.trove" "$work/p1b.trove" && ok || bad "pull after gc"

# diff of refs (pulled to temporary files, then the file diff)
rc 0 "push v2 again" T push "$work/v2.trove" net
rc 0 "diff identical refs" T diff net:1 net@prod
rc 1 "diff different refs" T diff net:1 net:4
rc 1 "diff a file and a ref" T diff "$work/v2.trove" net:1
rc 0 "diff a file and its ref" T diff "$work/v2.trove" net:4
rc 1 "diff unknown version" T diff net:1 net:99
has "diff names the ref" "$work/err" "no version 99"
rc 3 "diff missing file" T diff "$work/none.trove" net:1

# damage: a flipped byte in the largest blob
blob=$(find "$R/blobs" -type f ! -name '.*' -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
chmod u+w "$blob"
$PY -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=1
open(p,'wb').write(b)" "$blob"
rc 4 "pull of a damaged blob" T pull net:1 -o "$work/dmg.trove"
has "pull names the damage" "$work/err" "damaged"
[ ! -e "$work/dmg.trove" ] && ok || bad "damaged pull left a file"
rc 4 "fsck finds the damage" T fsck
has "fsck DAMAGED line" "$work/out" "^DAMAGED: blob .* (needed by net:"
# repair (docs/REGISTRY.md): fsck --repair removes the damaged blob, pushes restore it
rc 4 "fsck --repair" T fsck --repair
has "repair note" "$work/out" "repair: removed damaged blob"
[ ! -e "$blob" ] && ok || bad "fsck --repair left the damaged blob"
rc 4 "fsck: now missing" T fsck
has "fsck missing line" "$work/out" "^DAMAGED: blob .* is missing"
rc 0 "push v1 to repair" T push "$work/v1.trove" net
rc 0 "push v2 to repair" T push "$work/v2.trove" net
rc 0 "fsck after repair" T fsck
rc 0 "pull after repair" T pull net:1 -o "$work/rep.trove"
cmp -s "$work/v1.trove" "$work/rep.trove" && ok || bad "pull after repair"

# signatures: status recorded at push; --pubkey policies on push and pull (exit codes 5/8/9)
"$TROVE" keygen -o "$work/alice" >/dev/null 2>&1 && "$TROVE" keygen -o "$work/bob" >/dev/null 2>&1 \
    && ok || bad "keygen"
$G "$work/s1.trove" 4 100000 7 1
rc 0 "sign s1" "$TROVE" sign "$work/s1.trove" --key "$work/alice.key"
alice=$(sed -n 's/.*signed by key \([0-9a-f]*\).*/\1/p' "$work/out")
[ -n "$alice" ] && ok || bad "key id of alice from trove sign: $(cat "$work/out")"
rc 0 "inspect lists the signature" "$TROVE" inspect "$work/s1.trove"
has "inspect signatures line" "$work/out" "^signatures: 1 "
has "inspect names the signer" "$work/out" "key $alice  ed25519 "
rc 0 "push signed, no policy" T push "$work/s1.trove" sig --json
$PY -c "import json,sys; d=json.load(open(sys.argv[1])); s=d['signature']
assert s.startswith('signed by ' + sys.argv[2]) and 'valid' in s, s" "$work/out" "$alice" \
    && ok || bad "push records the signer: $(head -c 300 "$work/out")"
rc 0 "log sig" T log sig
has "log shows the signer" "$work/out" "signed $alice"
rc 0 "push --pubkey (trusted signer)" T push "$work/s1.trove" trusted --pubkey "$work/alice.pub"
rc 0 "log trusted" T log trusted
has "log shows the verified signer" "$work/out" "verified $alice"
rc 8 "push --pubkey, unsigned file" T push "$work/v1.trove" trusted --pubkey "$work/alice.pub"
has "unsigned message" "$work/err" "not signed"
rc 9 "push --pubkey, unknown signer" T push "$work/s1.trove" trusted2 --pubkey "$work/bob.pub"
rc 0 "pull --pubkey" T pull trusted -o "$work/ps.trove" --pubkey "$work/alice.pub"
has "pull names the signer" "$work/out" "signed by trusted key $alice"
cmp -s "$work/s1.trove" "$work/ps.trove" && ok || bad "pull --pubkey not byte-identical"
rc 9 "pull --pubkey, unknown signer" T pull trusted -o "$work/px.trove" --pubkey "$work/bob.pub"
[ ! -e "$work/px.trove" ] && ok || bad "refused pull left a file"
rc 8 "pull --pubkey, unsigned version" T pull net:1 -o "$work/px.trove" --pubkey "$work/bob.pub"
rc 3 "pull --pubkey, missing key file" T pull net:1 -o "$work/px.trove" --pubkey "$work/nope.pub"

# usage
rc 2 "push without NAME" T push "$work/v1.trove"
rc 2 "unknown option" T log net --bogus
rc 0 "push --help" "$TROVE" push --help
has "push help" "$work/out" "usage: trove push FILE NAME"
rc 2 "push a bad name" T push "$work/v1.trove" "bad name"
rc 1 "log without registry" "$TROVE" log net --registry "$work/none"
has "no registry message" "$work/err" "no registry at"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
