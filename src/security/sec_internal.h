/* sec_internal.h: internals shared by the trust layer (keys.c, sign.c, crypt.c): key structs in
 * guarded memory, small-file helpers. */
#ifndef TROVE_SEC_INTERNAL_H
#define TROVE_SEC_INTERNAL_H

#include <sodium.h>

#include "core/internal.h"

/* Both structs are allocated whole with sodium_malloc (guard pages, mlock'd, wiped on free). */
struct trove_signer {
    uint8_t sk[crypto_sign_SECRETKEYBYTES]; /* seed || public key */
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
};
#define TROVE__PASS_MAX 4096u
struct trove_secret {
    int is_pass;
    size_t len;                             /* 32 for a key */
    uint8_t data[];                         /* key or passphrase bytes */
};

/* sodium_init() once; TROVE_E_UNSUPPORTED when libsodium cannot start. */
int trove__sodium_ready(trove_error *err);
/* Read a whole small file (<= max bytes) into sodium_malloc'd memory (NUL-terminated), and
 * its permission bits. Free with sodium_free. */
int trove__read_small(const char *path, size_t max, char **out, size_t *len, unsigned *mode,
                      trove_error *err);
/* TROVE_E_KEY when a secret key file is accessible by group or others. */
int trove__check_private(const char *path, unsigned mode, trove_error *err);
/* Write bytes to path atomically with mode; never replaces an existing file (EEXIST). */
int trove__write_new(const char *path, const void *p, size_t n, unsigned mode, trove_error *err);
/* Encrypt what produce(fd, ctx, err) writes into the pipe fd into path (atomically, O(chunk)
 * memory; a helper thread encrypts while produce runs on the calling thread). When produce
 * fails nothing is left at path. Returns produce's error or the encryption's. */
typedef int (*trove__produce_fn)(int fd, void *ctx, trove_error *err);
int trove__encrypt_produced(const char *path, trove__produce_fn produce, void *ctx,
                            const trove_secret *s, const trove_crypt_options *copts,
                            trove_error *err);

#endif
