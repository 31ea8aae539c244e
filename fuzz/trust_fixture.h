/* trust_fixture.h: the fixed keys and the small fixed model shared by the trust fuzz targets
 * (fuzz_envelope.c, fuzz_signature.c) and their seed writer (seeds_trust.c), so that the seeds'
 * signatures and ciphertexts are valid for the targets. Header-only (static functions). */
#ifndef TROVE_FUZZ_TRUST_FIXTURE_H
#define TROVE_FUZZ_TRUST_FIXTURE_H

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "security/sec_internal.h"
#include "trove.h"

/* The symmetric key and the passphrase every envelope seed is encrypted with. */
static const uint8_t FX_KEY[32] = {
    0x74, 0x72, 0x6f, 0x76, 0x65, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x30,
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
static const char FX_PASS[] = "trove fuzz passphrase";
/* Argon2id cost of the passphrase seeds, and the most a fuzz input may ask of the target
 * (libsodium's minimum memory is 8 KiB; anything dearer is skipped, not run). */
#define FX_KDF_OPS 1u
#define FX_KDF_MEM 8192u
#define FX_KDF_MAX_OPS 2u
#define FX_KDF_MAX_MEM (64u << 10)

/* Ed25519 seeds: the trusted signer, and a second (untrusted) one. */
static const uint8_t FX_SEED_TRUSTED[32] = {
    0x73, 0x69, 0x67, 0x6e, 0x65, 0x72, 0x2d, 0x74, 0x72, 0x75, 0x73, 0x74, 0x65, 0x64, 0x00, 0x01,
    0x02, 0x03, 0x05, 0x08, 0x0d, 0x15, 0x22, 0x37, 0x59, 0x90, 0xe9, 0x79, 0x62, 0xdb, 0x3d, 0x18};
static const uint8_t FX_SEED_OTHER[32] = {
    0x6f, 0x74, 0x68, 0x65, 0x72, 0x2d, 0x73, 0x69, 0x67, 0x6e, 0x65, 0x72, 0x00, 0x00, 0x00, 0x00,
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00};

/* A signer with a fixed seed (the API only generates or loads them: set the seed in place). */
static inline trove_signer *fx_signer(const uint8_t seed[32])
{
    trove_signer *s = NULL;
    trove_error err;
    if (trove_signer_generate(&s, &err) != TROVE_OK)
        return NULL;
    crypto_sign_seed_keypair(s->pk, s->sk, seed);
    return s;
}

static inline void fx_pubkey(const uint8_t seed[32], trove_pubkey *out)
{
    uint8_t pk[32], sk[64];
    crypto_sign_seed_keypair(pk, sk, seed);
    sodium_memzero(sk, sizeof sk);
    trove_pubkey_from_bytes(out, pk);
}

/* Read a whole descriptor from offset 0 into malloc'd memory. */
static inline uint8_t *fx_read_fd(int fd, size_t *len)
{
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0)
        return NULL;
    uint8_t *p = malloc(end ? (size_t)end : 1);
    if (!p || pread(fd, p, (size_t)end, 0) != end) {
        free(p);
        return NULL;
    }
    *len = (size_t)end;
    return p;
}

/* The fixed model's bytes (deterministic: no creation time), with the header entry
 * "signatures" set to sigs when not NULL (taken). Caller frees; NULL on failure. */
static inline uint8_t *fx_model(trove_value *sigs, size_t *len)
{
    int fd = memfd_create("fx-model", MFD_CLOEXEC);
    if (fd < 0) {
        trove_value_free(sigs);
        return NULL;
    }
    trove_writer *w = NULL;
    trove_error err;
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    uint8_t *out = NULL;
    if (trove_writer_open_fd(&w, fd, &wo, &err) != TROVE_OK) {
        trove_value_free(sigs);
        goto done;
    }
    trove_value *m = trove_value_map(NULL);
    int bad = !m || trove_value_map_set(m, "kind", trove_value_cstring(NULL, "linear")) ||
              trove_value_map_set(m, "description", trove_value_cstring(NULL, "fuzz fixture"));
    if (bad) {
        trove_value_free(m);
        trove_value_free(sigs);
        goto done;
    }
    static const float coef[6] = {0.5f, -1.25f, 2.0f, 3.5f, -0.125f, 8.0f};
    static const double icpt[2] = {0.25, -4.0};
    uint64_t s1[2] = {2, 3}, s2[1] = {2};
    trove_tensor_spec c = {"coef", TROVE_FLOAT32, 2, s1, 0, 0};
    trove_tensor_spec i = {"intercept", TROVE_FLOAT64, 1, s2, 0, 0};
    int rc = trove_writer_set_metadata(w, m, &err); /* takes m */
    if (sigs && rc == TROVE_OK)
        rc = trove_writer_set_header_entry(w, "signatures", sigs, &err); /* takes sigs */
    else
        trove_value_free(sigs);
    sigs = NULL;
    if (rc != TROVE_OK)
        goto done;
    if (trove_writer_add(w, &c, coef, &err) == TROVE_OK &&
        trove_writer_add(w, &i, icpt, &err) == TROVE_OK && trove_writer_commit(w, &err) == TROVE_OK)
        out = fx_read_fd(fd, len);
done:
    trove_writer_free(w);
    close(fd);
    return out;
}

#endif
