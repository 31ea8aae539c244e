/* trove/security.h: trust: Ed25519 signatures, authenticated encryption, key handling.
 *
 * Part of the public API; include <trove.h> rather than this file. Formats (signature entries,
 * the encrypted envelope, key files) are specified in docs/FORMAT.md ("Signatures", "Encrypted
 * files") and docs/SECURITY.md (threat model, key formats, choices). Secret key material lives
 * in libsodium guarded memory (sodium_malloc: guard pages, mlock, wiped on free); it is the one
 * documented exception to the allocator hooks. Every function is safe to call from any thread
 * on distinct objects; keys and public keys are read-only after creation and may be shared. */
#ifndef TROVE_SECURITY_H
#define TROVE_SECURITY_H

#include "core.h"
#include "format.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TROVE_PUBLIC_KEY_BYTES 32 /* Ed25519 public key */
#define TROVE_SIGNATURE_BYTES 64  /* Ed25519 signature */
#define TROVE_KEY_ID_BYTES 8      /* first 8 bytes of BLAKE2b-256(public key) */
#define TROVE_SECRET_BYTES 32     /* symmetric encryption key */
/* First 8 bytes of a detached signature file (TROVE_ENCRYPTED_MAGIC is in format.h). */
#define TROVE_DETACHED_MAGIC "\xffTRVSIG\n"

/* ---- Keys -------------------------------------------------------------------------------- */
/* An Ed25519 signing (secret) key, held in guarded memory. Opaque. */
typedef struct trove_signer trove_signer;
/* A public key: plain data, freely copied. */
typedef struct trove_pubkey {
    uint8_t key[TROVE_PUBLIC_KEY_BYTES];
    uint8_t id[TROVE_KEY_ID_BYTES];
} trove_pubkey;
/* A symmetric encryption secret: a 32-byte key or a passphrase, in guarded memory. Opaque. */
typedef struct trove_secret trove_secret;

/* New random signing key. Caller owns *out; free with trove_signer_free() (wipes it).
 * Errors: TROVE_E_NOMEM, TROVE_E_UNSUPPORTED (libsodium failed to start). */
TROVE_NODISCARD int trove_signer_generate(trove_signer **out, trove_error *err);
/* Load a secret key file (docs/SECURITY.md "Key files"). pass/passlen: the passphrase when the
 * file is sealed (ignored otherwise; NULL with a sealed file gives TROVE_E_KEY). The file must
 * not be readable by group or others. Caller owns *out; free with trove_signer_free().
 * Errors: TROVE_E_IO, TROVE_E_KEY (malformed, wrong passphrase, loose permissions). */
TROVE_NODISCARD int trove_signer_load(trove_signer **out, const char *path, const char *pass,
                                      size_t passlen, trove_error *err);
/* Write `base`.key (mode 0600, atomically; sealed with Argon2id + XChaCha20-Poly1305 when pass
 * is not NULL, with the KDF cost ops/mem, 0 = libsodium's MODERATE) and `base`.pub.
 * Refuses to overwrite an existing key file (TROVE_E_EXISTS). */
TROVE_NODISCARD int trove_signer_save(const trove_signer *s, const char *base, const char *pass,
                                      size_t passlen, uint64_t kdf_ops, uint64_t kdf_mem,
                                      trove_error *err);
/* The public half. Copied. */
void trove_signer_public(const trove_signer *s, trove_pubkey *out);
/* Wipe and free. Accepts NULL. */
void trove_signer_free(trove_signer *s);

/* Load a public key file ("trove-ed25519-public <64 hex>"); fills id. Copied.
 * Errors: TROVE_E_IO, TROVE_E_KEY (malformed). */
TROVE_NODISCARD int trove_pubkey_load(trove_pubkey *out, const char *path, trove_error *err);
/* From 32 raw bytes; fills id. */
void trove_pubkey_from_bytes(trove_pubkey *out, const uint8_t key[TROVE_PUBLIC_KEY_BYTES]);

/* Secrets for encryption. Caller owns *out of each; free with trove_secret_free(). */
TROVE_NODISCARD int trove_secret_generate(trove_secret **out, trove_error *err);
/* From a 32-byte key (copied into guarded memory; the caller wipes its own copy). */
TROVE_NODISCARD int trove_secret_from_key(trove_secret **out, const void *key, size_t len,
                                          trove_error *err);
/* From a passphrase (1..4096 bytes, copied). Files are then keyed by Argon2id. */
TROVE_NODISCARD int trove_secret_from_passphrase(trove_secret **out, const char *pass,
                                                 size_t len, trove_error *err);
