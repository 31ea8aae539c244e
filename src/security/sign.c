/* sign.c: Ed25519 signatures over the model digest, embedded in the header entry "signatures"
 * or detached; verification against a set of trusted keys; opening under a trust policy.
 * Signature entries are hostile input like any other header content: every field is checked
 * for type and length before use. */
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "format/reader_internal.h"
#include "security/sec_internal.h"
#include "security/sigcheck.h"

/* The signed message: this context string (with its NUL) then the canonical CBOR of the
 * entry's "signed" map. */
static const char SIG_CONTEXT[] = "trove-signature-v1";
#define MAX_COMMENT 1024u
#define MAX_SIGNATURES 256u

typedef struct sig_entry {
    const uint8_t *key_id, *public_key, *sig, *digest; /* borrowed; public_key may be NULL */
    const trove_value *signed_map;
    int64_t time;
} sig_entry;

static int sig_message(const trove_allocator *a, const trove_value *signed_map, uint8_t **msg,
                       size_t *len, trove_error *err)
{
    uint8_t *enc = NULL;
    size_t enclen = 0;
    int rc = trove_value_encode(signed_map, a, &enc, &enclen, err);
    if (rc)
        return rc;
    size_t n = sizeof SIG_CONTEXT + enclen;
    uint8_t *m = trove__malloc(a, n);
    if (!m) {
        trove_free(a, enc);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    memcpy(m, SIG_CONTEXT, sizeof SIG_CONTEXT);
    memcpy(m + sizeof SIG_CONTEXT, enc, enclen);
    trove_free(a, enc);
    *msg = m;
    *len = n;
    return TROVE_OK;
}

static const uint8_t *get_bytes(const trove_value *m, const char *key, size_t want)
{
    const void *p;
    size_t n;
    if (trove_value_get_bytes(trove_value_get(m, key), &p, &n) != TROVE_OK || n != want)
        return NULL;
    return p;
}

/* Check one entry's shape; fills e. Message names the entry and field. */
static int parse_entry(const trove_value *v, size_t i, sig_entry *e, trove_error *err)
{
    memset(e, 0, sizeof *e);
#define BAD(...) trove__fail(err, TROVE_E_SIGNATURE, TROVE_NO_OFFSET, __VA_ARGS__)
    if (trove_value_type_of(v) != TROVE_VALUE_MAP)
        return BAD("signature %zu is not a map", i);
    const char *alg;
    if (trove_value_get_string(trove_value_get(v, "alg"), &alg, NULL) != TROVE_OK)
        return BAD("signature %zu has no \"alg\" string", i);
    if (strcmp(alg, "ed25519") != 0)
        return TROVE_E_UNSUPPORTED; /* another algorithm: a signer this version cannot check */
    if (!(e->key_id = get_bytes(v, "key_id", TROVE_KEY_ID_BYTES)))
        return BAD("signature %zu: \"key_id\" is not %d bytes", i, TROVE_KEY_ID_BYTES);
    if (trove_value_get(v, "public_key") &&
        !(e->public_key = get_bytes(v, "public_key", TROVE_PUBLIC_KEY_BYTES)))
        return BAD("signature %zu: \"public_key\" is not %d bytes", i, TROVE_PUBLIC_KEY_BYTES);
    if (!(e->sig = get_bytes(v, "sig", TROVE_SIGNATURE_BYTES)))
        return BAD("signature %zu: \"sig\" is not %d bytes", i, TROVE_SIGNATURE_BYTES);
    e->signed_map = trove_value_get(v, "signed");
    if (trove_value_type_of(e->signed_map) != TROVE_VALUE_MAP)
        return BAD("signature %zu: \"signed\" is not a map", i);
    if (!(e->digest = get_bytes(e->signed_map, "digest", TROVE_DIGEST_BYTES)))
        return BAD("signature %zu: \"signed.digest\" is not %d bytes", i, TROVE_DIGEST_BYTES);
    const trove_value *t = trove_value_get(e->signed_map, "time");
    if (t && trove_value_get_int(t, &e->time) != TROVE_OK)
        return BAD("signature %zu: \"signed.time\" is not an integer", i);
    for (size_t k = 0; k < trove_value_count(v); k++) {
        const char *key;
        size_t kl;
        const trove_value *item;
        if (trove_value_map_entry(v, k, &key, &kl, &item) == TROVE_OK &&
            strcmp(key, "alg") && strcmp(key, "key_id") && strcmp(key, "public_key") &&
            strcmp(key, "sig") && strcmp(key, "signed"))
            return BAD("signature %zu has an unknown field '%.64s'", i, key);
    }
#undef BAD
    return TROVE_OK;
}

/* Decode a detached signature file: caller frees *arr. */
static int decode_detached(const void *p, size_t len, const trove_allocator *a, trove_value **arr,
                           trove_error *err)
{
    *arr = NULL;
    if (len < 8 || memcmp(p, TROVE_DETACHED_MAGIC, 8) != 0)
        return trove__fail(err, TROVE_E_SIGNATURE, 0,
                           "not a trove detached signature file (bad magic number)");
    trove_error e2 = {0};
    int rc = trove_value_decode((const uint8_t *)p + 8, len - 8, a, 8, arr, &e2);
    if (rc == TROVE_E_NOMEM)
        return trove__fail(err, rc, TROVE_NO_OFFSET, "out of memory");
    if (rc)
        return trove__fail(err, TROVE_E_SIGNATURE, e2.offset == TROVE_NO_OFFSET ? e2.offset
                                                                                : e2.offset + 8,
                           "detached signature file is malformed: %s", e2.message);
    if (trove_value_type_of(*arr) != TROVE_VALUE_ARRAY) {
        trove_value_free(*arr);
        *arr = NULL;
        return trove__fail(err, TROVE_E_SIGNATURE, 8,
                           "detached signature file does not hold an array");
    }
    return TROVE_OK;
}

/* Build a new signature entry for digest with signer s. Caller owns *out. */
static int make_entry(const trove_signer *s, const uint8_t digest[32],
                      const trove_sign_options *o, trove_value **out, trove_error *err)
{
    const trove_allocator *a = o->alloc;
    trove_pubkey pk;
    trove_signer_public(s, &pk);
    *out = NULL;
    trove_value *e = trove_value_map(a), *sm = trove_value_map(a);
    uint8_t *msg = NULL;
    size_t mlen = 0;
    int rc = TROVE_E_NOMEM;
    if (!e || !sm)
        goto nomem;
    int64_t t = o->time ? o->time : (int64_t)time(NULL);
    if (trove_value_map_set(sm, "digest", trove_value_bytes(a, digest, 32)) ||
        trove_value_map_set(sm, "time", trove_value_int(a, t)))
        goto nomem;
    if (o->comment) {
        size_t cl = strlen(o->comment);
        if (cl > MAX_COMMENT) {
            rc = trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                             "signature comment longer than %u bytes", MAX_COMMENT);
            goto out;
        }
        trove_value *c = trove_value_string(a, o->comment, cl);
        if (!c) {
            rc = trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                             "signature comment is not valid UTF-8 (or out of memory)");
            goto out;
        }
        if (trove_value_map_set(sm, "comment", c))
            goto nomem;
    }
    if ((rc = sig_message(a, sm, &msg, &mlen, err)) != TROVE_OK)
        goto out;
    uint8_t sig[64];
    crypto_sign_detached(sig, NULL, msg, mlen, s->sk);
    rc = TROVE_E_NOMEM;
    if (trove_value_map_set(e, "alg", trove_value_cstring(a, "ed25519")) ||
        trove_value_map_set(e, "key_id", trove_value_bytes(a, pk.id, TROVE_KEY_ID_BYTES)) ||
        trove_value_map_set(e, "public_key", trove_value_bytes(a, pk.key, 32)) ||
        trove_value_map_set(e, "sig", trove_value_bytes(a, sig, 64)))
        goto nomem;
    rc = trove_value_map_set(e, "signed", sm);
    sm = NULL;
    if (rc)
        goto nomem;
    *out = e;
    e = NULL;
    rc = TROVE_OK;
    goto out;
