/* crypt.c: the encrypted envelope (docs/FORMAT.md "Encrypted files"): chunked AEAD
 * (XChaCha20-Poly1305 or AES-256-GCM) with the chunk index and a final flag in each nonce and
 * the public header as associated data, keys from a key or Argon2id; streaming encryption and
 * decryption with bounded memory over two threads, and decryption into wiped memory.
 *
 * Envelope: magic[8] | major u16 | minor u16 | header length u32 | header (canonical CBOR) |
 * chunks. Chunk i holds min(C, rest) plaintext bytes + a 16-byte tag; every chunk but the last
 * is full; the last one (possibly full, or empty for an empty input) has the final flag. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "security/sec_internal.h"

#define ENV_MAJOR 1
#define ENV_MINOR 0
#define ENV_FIXED 16u
#define ENV_MAX_HEADER 4096u
#define TAG 16u
#define CHUNK_DEFAULT (1u << 20)
#define CHUNK_MIN (1u << 12)
#define CHUNK_MAX (1u << 26)
#define BATCH_BYTES (UINT64_C(8) << 20) /* plaintext per batch when streaming */
#define KDF_MAX_OPS 32u
#define KDF_MAX_MEM (UINT64_C(1) << 30)

static const char CTX_FILE_KEY[] = "trove-enc-v1 file key";
static const char CTX_CHECK[] = "trove-enc-v1 key check";

/* What the public header says. */
typedef struct envelope {
    uint32_t cipher, chunk;
    int pass;
    uint64_t ops, mem;
    uint8_t kdf_salt[16], salt[32], check[16];
    uint8_t prefix[ENV_FIXED + ENV_MAX_HEADER]; /* bytes [0, plen): the associated data */
    size_t plen;
    uint64_t file_bytes, nchunks, last_len;
} envelope;

/* Derived key material, in guarded memory. */
typedef struct keymat {
    crypto_aead_aes256gcm_state aes;
    uint8_t file_key[32];
    uint8_t check[16];
    uint8_t pad_[16];
} keymat;

static const char *cipher_name(uint32_t c)
{
    return c == TROVE_CIPHER_XCHACHA20POLY1305 ? "xchacha20poly1305"
           : c == TROVE_CIPHER_AES256GCM        ? "aes256gcm"
                                                : NULL;
}

static int crypt_options(const trove_crypt_options *in, trove_crypt_options *o, trove_error *err)
{
    trove_crypt_options d = TROVE_CRYPT_OPTIONS_INIT;
    if (in) {
        if (in->size < sizeof d)
            return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                               "bad trove_crypt_options.size (use TROVE_CRYPT_OPTIONS_INIT)");
        d = *in;
    }
    if (!d.cipher)
        d.cipher = TROVE_CIPHER_XCHACHA20POLY1305;
    if (!cipher_name(d.cipher))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "unknown cipher %u", d.cipher);
    if (!d.chunk_bytes)
        d.chunk_bytes = CHUNK_DEFAULT;
    if (d.chunk_bytes < CHUNK_MIN || d.chunk_bytes > CHUNK_MAX)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "chunk size %u out of range (4 KiB..64 MiB)", d.chunk_bytes);
    if (!d.kdf_ops)
        d.kdf_ops = crypto_pwhash_OPSLIMIT_MODERATE;
    if (!d.kdf_mem)
        d.kdf_mem = crypto_pwhash_MEMLIMIT_MODERATE;
    if (d.kdf_ops < crypto_pwhash_OPSLIMIT_MIN || d.kdf_ops > KDF_MAX_OPS ||
        d.kdf_mem < crypto_pwhash_MEMLIMIT_MIN || d.kdf_mem > KDF_MAX_MEM)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "Argon2id cost out of range (ops 1..%u, memory 8 KiB..1 GiB)",
                           KDF_MAX_OPS);
    if (!d.threads)
        d.threads = 2;
    if (!d.mode)
        d.mode = 0600;
    *o = d;
    return trove__sodium_ready(err);
}

/* ---- keys ------------------------------------------------------------------------------------ */
/* Derive the file key and the key check from the secret and the envelope's salts. */
static int derive(const trove_secret *s, const envelope *env, keymat **out, trove_error *err)
{
    *out = NULL;
    if (env->pass && !s->is_pass)
        return trove__fail(err, TROVE_E_KEY, TROVE_NO_OFFSET,
                           "the file was encrypted with a passphrase, and a key was given");
    if (!env->pass && s->is_pass)
        return trove__fail(err, TROVE_E_KEY, TROVE_NO_OFFSET,
                           "the file was encrypted with a key (key file or variable), and a "
                           "passphrase was given");
    if (env->cipher == TROVE_CIPHER_AES256GCM && !crypto_aead_aes256gcm_is_available())
        return trove__fail(err, TROVE_E_UNSUPPORTED, TROVE_NO_OFFSET,
                           "AES-256-GCM needs a CPU with AES-NI and PCLMUL, which this one lacks");
    keymat *k = sodium_malloc(sizeof *k);
    uint8_t *master = sodium_malloc(32);
    int rc = TROVE_OK;
    if (!k || !master) {
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory (guarded)");
        goto out;
    }
    if (s->is_pass) {
        if (crypto_pwhash(master, 32, (const char *)s->data, s->len, env->kdf_salt, env->ops,
                          (size_t)env->mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
            rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET,
                             "Argon2id could not allocate %llu bytes",
                             (unsigned long long)env->mem);
            goto out;
        }
    } else {
        memcpy(master, s->data, 32);
    }
    uint8_t msg[64];
    memcpy(msg, CTX_FILE_KEY, sizeof CTX_FILE_KEY - 1);
    memcpy(msg + sizeof CTX_FILE_KEY - 1, env->salt, 32);
    crypto_generichash(k->file_key, 32, msg, sizeof CTX_FILE_KEY - 1 + 32, master, 32);
    memcpy(msg, CTX_CHECK, sizeof CTX_CHECK - 1);
    memcpy(msg + sizeof CTX_CHECK - 1, env->salt, 32);
    crypto_generichash(k->check, 16, msg, sizeof CTX_CHECK - 1 + 32, master, 32);
    if (env->cipher == TROVE_CIPHER_AES256GCM)
        crypto_aead_aes256gcm_beforenm(&k->aes, k->file_key);
    *out = k;
    k = NULL;
out:
    sodium_free(master);
    sodium_free(k);
    return rc;
}