/* From a key file ("trove-secret-key <64 hex>", mode 0600) or from an environment variable
 * holding the same line or just the 64 hex digits. The variable's value is not copied into
 * any error message. Errors: TROVE_E_IO, TROVE_E_KEY, TROVE_E_NOT_FOUND (variable unset). */
TROVE_NODISCARD int trove_secret_load(trove_secret **out, const char *path, trove_error *err);
TROVE_NODISCARD int trove_secret_from_env(trove_secret **out, const char *name,
                                          trove_error *err);
/* Write a key secret (not a passphrase: TROVE_E_INVALID) to path, mode 0600, atomically;
 * refuses to overwrite (TROVE_E_EXISTS). */
TROVE_NODISCARD int trove_secret_save(const trove_secret *s, const char *path, trove_error *err);
/* 1 when the secret is a passphrase, 0 when it is a key. */
int trove_secret_is_passphrase(const trove_secret *s);
/* Wipe and free. Accepts NULL. */
void trove_secret_free(trove_secret *s);

/* ---- Signatures ---------------------------------------------------------------------------
 * A signature signs the model digest (trove_file_digest: metadata + every tensor's name, dtype,
 * shape and BLAKE2b content digest), a signing time and an optional comment; it is stored in
 * the header entry "signatures" (which the digest excludes, so several signatures coexist) or
 * in a detached file. */
typedef struct trove_sign_options {
    uint32_t size;                 /* sizeof(trove_sign_options) */
    uint32_t write_flags;          /* TROVE_WRITE_* for the rewrite (e.g. NO_SYNC) */
    const trove_allocator *alloc;  /* NULL = libc */
    int64_t time;                  /* signing time, Unix seconds; 0 = now */
    const char *comment;           /* UTF-8, at most 1024 bytes; NULL = none */
    unsigned threads;              /* digest threads; 0 = 2 */
    /* trove_sign only. Not NULL: out_path is written encrypted with this secret (its envelope
     * from `crypt`, NULL = defaults), the signed plaintext never on disk: how a file opened
     * with trove_open_encrypted is signed and stays encrypted. Callers built before these two
     * fields existed pass a smaller size and write plain files. */
    const trove_secret *secret;
    const struct trove_crypt_options *crypt;
} trove_sign_options;
#define TROVE_SIGN_OPTIONS_INIT { sizeof(trove_sign_options), 0, NULL, 0, NULL, 0, NULL, NULL }

/* Verify every checksum of f, compute its digest, sign it and write a copy of f to out_path
 * (which may be the path f was opened from) with the signature added to the header entry
 * "signatures", atomically; a signature by the same key is replaced, others are kept.
 * With opts->secret the copy is encrypted (trove_write_encrypted's guarantees).
 * Errors: those of trove_file_verify and trove_file_rewrite (and of trove_write_encrypted);
 * TROVE_E_SIGNATURE when an existing "signatures" entry is malformed. */
TROVE_NODISCARD int trove_sign(const trove_file *f, const char *out_path, const trove_signer *s,
                               const trove_sign_options *opts, trove_error *err);
/* Detached: the bytes of a signature file (TROVE_DETACHED_MAGIC + canonical CBOR array). When
 * `existing`/`existing_len` hold a current signature file its other signatures are kept.
 * Caller owns *out; free with trove_free(opts->alloc, *out). */
TROVE_NODISCARD int trove_sign_detached(const trove_file *f, const trove_signer *s,
                                        const void *existing, size_t existing_len,
                                        const trove_sign_options *opts, uint8_t **out,
                                        size_t *out_len, trove_error *err);

/* Outcome of a signature check (also filled on failure when the failure is about signatures). */
typedef enum trove_sig_status {
    TROVE_SIG_VALID = 0,       /* a trusted key signed exactly this content */
    TROVE_SIG_UNSIGNED = 1,    /* no signature at all */
    TROVE_SIG_UNKNOWN_KEY = 2, /* signed, but by none of the trusted keys */
    TROVE_SIG_BAD = 3,         /* a trusted key's signature does not match the content */
    TROVE_SIG_CORRUPT = 4,     /* the content fails its checksums or is malformed */
} trove_sig_status;