nomem:
    rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory building a signature");
out:
    trove__free(a, msg);
    trove_value_free(sm);
    trove_value_free(e);
    return rc;
}

/* New array: the entries of `old` (may be NULL) whose key_id differs from id, then entry.
 * Takes ownership of entry. */
static int merged(const trove_value *old, trove_value *entry, const uint8_t *id,
                  const trove_allocator *a, trove_value **out, trove_error *err)
{
    *out = NULL;
    if (old && trove_value_type_of(old) != TROVE_VALUE_ARRAY) {
        trove_value_free(entry);
        return trove__fail(err, TROVE_E_SIGNATURE, TROVE_NO_OFFSET,
                           "the existing \"signatures\" entry is not an array");
    }
    if (trove_value_count(old) >= MAX_SIGNATURES) {
        trove_value_free(entry);
        return trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET,
                           "the file already holds %u signatures", MAX_SIGNATURES);
    }
    trove_value *arr = trove_value_array(a);
    if (!arr) {
        trove_value_free(entry);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    for (size_t i = 0; i < trove_value_count(old); i++) {
        const trove_value *v = trove_value_at(old, i);
        const uint8_t *kid = get_bytes(v, "key_id", TROVE_KEY_ID_BYTES);
        if (kid && !memcmp(kid, id, TROVE_KEY_ID_BYTES))
            continue; /* replaced by the new signature */
        trove_value *c = trove_value_clone(v);
        if (!c || trove_value_array_take(arr, c) != TROVE_OK) {
            trove_value_free(arr);
            trove_value_free(entry);
            return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        }
    }
    if (trove_value_array_take(arr, entry) != TROVE_OK) {
        trove_value_free(arr);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    *out = arr;
    return TROVE_OK;
}

static int sign_options(const trove_sign_options *in, trove_sign_options *o, trove_error *err)
{
    trove_sign_options d = TROVE_SIGN_OPTIONS_INIT;
    if (in) { /* callers built before `secret` existed pass the older, smaller size */
        if (in->size < offsetof(trove_sign_options, secret) || in->size > sizeof d)
            return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                               "bad trove_sign_options.size (use TROVE_SIGN_OPTIONS_INIT)");
        memcpy(&d, in, in->size);
        d.size = sizeof d;
    }
    *o = d;
    return trove__sodium_ready(err);
}