/* ---- chunk work ---------------------------------------------------------------------------- */
typedef struct cjob {
    const envelope *env;
    const keymat *k;
    uint64_t first;          /* global index of local job 0 */
    const uint8_t *in;       /* input of local job 0 */
    uint8_t *out;
    uint64_t in_stride, out_stride;
    uint64_t count;          /* jobs in this batch */
    uint64_t last_len;       /* plaintext bytes of the batch's last chunk */
    bool last_is_final;      /* the batch's last chunk is the file's final chunk */
    bool decrypt;
} cjob;

static void nonce_of(uint8_t nonce[24], uint64_t index, bool final)
{
    memset(nonce, 0, 24);
    trove__store_le64(nonce, index);
    nonce[8] = final ? 1 : 0;
}

static int chunk_op(const cjob *j, uint64_t i, bool final)
{
    uint64_t plen = i + 1 == j->count ? j->last_len : j->env->chunk;
    const uint8_t *in = j->in + i * j->in_stride;
    uint8_t *out = j->out + i * j->out_stride;
    uint8_t nonce[24];
    nonce_of(nonce, j->first + i, final);
    const uint8_t *ad = j->env->prefix;
    unsigned long long adlen = j->env->plen;
    if (j->env->cipher == TROVE_CIPHER_AES256GCM) {
        if (j->decrypt)
            return crypto_aead_aes256gcm_decrypt_afternm(out, NULL, NULL, in, plen + TAG, ad,
                                                         adlen, nonce, &j->k->aes);
        return crypto_aead_aes256gcm_encrypt_afternm(out, NULL, in, plen, ad, adlen, NULL, nonce,
                                                     &j->k->aes);
    }
    if (j->decrypt)
        return crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL, in, plen + TAG, ad,
                                                          adlen, nonce, j->k->file_key);
    return crypto_aead_xchacha20poly1305_ietf_encrypt(out, NULL, in, plen, ad, adlen, NULL, nonce,
                                                      j->k->file_key);
}

/* The error of chunk `bad` of batch j that failed: which chunk and why. */
static int auth_error(const cjob *j, uint64_t bad, trove_error *err)
{
    uint64_t g = j->first + bad;
    uint64_t off = j->env->plen + g * (j->env->chunk + TAG);
    if (!j->decrypt)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "chunk %llu: encryption failed",
                           (unsigned long long)g);
    if (j->last_is_final && bad + 1 == j->count && chunk_op(j, bad, false) == 0)
        return trove__fail(err, TROVE_E_DECRYPT, off,
                           "the file is truncated: its last chunk (%llu) is not the final chunk",
                           (unsigned long long)g);
    if (g == 0)
        return trove__fail(err, TROVE_E_DECRYPT, off,
                           "chunk 0 failed authentication: the public header or the first chunk "
                           "was altered");
    return trove__fail(err, TROVE_E_DECRYPT, off,
                       "chunk %llu (at byte %llu) failed authentication: it was altered, moved, "
                       "duplicated, or the file was truncated or extended",
                       (unsigned long long)g, (unsigned long long)off);
}

/* One batch job: its chunks in order; the first failure is explained. */
static int batch_job(void *ctx, size_t i, unsigned slot, trove_error *err)
{
    (void)slot;
    const cjob *j = ctx;
    if (chunk_op(j, i, j->last_is_final && i + 1 == j->count) != 0)
        return auth_error(j, i, err);
    return TROVE_OK;
}

/* Run a batch on up to `threads` threads (one when it is small). */
static int run_batch(cjob *j, unsigned threads, trove_error *err)
{
    uint64_t bytes = j->count * j->env->chunk;
    return trove__run_jobs(bytes >= (UINT64_C(2) << 20) ? threads : 1, (size_t)j->count,
                           batch_job, j, err);
}

/* ---- whole files on all threads ------------------------------------------------------------ */
/* Encrypting a regular file, and decrypting into a file or into memory: every job takes a
 * group of consecutive chunks end to end (pread, AEAD, then pwrite or in place), so reading,
 * the cipher and writing run on every thread at once with no barrier between them. Memory:
 * two group buffers per thread. Writeback of each written range starts at once, so that the
 * final fsync has little left to wait for. */
typedef struct fjobs {
    const envelope *env;
    const keymat *k;
    bool decrypt, sync;
    int in_fd, out_fd;        /* decrypt with out_fd < 0: the plaintext goes to mem */
    uint8_t *mem;
    uint64_t in_base;         /* encrypt: input offset of plaintext byte 0 */
    uint64_t group;           /* chunks per job */
    size_t buf_bytes;
    pthread_mutex_t write_lock; /* one writer at a time: ext4 serializes buffered writes to a
                                 * file on its inode lock anyway, and a waiter spins there */
    trove__flusher flush;     /* durable: the output drains to the disk while it is written */
    uint8_t *ibuf[TROVE__MAX_THREADS], *obuf[TROVE__MAX_THREADS];
} fjobs;

