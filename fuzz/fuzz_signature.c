/* fuzz_signature.c: fuzz target for signature entries (docs/FORMAT.md "Signatures"): detached
 * signature files, the embedded "signatures" header entry and whole signed files, checked by
 * trove_verify_signatures against a fixed trusted Ed25519 key over a small fixed model
 * (trust_fixture.h), and merged by trove_sign_detached / trove_sign. The first input byte picks
 * the mode (mod 3): 0 the rest is a detached signature file; 1 the rest is the CBOR of the
 * "signatures" entry, embedded into the fixed model; 2 the rest is a whole trove file.
 * Properties that hold whatever the bytes:
 *   - clean statuses; the outcome and the status agree (OK iff VALID, with valid >= 1);
 *   - the digest reported is the model's, whatever the signatures say;
 *   - when every existing entry is well formed (outcome unsigned, unknown signer or valid),
 *     signing with the trusted key and verifying again succeeds;
 *   - the registry's checks over a digest computed beforehand (trove__check_signatures) decide
 *     as trove_verify_signatures does, and its summary (trove__signature_summary) is a clean
 *     status with a bounded, non-empty text. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "security/sigcheck.h"
#include "trust_fixture.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static trove_signer *signer;
static trove_pubkey trusted;
static uint8_t *model;
static size_t model_len;
static trove_file *fx;
static uint8_t fx_digest[TROVE_DIGEST_BYTES];
static char dir[64], signed_path[96];

static void cleanup(void)
{
    unlink(signed_path);
    rmdir(dir);
    trove_close(fx);
    free(model);
    trove_signer_free(signer);
}

static void init(void)
{
    if (signer)
        return;
    signer = fx_signer(FX_SEED_TRUSTED);
    check(signer != NULL);
    fx_pubkey(FX_SEED_TRUSTED, &trusted);
    model = fx_model(NULL, &model_len);
    check(model != NULL);
    trove_error err;
    check(trove_open_memory(&fx, model, model_len, NULL, &err) == TROVE_OK);
    check(trove_file_digest(fx, 0, 1, fx_digest, &err) == TROVE_OK);
    snprintf(dir, sizeof dir, "/dev/shm/trove-fuzz-sig.XXXXXX");
    if (!mkdtemp(dir)) {
        snprintf(dir, sizeof dir, "/tmp/trove-fuzz-sig.XXXXXX");
        check(mkdtemp(dir) != NULL);
    }
    snprintf(signed_path, sizeof signed_path, "%s/signed.trove", dir);
    atexit(cleanup);
}

/* Verify f (with detached bytes when det is not NULL) and check the result's invariants.
 * Returns the status; *res is filled. */
static int verify(const trove_file *f, const uint8_t *det, size_t dlen, trove_verify_result *res)
{
    trove_error err;
    memset(&err, 0, sizeof err);
    int rc = trove_verify_signatures(f, &trusted, 1, det, dlen, 1, res, &err);
    clean(rc, &err);
    check(rc != TROVE_E_NOMEM); /* the inputs are small */
    if (rc == TROVE_OK)
        check(res->status == TROVE_SIG_VALID && res->valid >= 1 &&
              res->signatures >= res->valid &&
              memcmp(res->key_id, trusted.id, TROVE_KEY_ID_BYTES) == 0);
    else if (rc == TROVE_E_SIGNATURE)
        check(res->status == TROVE_SIG_UNSIGNED || res->status == TROVE_SIG_UNKNOWN_KEY ||
              res->status == TROVE_SIG_BAD);
    else
        check(res->status == TROVE_SIG_CORRUPT);
    if (res->status == TROVE_SIG_UNSIGNED)
        check(res->signatures == 0);
    if (res->status == TROVE_SIG_UNKNOWN_KEY)
        check(res->signatures >= 1 && res->valid == 0);
    return rc;
}

/* Every entry parsed: the outcome was decided by keys and digests, not by malformed data. */
static int well_formed(const trove_verify_result *r)
{
    return r->status == TROVE_SIG_VALID || r->status == TROVE_SIG_UNSIGNED ||
           r->status == TROVE_SIG_UNKNOWN_KEY;
}