/* Verify checksums, digest, build the entry. */
static int sign_common(const trove_file *f, const trove_signer *s, const trove_sign_options *o,
                       trove_value **entry, trove_error *err)
{
    int rc = trove_file_verify(f, err);
    if (rc)
        return rc;
    uint8_t digest[32];
    if ((rc = trove_file_digest(f, 0, o->threads, digest, err)) != TROVE_OK)
        return rc;
    return make_entry(s, digest, o, entry, err);
}

/* The signed copy's bytes into the pipe of an encrypted write. */
typedef struct rewrite_job {
    const trove_file *f;
    const trove_value *signatures;
    const trove_allocator *a;
} rewrite_job;

static int produce_rewrite(int fd, void *ctx, trove_error *err)
{
    const rewrite_job *rj = ctx;
    return trove__file_rewrite_fd(rj->f, fd, "signatures", rj->signatures, rj->a, err);
}

TROVE_API int trove_sign(const trove_file *f, const char *out_path, const trove_signer *s,
                         const trove_sign_options *opts, trove_error *err)
{
    if (!f || !out_path || !s)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_sign: NULL argument");
    trove_sign_options o;
    int rc = sign_options(opts, &o, err);
    if (rc)
        return rc;
    trove_value *entry = NULL, *arr = NULL;
    if ((rc = sign_common(f, s, &o, &entry, err)) != TROVE_OK)
        return rc;
    trove_pubkey pk;
    trove_signer_public(s, &pk);
    rc = merged(trove_value_get(trove_file_header(f), "signatures"), entry, pk.id, o.alloc, &arr,
                err);
    if (rc)
        return rc;
    if (o.secret) {
        trove_crypt_options co = TROVE_CRYPT_OPTIONS_INIT;
        if (o.crypt && o.crypt->size != sizeof co) {
            rc = trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                             "bad trove_sign_options.crypt size (use TROVE_CRYPT_OPTIONS_INIT)");
        } else {
            if (o.crypt)
                co = *o.crypt;
            co.write_flags |= o.write_flags & TROVE_WRITE_NO_SYNC;
            if (!co.alloc)
                co.alloc = o.alloc;
            rewrite_job rj = {f, arr, o.alloc};
            rc = trove__encrypt_produced(out_path, produce_rewrite, &rj, o.secret, &co, err);
        }
    } else {
        trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
        wo.alloc = o.alloc;
        wo.flags = o.write_flags;
        rc = trove_file_rewrite(f, out_path, "signatures", arr, &wo, err);
    }
    trove_value_free(arr);
    return rc;
}