static int file_job(void *ctx, size_t g, unsigned slot, trove_error *err)
{
    fjobs *f = ctx;
    const envelope *env = f->env;
    uint64_t C = env->chunk, per = C + TAG;
    uint64_t first = (uint64_t)g * f->group;
    uint64_t count = env->nchunks - first < f->group ? env->nchunks - first : f->group;
    bool last = first + count == env->nchunks;
    uint64_t tail = last ? env->last_len : C;
    uint64_t plain_off = first * C, ct_off = env->plen + first * per;
    size_t plain_len = (size_t)((count - 1) * C + tail);
    size_t ct_len = (size_t)((count - 1) * per + tail + TAG);
    cjob j = {env, f->k, first, f->ibuf[slot], f->obuf[slot], C, per, count, tail, last, false};
    int rc;
    if (f->decrypt) {
        j.decrypt = true;
        j.in_stride = per;
        j.out_stride = C;
        if (f->out_fd < 0)
            j.out = f->mem + plain_off;
        rc = trove__pread_all(f->in_fd, f->ibuf[slot], ct_len, ct_off, err, "encrypted chunks");
    } else {
        rc = trove__pread_all(f->in_fd, f->ibuf[slot], plain_len, f->in_base + plain_off, err,
                              "the input");
        if (rc == TROVE_E_CORRUPT)
            rc = trove__fail(err, TROVE_E_IO, f->in_base + plain_off,
                             "the input shrank while it was being encrypted");
    }
    if (rc)
        return rc;
    for (uint64_t i = 0; i < count; i++)
        if (chunk_op(&j, i, last && i + 1 == count) != 0)
            return auth_error(&j, i, err);
    if (f->out_fd < 0)
        return TROVE_OK;
    uint64_t off = f->decrypt ? plain_off : ct_off;
    size_t len = f->decrypt ? plain_len : ct_len;
    pthread_mutex_lock(&f->write_lock);
    rc = trove__pwrite_all(f->out_fd, j.out, len, off, err,
                           f->decrypt ? "the decrypted output" : "encrypted chunks");
    pthread_mutex_unlock(&f->write_lock);
    if (rc == TROVE_OK && f->sync) /* writeback starts now, on the flusher's thread */
        trove__flusher_note(&f->flush, f->out_fd, off, len);
    return rc;
}

/* The buffer of a thread that holds plaintext: decrypt's output, encrypt's input. */
static uint8_t *plain_side(const fjobs *f, unsigned t)
{
    return f->decrypt ? f->obuf[t] : f->ibuf[t];
}

/* Allocate the per-thread buffers (whole pages); the plaintext side is kept out of core dumps
 * and wiped at free, when its pages go back to MADV_DODUMP (so that the allocator's mappings
 * are not split into ever more pieces by repeated calls). */
static int fjobs_alloc(fjobs *f, const trove_allocator *a, unsigned threads, trove_error *err)
{
    f->group = BATCH_BYTES / f->env->chunk ? BATCH_BYTES / f->env->chunk : 1;
    if (f->group > f->env->nchunks)
        f->group = f->env->nchunks;
    f->buf_bytes = (size_t)((f->group * ((uint64_t)f->env->chunk + TAG) + 4095) & ~UINT64_C(4095));
    bool need_out = f->out_fd >= 0 || !f->decrypt;
    for (unsigned t = 0; t < threads; t++) {
        f->ibuf[t] = trove__malloc_io(a, f->buf_bytes);
        f->obuf[t] = need_out ? trove__malloc_io(a, f->buf_bytes) : NULL;
        if (!f->ibuf[t] || (need_out && !f->obuf[t]))
            return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        if (plain_side(f, t))
            madvise(plain_side(f, t), f->buf_bytes, MADV_DONTDUMP);
    }
    return TROVE_OK;
}

static void fjobs_free(fjobs *f, const trove_allocator *a)
{
    for (unsigned t = 0; t < TROVE__MAX_THREADS; t++) {
        uint8_t *p = plain_side(f, t);
        if (p) {
            sodium_memzero(p, f->buf_bytes);
            madvise(p, f->buf_bytes, MADV_DODUMP);
        }
        trove__free_aligned(a, f->ibuf[t]);
        trove__free_aligned(a, f->obuf[t]);
    }
}

/* Run every group of f on `threads` threads. */
static int fjobs_run(fjobs *f, const trove_allocator *a, unsigned threads, trove_error *err)
{
    if (threads > TROVE__MAX_THREADS)
        threads = TROVE__MAX_THREADS;
    if (threads < 1)
        threads = 1;
    int rc = fjobs_alloc(f, a, threads, err);
    pthread_mutex_init(&f->write_lock, NULL);
    trove__flusher_init(&f->flush, f->sync && f->out_fd >= 0 ? TROVE__FLUSH_EVERY : 0);
    if (rc == TROVE_OK) {
        uint64_t groups = (f->env->nchunks + f->group - 1) / f->group;
        rc = trove__run_jobs(threads, (size_t)groups, file_job, f, err);
    }
    trove__flusher_destroy(&f->flush);
    pthread_mutex_destroy(&f->write_lock);
    fjobs_free(f, a);
    return rc;
}

/* ---- the public header ---------------------------------------------------------------------- */
/* Geometry from the file size: chunk count and last chunk length. */
static int geometry(envelope *env, trove_error *err)
{
    uint64_t payload = env->file_bytes - env->plen, per = (uint64_t)env->chunk + TAG;
    uint64_t n = payload / per, rem = payload % per;
    if (rem == 0 && n == 0)
        return trove__fail(err, TROVE_E_DECRYPT, env->plen,
                           "the file is truncated: it ends after its header, with no chunk");
    if (rem != 0 && rem < TAG)
        return trove__fail(err, TROVE_E_DECRYPT, env->file_bytes - rem,
                           "the file is truncated or extended: its last chunk is %llu bytes, "
                           "shorter than an authentication tag", (unsigned long long)rem);
    env->nchunks = rem ? n + 1 : n;
    env->last_len = rem ? rem - TAG : env->chunk;
    return TROVE_OK;
}

static const trove_value *typed(const trove_value *m, const char *key, trove_value_type t)
{
    const trove_value *v = trove_value_get(m, key);
    return trove_value_type_of(v) == t ? v : NULL;
}