typedef struct trove_verify_result {
    trove_sig_status status;
    uint32_t signatures;            /* signature entries found */
    uint32_t valid;                 /* of which valid and by a trusted key */
    uint8_t key_id[TROVE_KEY_ID_BYTES]; /* signer (VALID) or offending key (BAD) */
    int64_t time;                   /* signing time of that signature (0 when none) */
    uint8_t digest[TROVE_DIGEST_BYTES]; /* the model digest as computed (when computed) */
} trove_verify_result;

/* Check every checksum of f, compute its digest, and check its signatures (embedded, plus those
 * in `detached`/`detached_len` when not NULL) against the nkeys trusted keys (nkeys >= 1).
 * The file is accepted when at least one trusted key made a valid signature over this digest
 * and no signature claiming a trusted key is invalid. res may be NULL.
 * Returns TROVE_OK, or TROVE_E_SIGNATURE (res->status UNSIGNED / UNKNOWN_KEY / BAD, with a
 * distinct message), TROVE_E_CHECKSUM or TROVE_E_CORRUPT (status CORRUPT), TROVE_E_NOMEM.
 * `threads`: digest threads, 0 = 2. */
TROVE_NODISCARD int trove_verify_signatures(const trove_file *f, const trove_pubkey *keys,
                                            size_t nkeys, const void *detached,
                                            size_t detached_len, unsigned threads,
                                            trove_verify_result *res, trove_error *err);

/* ---- Encryption ----------------------------------------------------------------------------
 * An encrypted file is an envelope around the bytes of a trove file: magic, a public header
 * (cipher, chunk size, KDF parameters, salts, key check) and the plaintext in chunks, each
 * sealed with an AEAD whose nonce holds the chunk index and a final-chunk flag and whose
 * associated data is the public header: altered, reordered, duplicated, dropped or appended
 * chunks and truncation are all detected. Plain readers refuse it with a clear message. */
enum {
    TROVE_CIPHER_XCHACHA20POLY1305 = 1, /* default: constant-time everywhere, portable */
    TROVE_CIPHER_AES256GCM = 2,         /* faster where the CPU has AES-NI; decrypting needs it */
};

typedef struct trove_crypt_options {
    uint32_t size;                 /* sizeof(trove_crypt_options) */
    uint32_t write_flags;          /* TROVE_WRITE_NO_SYNC, for outputs */
    const trove_allocator *alloc;  /* NULL = libc */
    uint32_t cipher;               /* encrypt: TROVE_CIPHER_*; 0 = XChaCha20-Poly1305 */
    uint32_t chunk_bytes;          /* encrypt: plaintext bytes per chunk; 0 = 1 MiB; 4 KiB..64 MiB */
    uint64_t kdf_ops, kdf_mem;     /* encrypt with a passphrase: Argon2id cost; 0 = MODERATE */
    unsigned threads;              /* 0 = 2 */
    uint32_t mode;                 /* permission bits of outputs; 0 = 0600 */
} trove_crypt_options;
#define TROVE_CRYPT_OPTIONS_INIT { sizeof(trove_crypt_options), 0, NULL, 0, 0, 0, 0, 0, 0 }

/* Encrypt the bytes read from in_fd (to its end; a file, pipe or socket) into out_path,
 * atomically, with O(chunk) memory. The input should be a trove file (not checked here).
 * Errors: TROVE_E_IO, TROVE_E_NOMEM, TROVE_E_INVALID (options), TROVE_E_KEY. */
TROVE_NODISCARD int trove_encrypt_fd(int in_fd, const char *out_path, const trove_secret *s,
                                     const trove_crypt_options *opts, trove_error *err);
/* Same from a path; refuses an input that is already encrypted or is not a trove file. */
TROVE_NODISCARD int trove_encrypt_file(const char *in_path, const char *out_path,
                                       const trove_secret *s, const trove_crypt_options *opts,
                                       trove_error *err);
/* Write an encrypted trove file in one pass, its plaintext never on disk: fill(w, ctx, err)
 * gives the metadata and tensors to a writer whose bytes stream through the encryption into
 * path (atomically, O(chunk) memory); this function commits the writer. wo may be NULL
 * (its alignment, chunking and compression options apply; the writer's sync flag does not:
 * copts->write_flags decides). Returns TROVE_OK, fill's error, the writer's, or the
 * encryption's. Thread-safety: fill runs on the calling thread; a helper thread encrypts. */
typedef int (*trove_fill_fn)(trove_writer *w, void *ctx, trove_error *err);
TROVE_NODISCARD int trove_write_encrypted(const char *path, const trove_write_options *wo,
                                          trove_fill_fn fill, void *ctx, const trove_secret *s,
                                          const trove_crypt_options *copts, trove_error *err);