TROVE_API int trove_sign_detached(const trove_file *f, const trove_signer *s,
                                  const void *existing, size_t existing_len,
                                  const trove_sign_options *opts, uint8_t **out, size_t *out_len,
                                  trove_error *err)
{
    if (!f || !s || !out || !out_len || (!existing && existing_len))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "trove_sign_detached: NULL argument");
    *out = NULL;
    *out_len = 0;
    trove_sign_options o;
    int rc = sign_options(opts, &o, err);
    if (rc)
        return rc;
    const trove_allocator *a = o.alloc;
    trove_value *old = NULL, *entry = NULL, *arr = NULL;
    if (existing && (rc = decode_detached(existing, existing_len, a, &old, err)) != TROVE_OK)
        return rc;
    if ((rc = sign_common(f, s, &o, &entry, err)) != TROVE_OK)
        goto out;
    trove_pubkey pk;
    trove_signer_public(s, &pk);
    if ((rc = merged(old, entry, pk.id, a, &arr, err)) != TROVE_OK)
        goto out;
    uint8_t *enc = NULL;
    size_t enclen = 0;
    if ((rc = trove_value_encode(arr, a, &enc, &enclen, err)) != TROVE_OK)
        goto out;
    uint8_t *buf = trove__malloc(a, enclen + 8);
    if (!buf) {
        trove_free(a, enc);
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        goto out;
    }
    memcpy(buf, TROVE_DETACHED_MAGIC, 8);
    memcpy(buf + 8, enc, enclen);
    trove_free(a, enc);
    *out = buf;
    *out_len = enclen + 8;
out:
    trove_value_free(old);
    trove_value_free(arr);
    return rc;
}

/* ---- verification --------------------------------------------------------------------------- */
typedef struct vstate {
    const trove_pubkey *keys;
    size_t nkeys;
    const uint8_t *digest;
    const trove_allocator *a;
    trove_verify_result *res;
    uint32_t unknown;
    uint8_t unknown_id[TROVE_KEY_ID_BYTES];
} vstate;

static const trove_pubkey *trusted(const vstate *st, const sig_entry *e)
{
    for (size_t k = 0; k < st->nkeys; k++) {
        if (memcmp(st->keys[k].id, e->key_id, TROVE_KEY_ID_BYTES) != 0)
            continue;
        if (e->public_key && memcmp(e->public_key, st->keys[k].key, 32) != 0)
            continue; /* another key whose id collides: not this one */
        return &st->keys[k];
    }
    return NULL;
}