static bool get_fixed(const trove_value *m, const char *key, uint8_t *out, size_t n)
{
    const void *p;
    size_t len;
    if (trove_value_get_bytes(trove_value_get(m, key), &p, &len) != TROVE_OK || len != n)
        return false;
    memcpy(out, p, n);
    return true;
}

static bool only_keys(const trove_value *m, const char *const *keys, size_t nk)
{
    for (size_t i = 0; i < trove_value_count(m); i++) {
        const char *k;
        size_t kl;
        const trove_value *v;
        if (trove_value_map_entry(m, i, &k, &kl, &v) != TROVE_OK)
            return false;
        bool known = false;
        for (size_t j = 0; j < nk; j++)
            known |= !strcmp(k, keys[j]);
        if (!known)
            return false;
    }
    return true;
}

/* Read and check the envelope's public part from fd. */
static int read_envelope(int fd, envelope *env, trove_error *err)
{
    memset(env, 0, sizeof *env);
    struct stat st;
    if (fstat(fd, &st) != 0)
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot stat the file");
    if (!S_ISREG(st.st_mode))
        return trove__fail(err, TROVE_E_IO, TROVE_NO_OFFSET, "not a regular file");
    env->file_bytes = (uint64_t)st.st_size;
    uint8_t *p = env->prefix;
    if (env->file_bytes < 8)
        return trove__fail(err, TROVE_E_NOT_TROVE, 0, "not an encrypted trove file (%llu bytes)",
                           (unsigned long long)env->file_bytes);
    int rc = trove__pread_all(fd, p, 8, 0, err, "envelope magic");
    if (rc)
        return rc;
    if (memcmp(p, TROVE_ENCRYPTED_MAGIC, 8) != 0)
        return trove__fail(err, TROVE_E_NOT_TROVE, 0,
                           "not an encrypted trove file (bad magic number)");
    if (env->file_bytes < ENV_FIXED)
        goto short_file;
    if ((rc = trove__pread_all(fd, p + 8, ENV_FIXED - 8, 8, err, "envelope preamble")))
        return rc;
    uint32_t major = trove__load_le16(p + 8), hlen = trove__load_le32(p + 12);
    if (major != ENV_MAJOR)
        return trove__fail(err, TROVE_E_VERSION, 8,
                           "encrypted envelope version %u.%u: this reader reads version %d",
                           major, trove__load_le16(p + 10), ENV_MAJOR);
    if (hlen > ENV_MAX_HEADER)
        return trove__fail(err, TROVE_E_CORRUPT, 12,
                           "envelope header of %u bytes exceeds the limit of %u", hlen,
                           ENV_MAX_HEADER);
    if (env->file_bytes < ENV_FIXED + (uint64_t)hlen)
        goto short_file;
    if ((rc = trove__pread_all(fd, p + ENV_FIXED, hlen, ENV_FIXED, err, "envelope header")))
        return rc;
    env->plen = ENV_FIXED + hlen;
    trove_value *h = NULL;
    trove_error e2 = {0};
    rc = trove_value_decode(p + ENV_FIXED, hlen, NULL, 4, &h, &e2);
    if (rc == TROVE_E_NOMEM)
        return trove__fail(err, rc, TROVE_NO_OFFSET, "out of memory");
    if (rc)
        return trove__fail(err, TROVE_E_CORRUPT, ENV_FIXED,
                           "envelope header is not canonical CBOR: %s", e2.message);
    static const char *const top_keys[] = {"cipher", "chunk", "kdf", "salt", "check"};
    static const char *const kdf_keys[] = {"alg", "ops", "mem", "salt"};
    const trove_value *kdf = typed(h, "kdf", TROVE_VALUE_MAP);
    const char *cn = NULL, *alg = NULL;
    uint64_t chunk = 0;
    const char *why = NULL;
    if (trove_value_type_of(h) != TROVE_VALUE_MAP || !only_keys(h, top_keys, 5))
        why = "header is not a map of the known fields";
    else if (trove_value_get_string(trove_value_get(h, "cipher"), &cn, NULL) != TROVE_OK)
        why = "\"cipher\" missing";
    else if (strcmp(cn, "xchacha20poly1305") && strcmp(cn, "aes256gcm"))
        why = "unknown cipher";
    else if (trove_value_get_uint(trove_value_get(h, "chunk"), &chunk) != TROVE_OK ||
             chunk < CHUNK_MIN || chunk > CHUNK_MAX)
        why = "\"chunk\" missing or out of range (4 KiB..64 MiB)";
    else if (!get_fixed(h, "salt", env->salt, 32) || !get_fixed(h, "check", env->check, 16))
        why = "\"salt\" (32 bytes) or \"check\" (16 bytes) missing";
    else if (!kdf || !only_keys(kdf, kdf_keys, 4) ||
             trove_value_get_string(trove_value_get(kdf, "alg"), &alg, NULL) != TROVE_OK)
        why = "\"kdf\" missing or malformed";
    else if (!strcmp(alg, "argon2id13")) {
        env->pass = 1;
        if (trove_value_get_uint(trove_value_get(kdf, "ops"), &env->ops) != TROVE_OK ||
            trove_value_get_uint(trove_value_get(kdf, "mem"), &env->mem) != TROVE_OK ||
            !get_fixed(kdf, "salt", env->kdf_salt, 16))
            why = "\"kdf\" lacks ops, mem or a 16-byte salt";
        else if (env->ops < crypto_pwhash_OPSLIMIT_MIN || env->ops > KDF_MAX_OPS ||
                 env->mem < crypto_pwhash_MEMLIMIT_MIN || env->mem > KDF_MAX_MEM)
            why = "Argon2id cost out of the accepted range (ops 1..32, memory 8 KiB..1 GiB)";
    } else if (strcmp(alg, "none") != 0 || trove_value_count(kdf) != 1)
        why = "unknown key derivation";
    if (!why) {
        env->cipher = !strcmp(cn, "aes256gcm") ? TROVE_CIPHER_AES256GCM
                                               : TROVE_CIPHER_XCHACHA20POLY1305;
        env->chunk = (uint32_t)chunk;
    }
    trove_value_free(h);
    if (why)
        return trove__fail(err, TROVE_E_CORRUPT, ENV_FIXED, "envelope header: %s", why);
    return geometry(env, err);
short_file:
    return trove__fail(err, TROVE_E_DECRYPT, env->file_bytes,
                       "the encrypted file is truncated: %llu bytes end inside its header",
                       (unsigned long long)env->file_bytes);
}

