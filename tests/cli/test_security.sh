#!/bin/sh
# test_security.sh: the trust commands end to end: keygen (plain and sealed), sign (embedded,
# several signers, detached), verify --pubkey with its distinct exit codes (ok 0, corrupt 4,
# bad signature 5, unsigned 8, unknown signer 9), encrypt/decrypt with a key file, a variable
# and a passphrase (wrong key 6, tampered 4, no partial output), inspect of an encrypted file.
# Needs $TROVE (the binary); builds its fixture writer against build/libtrove.a at test time.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
TROVE=${TROVE:-$here/build/trove}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
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
# grep in the last stderr / stdout
err_has() { if grep -q "$1" "$tmp/err"; then ok; else bad "stderr lacks '$1'"; cat "$tmp/err"; fi; }
out_has() { if grep -q "$1" "$tmp/out"; then ok; else bad "stdout lacks '$1'"; cat "$tmp/out"; fi; }

# ---- fixture: a small model written through the public API ----------------------------------
cat >"$tmp/mk.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include "trove.h"
int main(int argc, char **argv)
{
    trove_error err = {0};
    trove_writer *w = NULL;
    int seed = atoi(argv[2]);
    if (trove_writer_open(&w, argv[1], NULL, &err)) return 1;
    trove_value *m = trove_value_map(NULL);
    if (trove_value_map_set(m, "kind", trove_value_cstring(NULL, "linear")) ||
        trove_value_map_set(m, "seed", trove_value_int(NULL, seed)) ||
        trove_writer_set_metadata(w, m, &err)) return 1;
    static float x[100000];
    for (int i = 0; i < 100000; i++) x[i] = (float)i * 0.5f + (float)seed;
    uint64_t shape[1] = {100000};
    trove_tensor_spec s = {"coef", TROVE_FLOAT32, 1, shape, 0, 0};
    if (trove_writer_add(w, &s, x, &err) || trove_writer_commit(w, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    trove_writer_free(w);
    return 0;
}
EOF
# shellcheck disable=SC2046
cc -std=c11 -I"$here/include" -o "$tmp/mk" "$tmp/mk.c" "$here/build/libtrove.a" \
    $(pkg-config --libs libzstd libxxhash libsodium) -lpthread -lm || { echo "cannot build fixture"; exit 1; }
cd "$tmp" || exit 1
./mk a.trove 1 && ./mk b.trove 2 || { echo "fixture failed"; exit 1; }
cp a.trove a.orig

for cmd in keygen sign encrypt decrypt; do
    expect 0 "$cmd --help" -- "$TROVE" $cmd --help
    out_has "usage: trove $cmd"
    out_has "exit codes"
done

# ---- keys ----------------------------------------------------------------------------------
expect 0 "keygen" -- "$TROVE" keygen -o prod
out_has "key id"
[ "$(stat -c %a prod.key)" = 600 ] && ok || bad "prod.key mode is $(stat -c %a prod.key)"
expect 0 "keygen reviewer" -- "$TROVE" keygen -o rev
expect 0 "keygen other" -- "$TROVE" keygen -o other
expect 1 "keygen never overwrites" -- "$TROVE" keygen -o prod
err_has "exists"
echo "s3cret pass" >pw.txt
TROVE_TEST_PASS="s3cret pass"; export TROVE_TEST_PASS
expect 0 "sealed keygen" -- "$TROVE" keygen -o sealed --passphrase-env TROVE_TEST_PASS --kdf-ops 1 --kdf-mem 8192
grep -q argon2id sealed.key && ok || bad "sealed.key is not sealed"
grep -q "s3cret" sealed.key && bad "passphrase in key file" || ok

# ---- signatures ------------------------------------------------------------------------------
expect 8 "unsigned under --pubkey" -- "$TROVE" verify a.trove --pubkey prod.pub
err_has "not signed"
expect 0 "sign" -- "$TROVE" sign a.trove --key prod.key --no-sync
expect 0 "verify" -- "$TROVE" verify a.trove --pubkey prod.pub
out_has "signed by trusted key"
expect 0 "plain verify still works" -- "$TROVE" verify a.trove
expect 9 "unknown signer" -- "$TROVE" verify a.trove --pubkey other.pub
err_has "unknown key"
expect 0 "second signer (sealed key, passphrase on a descriptor)" -- \
    "$TROVE" sign a.trove --key sealed.key --passphrase-fd 3 --no-sync 3<pw.txt
expect 0 "both verify" -- "$TROVE" verify a.trove --pubkey sealed.pub
out_has "2 signatures"
expect 2 "unset passphrase variable" -- "$TROVE" sign b.trove --key sealed.key --passphrase-env NOPE_UNSET_VAR
TROVE_BAD_PASS=wrong; export TROVE_BAD_PASS
expect 6 "wrong passphrase" -- "$TROVE" sign b.trove --key sealed.key --passphrase-env TROVE_BAD_PASS
err_has "wrong passphrase"
expect 6 "a public key is not a signing key" -- "$TROVE" sign b.trove --key prod.pub
# corrupted content: a flipped tensor byte -> checksum, exit 4
cp a.trove c.trove
printf '\001' | dd of=c.trove bs=1 seek=200 conv=notrunc 2>/dev/null
expect 4 "corrupted content" -- "$TROVE" verify c.trove --pubkey prod.pub
# bad signature: a signature moved from a.trove onto b.trove's content via detached signing
expect 0 "detached sign" -- "$TROVE" sign b.trove --key rev.key --detached
[ -f b.trove.sig ] && ok || bad "no b.trove.sig"
expect 0 "detached verify" -- "$TROVE" verify b.trove --pubkey rev.pub --detached
cp b.trove.sig a.trove.sig
expect 5 "signature of b never verifies a" -- "$TROVE" verify a.trove --pubkey rev.pub --detached
err_has "bad signature"
./mk b2.trove 2
cmp -s b.trove b2.trove && ok || bad "detached signing changed b.trove"
# a flipped byte inside the detached signature: bad signature, exit 5
cp b.trove.sig flip.sig
size=$(stat -c %s flip.sig)
printf '\377' | dd of=flip.sig bs=1 seek=$((size - 40)) conv=notrunc 2>/dev/null
expect 5 "altered detached signature" -- "$TROVE" verify b.trove --pubkey rev.pub --sig flip.sig

# ---- encryption ------------------------------------------------------------------------------
expect 0 "keygen --symmetric" -- "$TROVE" keygen --symmetric -o data
expect 0 "keygen --symmetric other" -- "$TROVE" keygen --symmetric -o wrongdata
expect 0 "encrypt with a key file" -- "$TROVE" encrypt a.trove -o a.enc --key data.key --no-sync --chunk 65536
[ "$(stat -c %a a.enc)" = 600 ] && ok || bad "a.enc mode"
expect 0 "inspect encrypted" -- "$TROVE" inspect a.enc
out_has "xchacha20poly1305"
grep -q linear "$tmp/out" && bad "inspect leaked metadata" || ok
expect 0 "inspect --json encrypted" -- "$TROVE" inspect --json a.enc
/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['encrypted'] and d['cipher']=='xchacha20poly1305' and d['chunk_bytes']==65536" "$tmp/out" && ok || bad "inspect --json"
expect 1 "plain verify refuses the envelope" -- "$TROVE" verify a.enc
err_has "encrypted"
expect 0 "decrypt" -- "$TROVE" decrypt a.enc -o a.dec --key data.key --no-sync
cmp -s a.trove a.dec && ok || bad "decrypted bytes differ"
expect 0 "verify signatures inside an encrypted file" -- "$TROVE" verify a.enc --pubkey prod.pub --key data.key
expect 6 "wrong key" -- "$TROVE" decrypt a.enc -o w.dec --key wrongdata.key
err_has "wrong key"
[ -e w.dec ] && bad "partial output after a wrong key" || ok
key_hex=$(cut -d' ' -f2 data.key)
TROVE_KEY_T=$key_hex; export TROVE_KEY_T
expect 0 "key from a variable" -- "$TROVE" decrypt a.enc -o v.dec --key-env TROVE_KEY_T --no-sync
cmp -s a.trove v.dec && ok || bad "variable-key output differs"
expect 0 "encrypt with a passphrase" -- "$TROVE" encrypt b.trove -o b.enc --passphrase-fd 3 --kdf-ops 1 --kdf-mem 8192 --no-sync 3<pw.txt
expect 0 "inspect shows KDF parameters" -- "$TROVE" inspect b.enc
out_has "Argon2id (ops 1"
expect 6 "wrong passphrase" -- "$TROVE" decrypt b.enc -o p.dec --passphrase-env TROVE_BAD_PASS
err_has "wrong passphrase"
expect 0 "right passphrase" -- "$TROVE" decrypt b.enc -o p.dec --passphrase-env TROVE_TEST_PASS --no-sync
cmp -s b.trove p.dec && ok || bad "passphrase output differs"
# tampered ciphertext: exit 4, no output
cp a.enc t.enc
printf '\001' | dd of=t.enc bs=1 seek=100000 conv=notrunc 2>/dev/null
expect 4 "tampered chunk" -- "$TROVE" decrypt t.enc -o t.dec --key data.key
err_has "failed authentication"
[ -e t.dec ] && bad "partial output after tampering" || ok
head -c 200000 a.enc >tr.enc
expect 4 "truncated" -- "$TROVE" decrypt tr.enc -o tr.dec --key data.key
err_has "truncated"
expect 2 "passphrase from argv is not accepted" -- "$TROVE" encrypt a.trove -o z.enc --passphrase mysecret
grep -rq "$key_hex" "$tmp/err" && bad "key in an error message" || ok

# ---- reading commands open an encrypted file with a key: the content as in the plain file ---
"$TROVE" ls a.trove >ls.plain 2>/dev/null
expect 0 "ls --key of an encrypted file" -- "$TROVE" ls a.enc --key data.key
cmp -s "$tmp/out" ls.plain && ok || bad "ls of the encrypted file differs from the plain one"
expect 1 "ls of an encrypted file without a key" -- "$TROVE" ls a.enc
err_has "encrypted"
expect 6 "ls with the wrong key" -- "$TROVE" ls a.enc --key wrongdata.key
expect 0 "ls with a passphrase" -- "$TROVE" ls b.enc --passphrase-env TROVE_TEST_PASS
"$TROVE" ls b.trove >ls.plain.b 2>/dev/null
cmp -s "$tmp/out" ls.plain.b && ok || bad "ls with a passphrase differs from the plain one"
t1=$("$TROVE" ls --json a.trove | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)[0]['name'])")
"$TROVE" cat a.trove "$t1" -o cat.plain.npy >/dev/null 2>&1
expect 0 "cat --key-env of an encrypted file" -- "$TROVE" cat a.enc "$t1" -o cat.enc.npy --key-env TROVE_KEY_T
cmp -s cat.plain.npy cat.enc.npy && ok || bad "cat of the encrypted file differs from the plain one"
expect 0 "inspect --json --key of an encrypted file" -- "$TROVE" inspect --json a.enc --key data.key
cp "$tmp/out" inspect.enc.json
"$TROVE" inspect --json a.trove >inspect.plain.json 2>/dev/null
/usr/bin/python3 -c "
import json,sys
a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
assert 'encrypted' not in a or not a['encrypted'], 'showed the envelope, not the content'
assert a['digest'] == b['digest'] and a['tensors'] == b['tensors'] and a['metadata'] == b['metadata']
" inspect.enc.json inspect.plain.json && ok || bad "inspect --key differs from the plain file's inspect"
expect 4 "ls --key of a tampered encrypted file" -- "$TROVE" ls t.enc --key data.key

# ---- signing an encrypted file: it stays encrypted, verified with its key ----------------------
./mk s.trove 5
expect 0 "encrypt s" -- "$TROVE" encrypt s.trove -o s.enc --key data.key --no-sync --chunk 65536
expect 2 "sign of an encrypted file without its key" -- "$TROVE" sign s.enc --key prod.key
err_has "file-key"
expect 2 "--file-key for a plain file" -- "$TROVE" sign s.trove --key prod.key --file-key data.key
expect 6 "sign with the wrong file key" -- "$TROVE" sign s.enc --key prod.key --file-key wrongdata.key
expect 0 "sign an encrypted file in place" -- "$TROVE" sign s.enc --key prod.key --file-key data.key --no-sync
out_has "still encrypted"
expect 0 "it is still encrypted, same chunking" -- "$TROVE" inspect --json s.enc
/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['encrypted'] and d['chunk_bytes']==65536" "$tmp/out" && ok || bad "signed file lost its envelope"
expect 0 "verify it with its key" -- "$TROVE" verify s.enc --pubkey prod.pub --key data.key
expect 9 "another signer's key" -- "$TROVE" verify s.enc --pubkey other.pub --key data.key
expect 0 "second signer, sealed key, file key from a variable" -- \
    "$TROVE" sign s.enc --key sealed.key --passphrase-env TROVE_TEST_PASS --file-key-env TROVE_KEY_T --no-sync
expect 0 "both signatures verify" -- "$TROVE" verify s.enc --pubkey prod.pub --pubkey sealed.pub --key data.key
expect 0 "decrypt the signed file" -- "$TROVE" decrypt s.enc -o s.dec --key data.key --no-sync
expect 0 "its plaintext verifies" -- "$TROVE" verify s.dec --pubkey sealed.pub
expect 0 "sign a passphrase-encrypted file to a new name" -- \
    "$TROVE" sign b.enc --key prod.key --file-passphrase-env TROVE_TEST_PASS -o bs.enc --no-sync
expect 0 "the new file keeps the Argon2id cost" -- "$TROVE" inspect bs.enc
out_has "Argon2id (ops 1"
expect 0 "verify with the passphrase" -- "$TROVE" verify bs.enc --pubkey prod.pub --passphrase-env TROVE_TEST_PASS
expect 0 "detached signature of an encrypted file" -- "$TROVE" sign a.enc --key rev.key --file-key data.key --detached
out_has "its plaintext"
expect 0 "verify the detached signature with the key" -- "$TROVE" verify a.enc --pubkey rev.pub --key data.key --detached
cp t.enc ts.enc
expect 4 "sign of a tampered encrypted file" -- "$TROVE" sign ts.enc --key prod.key --file-key data.key
cmp -s t.enc ts.enc && ok || bad "a failed sign changed the file"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