static int check_list(vstate *st, const trove_value *arr, const char *where, trove_error *err)
{
    char hex[2 * TROVE_KEY_ID_BYTES + 1];
    for (size_t i = 0; i < trove_value_count(arr); i++) {
        sig_entry e;
        trove_error e2 = {0};
        int rc = parse_entry(trove_value_at(arr, i), i, &e, &e2);
        if (rc == TROVE_E_UNSUPPORTED) { /* counts as a signature by an unknown signer */
            st->res->signatures++;
            if (!st->unknown++)
                memset(st->unknown_id, 0, TROVE_KEY_ID_BYTES);
            continue;
        }
        if (rc) {
            st->res->status = TROVE_SIG_BAD;
            return trove__fail(err, rc, TROVE_NO_OFFSET, "%s: %s", where, e2.message);
        }
        st->res->signatures++;
        const trove_pubkey *pk = trusted(st, &e);
        if (!pk) {
            if (!st->unknown++)
                memcpy(st->unknown_id, e.key_id, TROVE_KEY_ID_BYTES);
            continue;
        }
        trove__hex(e.key_id, TROVE_KEY_ID_BYTES, hex);
        if (sodium_memcmp(e.digest, st->digest, TROVE_DIGEST_BYTES) != 0) {
            st->res->status = TROVE_SIG_BAD;
            memcpy(st->res->key_id, e.key_id, TROVE_KEY_ID_BYTES);
            st->res->time = e.time;
            return trove__fail(err, TROVE_E_SIGNATURE, TROVE_NO_OFFSET,
                               "bad signature: the %s signature by trusted key %s was made over "
                               "another model digest: the content changed after signing, or the "
                               "signature belongs to another file", where, hex);
        }
        uint8_t *msg = NULL;
        size_t mlen = 0;
        if ((rc = sig_message(st->a, e.signed_map, &msg, &mlen, err)) != TROVE_OK)
            return rc;
        rc = crypto_sign_verify_detached(e.sig, msg, mlen, pk->key);
        trove__free(st->a, msg);
        if (rc != 0) {
            st->res->status = TROVE_SIG_BAD;
            memcpy(st->res->key_id, e.key_id, TROVE_KEY_ID_BYTES);
            st->res->time = e.time;
            return trove__fail(err, TROVE_E_SIGNATURE, TROVE_NO_OFFSET,
                               "bad signature: the %s signature by trusted key %s does not verify "
                               "(the signature or its signed fields were altered)", where, hex);
        }
        if (!st->res->valid++) {
            memcpy(st->res->key_id, e.key_id, TROVE_KEY_ID_BYTES);
            st->res->time = e.time;
        }
    }
    return TROVE_OK;
}

/* Everything after the checksum pass: the signature lists against the keys, over `digest`
 * (NULL: computed here, only when there is a signature to check). */
static int check_all(const trove_file *f, const uint8_t *digest, const trove_pubkey *keys,
                     size_t nkeys, const void *detached, size_t detached_len, unsigned threads,
                     trove_verify_result *res, trove_error *err)
{
    const trove_allocator *a = f->alloc;
    const trove_value *emb = trove_value_get(trove_file_header(f), "signatures");
    trove_value *det = NULL;
    int rc;
    if (detached && (rc = decode_detached(detached, detached_len, a, &det, err)) != TROVE_OK) {
        if (rc != TROVE_E_NOMEM)
            res->status = TROVE_SIG_BAD;
        return rc;
    }
    if (emb && trove_value_type_of(emb) != TROVE_VALUE_ARRAY) {
        trove_value_free(det);
        res->status = TROVE_SIG_BAD;
        return trove__fail(err, TROVE_E_SIGNATURE, TROVE_NO_OFFSET,
                           "the header entry \"signatures\" is not an array");
    }
    if (trove_value_count(emb) + trove_value_count(det) == 0) {
        trove_value_free(det);
        res->status = TROVE_SIG_UNSIGNED;
        return trove__fail(err, TROVE_E_SIGNATURE, TROVE_NO_OFFSET,
                           "the file is not signed (no signature in its header%s)",
                           detached ? " nor in the detached signature file" : "");
    }
    if (digest)
        memcpy(res->digest, digest, TROVE_DIGEST_BYTES);
    else if ((rc = trove_file_digest(f, 0, threads, res->digest, err)) != TROVE_OK) {
        trove_value_free(det);
        return rc;
    }
    vstate st = {keys, nkeys, res->digest, a, res, 0, {0}};
    rc = check_list(&st, emb, "embedded", err);
    if (rc == TROVE_OK)
        rc = check_list(&st, det, "detached", err);
    trove_value_free(det);
    if (rc)
        return rc;
    if (res->valid) {
        res->status = TROVE_SIG_VALID;
        return TROVE_OK;
    }
    char hex[2 * TROVE_KEY_ID_BYTES + 1];
    trove__hex(st.unknown_id, TROVE_KEY_ID_BYTES, hex);
    res->status = TROVE_SIG_UNKNOWN_KEY;
    memcpy(res->key_id, st.unknown_id, TROVE_KEY_ID_BYTES);
    return trove__fail(err, TROVE_E_SIGNATURE, TROVE_NO_OFFSET,
                       "signed by an unknown key: %u signature%s, none by a trusted key (first "
                       "signer's key id %s)", st.unknown, st.unknown == 1 ? "" : "s", hex);
}