/* Build the envelope for a new file (fresh salts) and derive its keys. */
static int new_envelope(const trove_secret *s, const trove_crypt_options *o, envelope *env,
                        keymat **k, trove_error *err)
{
    memset(env, 0, sizeof *env);
    env->cipher = o->cipher;
    env->chunk = o->chunk_bytes;
    env->pass = s->is_pass;
    env->ops = o->kdf_ops;
    env->mem = o->kdf_mem;
    randombytes_buf(env->salt, sizeof env->salt);
    randombytes_buf(env->kdf_salt, sizeof env->kdf_salt);
    int rc = derive(s, env, k, err);
    if (rc)
        return rc;
    memcpy(env->check, (*k)->check, 16);
    const trove_allocator *a = o->alloc;
    trove_value *h = trove_value_map(a), *kdf = trove_value_map(a);
    rc = TROVE_E_NOMEM;
    if (!h || !kdf)
        goto out;
    if (trove_value_map_set(kdf, "alg", trove_value_cstring(a, env->pass ? "argon2id13" : "none")))
        goto out;
    if (env->pass && (trove_value_map_set(kdf, "ops", trove_value_uint(a, env->ops)) ||
                      trove_value_map_set(kdf, "mem", trove_value_uint(a, env->mem)) ||
                      trove_value_map_set(kdf, "salt", trove_value_bytes(a, env->kdf_salt, 16))))
        goto out;
    if (trove_value_map_set(h, "cipher", trove_value_cstring(a, cipher_name(env->cipher))) ||
        trove_value_map_set(h, "chunk", trove_value_uint(a, env->chunk)) ||
        trove_value_map_set(h, "salt", trove_value_bytes(a, env->salt, 32)) ||
        trove_value_map_set(h, "check", trove_value_bytes(a, env->check, 16)))
        goto out;
    rc = trove_value_map_set(h, "kdf", kdf);
    kdf = NULL;
    if (rc)
        goto out;
    uint8_t *enc = NULL;
    size_t enclen = 0;
    if ((rc = trove_value_encode(h, a, &enc, &enclen, err)) != TROVE_OK)
        goto out;
    memcpy(env->prefix, TROVE_ENCRYPTED_MAGIC, 8);
    trove__store_le16(env->prefix + 8, ENV_MAJOR);
    trove__store_le16(env->prefix + 10, ENV_MINOR);
    trove__store_le32(env->prefix + 12, (uint32_t)enclen);
    memcpy(env->prefix + ENV_FIXED, enc, enclen); /* enclen < 300: well under the limit */
    env->plen = ENV_FIXED + enclen;
    trove_free(a, enc);
out:
    if (rc == TROVE_E_NOMEM)
        trove__fail(err, rc, TROVE_NO_OFFSET, "out of memory");
    trove_value_free(kdf);
    trove_value_free(h);
    if (rc) {
        sodium_free(*k);
        *k = NULL;
    }
    return rc;
}

static int check_key(const envelope *env, const keymat *k, const trove_secret *s,
                     trove_error *err)
{
    if (sodium_memcmp(env->check, k->check, 16) == 0)
        return TROVE_OK;
    return trove__fail(err, TROVE_E_KEY, TROVE_NO_OFFSET,
                       s->is_pass ? "wrong passphrase: it does not open this file"
                                  : "wrong key: this file was encrypted with another key");
}

/* ---- overlapped output: write batch k on a helper thread while batch k+1 is read and
 * processed (two buffers alternate) ------------------------------------------------------- */
typedef struct async_write {
    pthread_t th;
    bool active;
    int fd;
    const uint8_t *p;
    size_t n;
    const char *what;
    trove_error err;
    int rc;
} async_write;

static void *aw_run(void *arg)
{
    async_write *w = arg;
    w->rc = trove__write_all(w->fd, w->p, w->n, &w->err, w->what);
    return NULL;
}

/* Wait for the pending write; its status (and error) if it failed. */
static int aw_wait(async_write *w, trove_error *err)
{
    if (!w->active)
        return TROVE_OK;
    pthread_join(w->th, NULL);
    w->active = false;
    if (w->rc && err)
        *err = w->err;
    return w->rc;
}

static int aw_start(async_write *w, int fd, const uint8_t *p, size_t n, const char *what,
                    trove_error *err)
{
    w->fd = fd;
    w->p = p;
    w->n = n;
    w->what = what;
    w->rc = TROVE_OK;
    if (pthread_create(&w->th, NULL, aw_run, w) == 0) {
        w->active = true;
        return TROVE_OK;
    }
    return trove__write_all(fd, p, n, err, what); /* no thread: write now */
}

/* ---- encrypt ----------------------------------------------------------------------------- */
/* Read up to n bytes (fewer only at end of input). */
static int read_full(int fd, uint8_t *p, size_t n, size_t *got, trove_error *err)
{
    size_t g = 0;
    while (g < n) {
        ssize_t r = read(fd, p + g, n - g);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return trove__fail_errno(err, TROVE_E_IO, errno, "cannot read the input at %zu", g);
        if (r == 0)
            break;
        g += (size_t)r;
    }
    *got = g;
    return TROVE_OK;
}