/* Decrypt in_path into out_path (atomically; nothing is left at out_path on any failure).
 * Errors: TROVE_E_KEY (wrong key or passphrase, or the wrong kind of secret),
 * TROVE_E_DECRYPT (a chunk or the header was altered, chunks reordered, truncated),
 * TROVE_E_NOT_TROVE (not an encrypted file), TROVE_E_CORRUPT, TROVE_E_LIMIT, TROVE_E_IO. */
TROVE_NODISCARD int trove_decrypt_file(const char *in_path, const char *out_path,
                                       const trove_secret *s, const trove_crypt_options *opts,
                                       trove_error *err);
/* Decrypt into memory (wiped with sodium_memzero and freed at trove_close, kept out of core
 * dumps) and open it. Every chunk is authenticated before the file is parsed. opts may carry
 * the usual open flags and limits; its release fields must be NULL. Caller owns *out; free
 * with trove_close(). Errors: as trove_decrypt_file, plus those of trove_open_memory. */
TROVE_NODISCARD int trove_open_encrypted(trove_file **out, const char *path,
                                         const trove_secret *s, const trove_open_options *opts,
                                         const trove_crypt_options *copts, trove_error *err);

/* What an encrypted file says in public (nothing about its content). Copied. */
typedef struct trove_encrypted_info {
    uint32_t version_major, version_minor;
    uint32_t cipher;               /* TROVE_CIPHER_* */
    const char *cipher_name;       /* static */
    uint32_t chunk_bytes;
    int passphrase;                /* 1: Argon2id from a passphrase; 0: a key */
    uint64_t kdf_ops, kdf_mem;     /* Argon2id cost (passphrase only) */
    uint64_t chunks;
    uint64_t plaintext_bytes;      /* derived from the file size */
    uint64_t file_bytes;
} trove_encrypted_info;
/* Read and check the public header of an encrypted file. Errors: TROVE_E_NOT_TROVE (not an
 * encrypted file), TROVE_E_CORRUPT, TROVE_E_VERSION, TROVE_E_IO. */
TROVE_NODISCARD int trove_encrypted_probe(const char *path, trove_encrypted_info *info,
                                          trove_error *err);
/* 1 when the file at path starts with TROVE_ENCRYPTED_MAGIC, 0 otherwise (or unreadable). */
int trove_is_encrypted(const char *path);

/* ---- Opening with a trust policy ---------------------------------------------------------- */
enum {
    TROVE_TRUST_REQUIRE_SIGNATURE = 1u << 0, /* refuse unless trove_verify_signatures passes */
    TROVE_TRUST_REQUIRE_ENCRYPTED = 1u << 1, /* refuse a plaintext file */
};
typedef struct trove_trust_options {
    uint32_t size;                 /* sizeof(trove_trust_options) */
    uint32_t flags;                /* TROVE_TRUST_* */
    const trove_pubkey *keys;      /* trusted signers (REQUIRE_SIGNATURE) */
    size_t nkeys;
    const void *detached;          /* optional detached signature file bytes */
    size_t detached_len;
    const trove_secret *secret;    /* to open encrypted files; NULL = refuse them */
    unsigned threads;              /* 0 = 2 */
} trove_trust_options;
#define TROVE_TRUST_OPTIONS_INIT { sizeof(trove_trust_options), 0, NULL, 0, NULL, 0, NULL, 0 }

/* Open path (plain or encrypted) and apply the policy before returning: with
 * REQUIRE_SIGNATURE the file is refused (no trove_file is returned, nothing is exposed) unless
 * it passes trove_verify_signatures. res (may be NULL) receives the signature outcome.
 * Opening with mmap exposes later changes of the file by others: with an adversary able to
 * write the file concurrently, add TROVE_OPEN_NO_MMAP. Caller owns *out; free with
 * trove_close(). Errors: those of trove_open, trove_open_encrypted, trove_verify_signatures. */
TROVE_NODISCARD int trove_open_trusted(trove_file **out, const char *path,
                                       const trove_open_options *opts,
                                       const trove_trust_options *trust,
                                       trove_verify_result *res, trove_error *err);
/* Shorthand: open path requiring a valid signature by one of the nkeys keys. */
TROVE_NODISCARD int trove_open_signed(trove_file **out, const char *path,
                                      const trove_open_options *opts, const trove_pubkey *keys,
                                      size_t nkeys, trove_error *err);

#ifdef __cplusplus
}
#endif
#endif /* TROVE_SECURITY_H */