/* Common start of both checks: result reset, arguments, libsodium. */
static int check_start(const trove_file *f, const trove_pubkey *keys, size_t nkeys,
                       const void *detached, size_t detached_len, trove_verify_result *res,
                       trove_error *err)
{
    memset(res, 0, sizeof *res);
    res->status = TROVE_SIG_CORRUPT;
    if (!f || !keys || !nkeys || (!detached && detached_len))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "trove_verify_signatures: no file or no trusted key");
    return trove__sodium_ready(err);
}

TROVE_API int trove_verify_signatures(const trove_file *f, const trove_pubkey *keys,
                                      size_t nkeys, const void *detached, size_t detached_len,
                                      unsigned threads, trove_verify_result *res,
                                      trove_error *err)
{
    trove_verify_result local;
    if (!res)
        res = &local;
    int rc = check_start(f, keys, nkeys, detached, detached_len, res, err);
    if (rc)
        return rc;
    /* Content first: a damaged file is "corrupt", whatever its signatures say. */
    if ((rc = trove_file_verify(f, err)) != TROVE_OK)
        return rc;
    return check_all(f, NULL, keys, nkeys, detached, detached_len, threads, res, err);
}

int trove__check_signatures(const trove_file *f, const uint8_t digest[32],
                            const trove_pubkey *keys, size_t nkeys, trove_verify_result *res,
                            trove_error *err)
{
    int rc = check_start(f, keys, nkeys, NULL, 0, res, err);
    if (rc)
        return rc;
    return check_all(f, digest, keys, nkeys, NULL, 0, 0, res, err);
}

/* Append "sep" + text to buf (cap bytes), marking a cut with "..." once. */
static void put(char *buf, size_t cap, const char *sep, const char *text)
{
    size_t n = strlen(buf);
    if (n + 4 >= cap || (n >= 3 && !strcmp(buf + n - 3, "...")))
        return;
    int w = snprintf(buf + n, cap - n, "%s%s", n ? sep : "", text);
    if (w < 0 || (size_t)w >= cap - n)
        snprintf(buf + (cap - 4), 4, "...");
}

int trove__signature_summary(const trove_file *f, const uint8_t digest[32], char *buf,
                             size_t cap, trove_error *err)
{
    if (!f || !digest || !buf || cap < 64)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "trove__signature_summary: bad argument");
    buf[0] = '\0';
    int rc = trove__sodium_ready(err);
    if (rc)
        return rc;
    const trove_value *emb = trove_value_get(trove_file_header(f), "signatures");
    if (!emb || trove_value_count(emb) == 0) {
        snprintf(buf, cap, "unsigned");
        return TROVE_OK;
    }
    if (trove_value_type_of(emb) != TROVE_VALUE_ARRAY)
        return trove__fail(err, TROVE_E_SIGNATURE, TROVE_NO_OFFSET,
                           "the header entry \"signatures\" is not an array");
    char valid[256] = "", unchecked[256] = "", other[64] = "";
    char hex[2 * TROVE_KEY_ID_BYTES + 1];
    for (size_t i = 0; i < trove_value_count(emb); i++) {
        sig_entry e;
        trove_error e2 = {0};
        rc = parse_entry(trove_value_at(emb, i), i, &e, &e2);
        if (rc == TROVE_E_UNSUPPORTED) {
            snprintf(other, sizeof other, "signed with an algorithm this version cannot check");
            continue;
        }
        if (rc)
            return trove__fail(err, rc, TROVE_NO_OFFSET, "embedded %s", e2.message);
        trove__hex(e.key_id, TROVE_KEY_ID_BYTES, hex);
        if (!e.public_key) {
            put(unchecked, sizeof unchecked, ", ", hex);
            continue;
        }
        trove_pubkey pk;
        trove_pubkey_from_bytes(&pk, e.public_key);
        if (sodium_memcmp(pk.id, e.key_id, TROVE_KEY_ID_BYTES) != 0)
            return trove__fail(err, TROVE_E_SIGNATURE, TROVE_NO_OFFSET,
                               "signature %zu: its key id %s is not the id of its public key", i,
                               hex);
        if (sodium_memcmp(e.digest, digest, TROVE_DIGEST_BYTES) != 0)
            return trove__fail(err, TROVE_E_SIGNATURE, TROVE_NO_OFFSET,
                               "bad signature: signature %zu (key %s) was made over another model "
                               "digest: the content changed after signing", i, hex);
        uint8_t *msg = NULL;
        size_t mlen = 0;
        if ((rc = sig_message(f->alloc, e.signed_map, &msg, &mlen, err)) != TROVE_OK)
            return rc;
        rc = crypto_sign_verify_detached(e.sig, msg, mlen, e.public_key);
        trove__free(f->alloc, msg);
        if (rc != 0)
            return trove__fail(err, TROVE_E_SIGNATURE, TROVE_NO_OFFSET,
                               "bad signature: signature %zu (key %s) does not verify with its "
                               "own public key (the signature or its signed fields were "
                               "altered)", i, hex);
        put(valid, sizeof valid, ", ", hex);
    }
    if (valid[0]) {
        put(buf, cap, "; ", "signed by ");
        put(buf, cap, "", valid);
        put(buf, cap, "", " (valid signatures; signers not checked against trusted keys)");
    }
    if (unchecked[0]) {
        put(buf, cap, "; ", "signed by key id ");
        put(buf, cap, "", unchecked);
        put(buf, cap, "", " (no public key in the file: not checked)");
    }
    if (other[0])
        put(buf, cap, "; ", other);
    return TROVE_OK;
}