/* Encrypt in_fd to out_path; when *abort is set at end of input, nothing is committed. */
static int encrypt_stream(int in_fd, const char *out_path, const trove_secret *s,
                          const trove_crypt_options *opts, atomic_int *abort, trove_error *err)
{
    if (in_fd < 0 || !out_path || !s)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_encrypt_fd: bad argument");
    trove_crypt_options o;
    int rc = crypt_options(opts, &o, err);
    if (rc)
        return rc;
    if (o.cipher == TROVE_CIPHER_AES256GCM && !crypto_aead_aes256gcm_is_available())
        return trove__fail(err, TROVE_E_UNSUPPORTED, TROVE_NO_OFFSET,
                           "AES-256-GCM needs a CPU with AES-NI and PCLMUL, which this one lacks");
    const trove_allocator *a = o.alloc;
    envelope *env = trove__malloc(a, sizeof *env);
    if (!env)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    keymat *k = NULL;
    uint8_t *pbuf = NULL, *cbufs[2] = {NULL, NULL};
    size_t pcap = 0; /* bytes at pbuf */
    async_write aw;
    memset(&aw, 0, sizeof aw);
    int fd = -1;
    char *tmp = NULL;
    uint64_t C = o.chunk_bytes, per = C + TAG;
    uint64_t batch = BATCH_BYTES / C ? BATCH_BYTES / C : 1;
    size_t plen_buf = (size_t)((batch + 1) * C);
    bool sync = !(o.write_flags & TROVE_WRITE_NO_SYNC);
    if ((rc = new_envelope(s, &o, env, &k, err)) != TROVE_OK)
        goto out;
    if ((rc = trove__tmpfile_near(a, out_path, o.mode, &fd, &tmp, err)) != TROVE_OK)
        goto out;
    if ((rc = trove__write_all(fd, env->prefix, env->plen, err, "envelope header")))
        goto out;
    /* A regular file of known size: every chunk's place is known, all threads work end to end. */
    struct stat st;
    off_t base = -1;
    if (!abort && fstat(in_fd, &st) == 0 && S_ISREG(st.st_mode) &&
        (base = lseek(in_fd, 0, SEEK_CUR)) >= 0 && st.st_size >= base) {
        uint64_t P = (uint64_t)(st.st_size - base);
        env->nchunks = P ? (P - 1) / C + 1 : 1;
        env->last_len = P - (env->nchunks - 1) * C;
        fjobs f = {.env = env, .k = k, .sync = sync, .in_fd = in_fd, .out_fd = fd,
                   .in_base = (uint64_t)base};
        if ((rc = fjobs_run(&f, a, o.threads, err)) == TROVE_OK) {
            (void)lseek(in_fd, st.st_size, SEEK_SET); /* consumed, as a stream would be */
            rc = trove__commit_tmpfile(fd, tmp, out_path, sync, err);
        }
        goto out;
    }
    /* A stream: a batch at a time, one chunk of look-ahead to know which chunk is the last,
     * the cipher on all threads, the write of a batch overlapping the next one. Most streams
     * are small (a model written by trove_write_encrypted): two chunks are read first, and the
     * batch buffers (3 x 9 MiB by default) are only allocated when more comes (an 11-byte
     * stream took 140-250 ms here, faulting in and wiping them). */
    size_t small = (size_t)(2 * C), have = 0; /* plaintext bytes at the front of pbuf */
    pbuf = trove__malloc_aligned(a, small, 64);
    if (!pbuf) {
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        goto out;
    }
    pcap = small;
    madvise((void *)((uintptr_t)pbuf & ~(uintptr_t)4095), pcap, MADV_DONTDUMP);
    if ((rc = read_full(in_fd, pbuf, small, &have, err)) != TROVE_OK)
        goto out;
    bool eof = have < small, need_read = false;
    if (!eof && small < plen_buf) { /* more to come: full-size batch buffers */
        uint8_t *big = trove__malloc_aligned(a, plen_buf, 64);
        if (!big) {
            rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
            goto out;
        }
        madvise((void *)((uintptr_t)big & ~(uintptr_t)4095), plen_buf, MADV_DONTDUMP);
        memcpy(big, pbuf, have);
        sodium_memzero(pbuf, pcap);
        trove__free_aligned(a, pbuf);
        pbuf = big;
        pcap = plen_buf;
        need_read = true;
    }
    /* At the end of input the look-ahead chunk is encrypted too: pcap / C chunks at most. */
    size_t cbytes = (size_t)(pcap / C * per);
    cbufs[0] = trove__malloc_aligned(a, cbytes, 64);
    cbufs[1] = trove__malloc_aligned(a, cbytes, 64);
    if (!cbufs[0] || !cbufs[1]) {
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        goto out;
    }
    uint64_t index = 0;
    for (;;) {
        if (need_read) {
            size_t got = 0, want = pcap - have;
            if ((rc = read_full(in_fd, pbuf + have, want, &got, err)) != TROVE_OK)
                goto out;
            have += got;
            eof = got < want;
        }
        need_read = true;
        uint8_t *cbuf = cbufs[(index / batch) & 1];
        cjob j = {env, k, index, pbuf, cbuf, C, per, 0, C, false, false};
        if (eof) { /* everything left, the last chunk final (an empty input: one empty chunk) */
            j.count = have ? (have + C - 1) / C : 1;
            j.last_len = have - (j.count - 1) * C;
            j.last_is_final = true;
        } else {
            j.count = batch;
        }
        if ((rc = run_batch(&j, o.threads, err)) != TROVE_OK)
            goto out;
        size_t clen = (size_t)((j.count - 1) * per + j.last_len + TAG);
        if ((rc = aw_wait(&aw, err)) != TROVE_OK ||
            (rc = aw_start(&aw, fd, cbuf, clen, "encrypted chunks", err)) != TROVE_OK)
            goto out;
        index += j.count;
        if (eof)
            break;
        memmove(pbuf, pbuf + batch * C, (size_t)C); /* the look-ahead chunk */
        have = (size_t)C;
    }
    if ((rc = aw_wait(&aw, err)) != TROVE_OK)
        goto out;
    if (abort && atomic_load(abort))
        rc = trove__fail(err, TROVE_E_STATE, TROVE_NO_OFFSET, "the plaintext stream was "
                         "abandoned by its writer: nothing written");
    else
        rc = trove__commit_tmpfile(fd, tmp, out_path, sync, err);
out:
    (void)aw_wait(&aw, NULL); /* after a failure: let the pending write end before freeing */
    if (fd >= 0) {
        close(fd);
        if (rc)
            unlink(tmp);
    }
    trove__free(a, tmp);
    if (pbuf) {
        sodium_memzero(pbuf, pcap);
        trove__free_aligned(a, pbuf);
    }
    trove__free_aligned(a, cbufs[0]);
    trove__free_aligned(a, cbufs[1]);
    sodium_free(k);
    trove__free(a, env);
    return rc;
}