/* Embedded signatures, as the registry checks them (its digest computed beforehand). */
static void registry_checks(const trove_file *f, int vrc, const trove_verify_result *vres)
{
    uint8_t d[TROVE_DIGEST_BYTES];
    trove_error err;
    memset(&err, 0, sizeof err);
    if (trove_file_digest(f, 0, 1, d, &err) != TROVE_OK)
        return;
    trove_verify_result r;
    memset(&r, 0, sizeof r);
    int rc = trove__check_signatures(f, d, &trusted, 1, &r, &err);
    clean(rc, &err);
    if (vres->status != TROVE_SIG_CORRUPT) /* verify also checked every checksum first */
        check(rc == vrc && r.status == vres->status && r.valid == vres->valid &&
              r.signatures == vres->signatures);
    char buf[256];
    memset(&err, 0, sizeof err);
    rc = trove__signature_summary(f, d, buf, sizeof buf, &err);
    clean(rc, &err);
    if (rc == TROVE_OK) {
        check(buf[0] != '\0' && strlen(buf) < sizeof buf);
        if (vres->status == TROVE_SIG_UNSIGNED)
            check(strcmp(buf, "unsigned") == 0);
    }
}

static void fuzz_detached(const uint8_t *p, size_t n)
{
    trove_verify_result res;
    int rc = verify(fx, p, n, &res);
    if (rc == TROVE_OK || res.status == TROVE_SIG_UNKNOWN_KEY)
        check(memcmp(res.digest, fx_digest, sizeof fx_digest) == 0);
    /* Merge a new signature into the file: the result verifies when the old one was sound. */
    trove_sign_options so = TROVE_SIGN_OPTIONS_INIT;
    so.time = 1700000000;
    so.threads = 1;
    uint8_t *out = NULL;
    size_t olen = 0;
    trove_error err;
    memset(&err, 0, sizeof err);
    int sr = trove_sign_detached(fx, signer, p, n, &so, &out, &olen, &err);
    clean(sr, &err);
    if (sr == TROVE_OK) {
        trove_verify_result r2;
        int vr = verify(fx, out, olen, &r2);
        if (well_formed(&res))
            check(vr == TROVE_OK);
        trove_free(NULL, out);
    } else {
        check(out == NULL && (!well_formed(&res) || sr == TROVE_E_LIMIT));
    }
}

static void fuzz_embedded(const uint8_t *p, size_t n)
{
    trove_value *v = NULL;
    trove_error err;
    memset(&err, 0, sizeof err);
    int rc = trove_value_decode(p, n, NULL, 16, &v, &err);
    clean(rc, &err);
    if (rc != TROVE_OK)
        return;
    size_t len = 0;
    uint8_t *bytes = fx_model(v, &len); /* takes v */
    if (!bytes)
        return;
    trove_file *f = NULL;
    if (trove_open_memory(&f, bytes, len, NULL, &err) != TROVE_OK) {
        free(bytes);
        return;
    }
    trove_verify_result res;
    int vr = verify(f, NULL, 0, &res);
    if (vr == TROVE_OK || res.status == TROVE_SIG_UNKNOWN_KEY)
        check(memcmp(res.digest, fx_digest, sizeof fx_digest) == 0);
    registry_checks(f, vr, &res);
    trove_sign_options so = TROVE_SIGN_OPTIONS_INIT;
    so.time = 1700000000;
    so.threads = 1;
    so.write_flags = TROVE_WRITE_NO_SYNC;
    memset(&err, 0, sizeof err);
    int sr = trove_sign(f, signed_path, signer, &so, &err);
    clean(sr, &err);
    if (sr == TROVE_OK) {
        trove_file *g = NULL;
        check(trove_open(&g, signed_path, NULL, &err) == TROVE_OK);
        trove_verify_result r2;
        int v2 = verify(g, NULL, 0, &r2);
        if (well_formed(&res))
            check(v2 == TROVE_OK && memcmp(r2.digest, fx_digest, sizeof fx_digest) == 0);
        trove_close(g);
        unlink(signed_path);
    } else {
        check(!well_formed(&res) || sr == TROVE_E_LIMIT);
    }
    trove_close(f);
    free(bytes);
}

static void fuzz_file(const uint8_t *p, size_t n)
{
    trove_file *f = NULL;
    trove_error err;
    trove_open_options oo = TROVE_OPEN_OPTIONS_INIT;
    oo.max_decompressed_bytes = UINT64_C(8) << 20;
    if (trove_open_memory(&f, p, n, &oo, &err) != TROVE_OK)
        return;
    trove_verify_result res;
    int vr = verify(f, NULL, 0, &res);
    registry_checks(f, vr, &res);
    trove_close(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    if (size == 0)
        return 0;
    switch (data[0] % 3) {
    case 0: fuzz_detached(data + 1, size - 1); break;
    case 1: fuzz_embedded(data + 1, size - 1); break;
    default: fuzz_file(data + 1, size - 1); break;
    }
    return 0;
}