/* ---- opening under a policy --------------------------------------------------------------- */
TROVE_API int trove_open_trusted(trove_file **out, const char *path,
                                 const trove_open_options *opts,
                                 const trove_trust_options *trust, trove_verify_result *res,
                                 trove_error *err)
{
    if (!out || !path || !trust)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_open_trusted: NULL");
    *out = NULL;
    if (trust->size < sizeof(trove_trust_options))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "bad trove_trust_options.size (use TROVE_TRUST_OPTIONS_INIT)");
    if (trust->flags & ~(uint32_t)(TROVE_TRUST_REQUIRE_SIGNATURE | TROVE_TRUST_REQUIRE_ENCRYPTED))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "unknown trust flags 0x%x",
                           trust->flags);
    if ((trust->flags & TROVE_TRUST_REQUIRE_SIGNATURE) && (!trust->keys || !trust->nkeys))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "a signature is required but no trusted key was given");
    trove_file *f = NULL;
    int rc;
    if (trove_is_encrypted(path)) {
        if (!trust->secret)
            return trove__fail(err, TROVE_E_KEY, TROVE_NO_OFFSET,
                               "the file is encrypted and no key or passphrase was given");
        rc = trove_open_encrypted(&f, path, trust->secret, opts, NULL, err);
    } else {
        if (trust->flags & TROVE_TRUST_REQUIRE_ENCRYPTED)
            return trove__fail(err, TROVE_E_STATE, TROVE_NO_OFFSET,
                               "the policy requires an encrypted file and this one is not "
                               "encrypted");
        rc = trove_open(&f, path, opts, err);
    }
    if (rc)
        return rc;
    if (trust->flags & TROVE_TRUST_REQUIRE_SIGNATURE) {
        rc = trove_verify_signatures(f, trust->keys, trust->nkeys, trust->detached,
                                     trust->detached_len, trust->threads, res, err);
        if (rc) {
            trove_close(f);
            return rc;
        }
    }
    *out = f;
    return TROVE_OK;
}

TROVE_API int trove_open_signed(trove_file **out, const char *path,
                                const trove_open_options *opts, const trove_pubkey *keys,
                                size_t nkeys, trove_error *err)
{
    trove_trust_options t = TROVE_TRUST_OPTIONS_INIT;
    t.flags = TROVE_TRUST_REQUIRE_SIGNATURE;
    t.keys = keys;
    t.nkeys = nkeys;
    return trove_open_trusted(out, path, opts, &t, NULL, err);
}