TROVE_API int trove_encrypt_fd(int in_fd, const char *out_path, const trove_secret *s,
                               const trove_crypt_options *opts, trove_error *err)
{
    return encrypt_stream(in_fd, out_path, s, opts, NULL, err);
}

TROVE_API int trove_is_encrypted(const char *path)
{
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0)
        return 0;
    uint8_t m[8];
    ssize_t r = pread(fd, m, 8, 0);
    close(fd);
    return r == 8 && memcmp(m, TROVE_ENCRYPTED_MAGIC, 8) == 0;
}

TROVE_API int trove_encrypt_file(const char *in_path, const char *out_path,
                                 const trove_secret *s, const trove_crypt_options *opts,
                                 trove_error *err)
{
    if (!in_path || !out_path || !s)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_encrypt_file: NULL");
    int fd = open(in_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot open '%s'", in_path);
    uint8_t m[8] = {0};
    ssize_t r = pread(fd, m, 8, 0);
    int rc;
    if (r == 8 && !memcmp(m, TROVE_ENCRYPTED_MAGIC, 8))
        rc = trove__fail(err, TROVE_E_STATE, 0, "'%s' is already encrypted", in_path);
    else if (r != 8 || memcmp(m, "\xffTRV\r\n\x1a\n", 8) != 0)
        rc = trove__fail(err, TROVE_E_NOT_TROVE, 0, "'%s' is not a trove file", in_path);
    else
        rc = trove_encrypt_fd(fd, out_path, s, opts, err);
    close(fd);
    return rc;
}

/* Open, read the envelope, derive and check the key. */
static int open_for_decrypt(const char *path, const trove_secret *s, const trove_allocator *a,
                            int *fd_out, envelope **env_out, keymat **k_out, trove_error *err)
{
    *fd_out = -1;
    *env_out = NULL;
    *k_out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot open '%s'", path);
    envelope *env = trove__malloc(a, sizeof *env);
    keymat *k = NULL;
    int rc;
    if (!env)
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    else if ((rc = read_envelope(fd, env, err)) == TROVE_OK &&
             (rc = derive(s, env, &k, err)) == TROVE_OK)
        rc = check_key(env, k, s, err);
    if (rc) {
        close(fd);
        trove__free(a, env);
        sodium_free(k);
        return rc;
    }
    *fd_out = fd;
    *env_out = env;
    *k_out = k;
    return TROVE_OK;
}

TROVE_API int trove_decrypt_file(const char *in_path, const char *out_path,
                                 const trove_secret *s, const trove_crypt_options *opts,
                                 trove_error *err)
{
    if (!in_path || !out_path || !s)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_decrypt_file: NULL");
    trove_crypt_options o;
    int rc = crypt_options(opts, &o, err);
    if (rc)
        return rc;
    const trove_allocator *a = o.alloc;
    int in = -1, fd = -1;
    envelope *env = NULL;
    keymat *k = NULL;
    char *tmp = NULL;
    bool sync = !(o.write_flags & TROVE_WRITE_NO_SYNC);
    if ((rc = open_for_decrypt(in_path, s, a, &in, &env, &k, err)) != TROVE_OK)
        return rc;
    if ((rc = trove__tmpfile_near(a, out_path, o.mode, &fd, &tmp, err)) == TROVE_OK) {
        fjobs f = {.env = env, .k = k, .decrypt = true, .sync = sync, .in_fd = in, .out_fd = fd};
        if ((rc = fjobs_run(&f, a, o.threads, err)) == TROVE_OK)
            rc = trove__commit_tmpfile(fd, tmp, out_path, sync, err);
        close(fd);
        if (rc)
            unlink(tmp); /* no partial plaintext is left behind under any name */
    }
    trove__free(a, tmp);
    close(in);
    sodium_free(k);
    trove__free(a, env);
    return rc;
}

/* Release callback of decrypted plaintext: wipe, then free with the allocator in ctx. */
static void wipe_release(void *ctx, void *buf, size_t len)
{
    sodium_memzero(buf, len);
    trove__free_aligned(ctx, buf);
}

TROVE_API int trove_open_encrypted(trove_file **out, const char *path, const trove_secret *s,
                                   const trove_open_options *opts,
                                   const trove_crypt_options *copts, trove_error *err)
{
    if (!out || !path || !s)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_open_encrypted: NULL");
    *out = NULL;
    trove_open_options oo = TROVE_OPEN_OPTIONS_INIT;
    if (opts) {
        if (opts->size < sizeof oo)
            return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                               "bad trove_open_options.size (use TROVE_OPEN_OPTIONS_INIT)");
        oo = *opts;
        if (oo.release)
            return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                               "trove_open_encrypted: the release callback is trove's own");
    }
    trove_crypt_options o;
    int rc = crypt_options(copts, &o, err);
    if (rc)
        return rc;
    const trove_allocator *a = oo.alloc;
    o.alloc = a; /* one allocator for the whole file */
    int fd = -1;
    envelope *env = NULL;
    keymat *k = NULL;
    uint8_t *plain = NULL;
    size_t total = 0;
    if ((rc = open_for_decrypt(path, s, a, &fd, &env, &k, err)) != TROVE_OK)
        return rc;
    uint64_t t64;
    if (!trove__mul_ok(env->nchunks - 1, env->chunk, &t64) ||
        !trove__add_ok(t64, env->last_len, &t64) || t64 > SIZE_MAX / 2) {
        rc = trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "file too large for memory");
        goto out;
    }
    total = (size_t)t64;
    /* Ciphertext by pread into small per-thread buffers, not mmap: a file truncated meanwhile
     * gives an error, not SIGBUS. Plaintext is decrypted straight into the final buffer. */
    plain = trove__malloc_aligned(a, total ? total : 1, 4096);
    if (!plain) {
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET,
                         "out of memory for %zu bytes of plaintext", total);
        goto out;
    }
    madvise(plain, total ? total : 1, MADV_DONTDUMP); /* page-aligned: keep it out of cores */
    madvise(plain, total ? total : 1, MADV_HUGEPAGE); /* fewer first-touch faults */
    fjobs f = {.env = env, .k = k, .decrypt = true, .in_fd = fd, .out_fd = -1, .mem = plain};
    if ((rc = fjobs_run(&f, a, o.threads, err)) != TROVE_OK)
        goto out;
    oo.release = wipe_release;
    oo.release_ctx = (void *)a;
    rc = trove_open_memory(out, plain, total, &oo, err);
    plain = NULL; /* released by trove (on failure too) */
out:
    if (plain) {
        sodium_memzero(plain, total);
        trove__free_aligned(a, plain);
    }
    close(fd);
    sodium_free(k);
    trove__free(a, env);
    return rc;
}

TROVE_API int trove_encrypted_probe(const char *path, trove_encrypted_info *info,
                                    trove_error *err)
{
    if (!path || !info)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_encrypted_probe: NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot open '%s'", path);
    envelope *env = trove__malloc(NULL, sizeof *env);
    int rc = env ? read_envelope(fd, env, err)
                 : trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    close(fd);
    if (rc == TROVE_OK) {
        memset(info, 0, sizeof *info);
        info->version_major = trove__load_le16(env->prefix + 8);
        info->version_minor = trove__load_le16(env->prefix + 10);
        info->cipher = env->cipher;
        info->cipher_name = cipher_name(env->cipher);
        info->chunk_bytes = env->chunk;
        info->passphrase = env->pass;
        info->kdf_ops = env->ops;
        info->kdf_mem = env->mem;
        info->chunks = env->nchunks;
        info->plaintext_bytes = (env->nchunks - 1) * env->chunk + env->last_len;
        info->file_bytes = env->file_bytes;
    }
    trove__free(NULL, env);
    return rc;
}

/* ---- encrypted writes ------------------------------------------------------------------------- */
typedef struct pipe_job {
    int fd;
    const char *path;
    const trove_secret *s;
    const trove_crypt_options *o;
    atomic_int abort;
    trove_error err;
    int rc;
} pipe_job;

static void *encrypt_pipe(void *arg)
{
    pipe_job *j = arg;
    j->rc = encrypt_stream(j->fd, j->path, j->s, j->o, &j->abort, &j->err);
    /* Drain to EOF so that the writer never meets a closed pipe (SIGPIPE) after a failure. */
    char buf[4096];
    for (;;) {
        ssize_t r = read(j->fd, buf, sizeof buf);
        if (r > 0 || (r < 0 && errno == EINTR))
            continue;
        break;
    }
    return NULL;
}

int trove__encrypt_produced(const char *path, trove__produce_fn produce, void *ctx,
                            const trove_secret *s, const trove_crypt_options *copts,
                            trove_error *err)
{
    trove_crypt_options o;
    int rc = crypt_options(copts, &o, err);
    if (rc)
        return rc;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot create a pipe");
    pipe_job j;
    memset(&j, 0, sizeof j);
    j.fd = fds[0];
    j.path = path;
    j.s = s;
    j.o = &o;
    atomic_init(&j.abort, 0);
    pthread_t th;
    if (pthread_create(&th, NULL, encrypt_pipe, &j) != 0) {
        close(fds[0]);
        close(fds[1]);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "cannot start a thread");
    }
    rc = produce(fds[1], ctx, err);
    if (rc != TROVE_OK) /* an incomplete stream must not become a file: abort, then EOF */
        atomic_store(&j.abort, 1);
    close(fds[1]);
    pthread_join(th, NULL);
    close(fds[0]);
    if (rc == TROVE_OK && j.rc != TROVE_OK) {
        if (err)
            *err = j.err;
        rc = j.rc;
    }
    return rc;
}

typedef struct fill_job {
    const trove_write_options *wo;
    trove_fill_fn fill;
    void *ctx;
} fill_job;

static int produce_written(int fd, void *ctx, trove_error *err)
{
    const fill_job *fj = ctx;
    trove_writer *w = NULL;
    int rc = trove_writer_open_fd(&w, fd, fj->wo, err);
    if (rc == TROVE_OK)
        rc = fj->fill(w, fj->ctx, err);
    if (rc == TROVE_OK)
        rc = trove_writer_commit(w, err);
    trove_writer_free(w);
    return rc;
}

TROVE_API int trove_write_encrypted(const char *path, const trove_write_options *wo,
                                    trove_fill_fn fill, void *ctx, const trove_secret *s,
                                    const trove_crypt_options *copts, trove_error *err)
{
    if (!path || !fill || !s)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_write_encrypted: NULL");
    fill_job fj = {wo, fill, ctx};
    return trove__encrypt_produced(path, produce_written, &fj, s, copts, err);
}
