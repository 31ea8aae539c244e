/* keys.c: key material: Ed25519 signing keys and public keys, symmetric secrets, their text key
 * files (plain or sealed with Argon2id + XChaCha20-Poly1305), all secrets in guarded memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "security/sec_internal.h"

#define PUB_PREFIX "trove-ed25519-public "
#define SEC_PREFIX "trove-ed25519-secret "
#define KEY_PREFIX "trove-secret-key "
#define KDF_MAX_OPS 32u
#define KDF_MAX_MEM (UINT64_C(1) << 30)

int trove__sodium_ready(trove_error *err)
{
    if (sodium_init() < 0)
        return trove__fail(err, TROVE_E_UNSUPPORTED, TROVE_NO_OFFSET, "libsodium failed to start");
    return TROVE_OK;
}

int trove__check_private(const char *path, unsigned mode, trove_error *err)
{
    if (!(mode & 077))
        return TROVE_OK;
    return trove__fail(err, TROVE_E_KEY, TROVE_NO_OFFSET,
                       "secret key file '%s' is accessible by group or others (mode %03o): "
                       "chmod 600 it", path, mode & 0777);
}

int trove__read_small(const char *path, size_t max, char **out, size_t *len, unsigned *mode,
                      trove_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot open key file '%s'", path);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return trove__fail(err, TROVE_E_IO, TROVE_NO_OFFSET, "'%s' is not a regular file", path);
    }
    *mode = (unsigned)(st.st_mode & 07777);
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return trove__fail(err, TROVE_E_KEY, TROVE_NO_OFFSET,
                           "key file '%s' is %lld bytes: too large for a key file (max %zu)", path,
                           (long long)st.st_size, max);
    }
    char *buf = sodium_malloc(max + 1);
    if (!buf) {
        close(fd);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    size_t got = 0;
    while (got < max) {
        ssize_t r = read(fd, buf + got, max - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            sodium_free(buf);
            return trove__fail_errno(err, TROVE_E_IO, e, "cannot read key file '%s'", path);
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return TROVE_OK;
}

int trove__write_new(const char *path, const void *p, size_t n, unsigned mode, trove_error *err)
{
    struct stat st;
    if (lstat(path, &st) == 0)
        return trove__fail(err, TROVE_E_EXISTS, TROVE_NO_OFFSET,
                           "'%s' exists: refusing to overwrite a key file", path);
    int fd = -1;
    char *tmp = NULL;
    int rc = trove__tmpfile_near(NULL, path, mode, &fd, &tmp, err);
    if (rc)
        return rc;
    rc = trove__write_all(fd, p, n, err, "key file");
    if (rc == TROVE_OK && fsync(fd) != 0)
        rc = trove__fail_errno(err, TROVE_E_IO, errno, "cannot fsync '%s'", tmp);
    /* link() instead of rename(): atomic and never replaces a file created meanwhile. */
    if (rc == TROVE_OK && link(tmp, path) != 0)
        rc = errno == EEXIST ? trove__fail(err, TROVE_E_EXISTS, TROVE_NO_OFFSET,
                                           "'%s' exists: refusing to overwrite a key file", path)
                             : trove__fail_errno(err, TROVE_E_IO, errno, "cannot create '%s'",
                                                 path);
    close(fd);
    unlink(tmp);
    trove__free(NULL, tmp);
    return rc;
}

/* ---- public keys ---------------------------------------------------------------------------- */
TROVE_API void trove_pubkey_from_bytes(trove_pubkey *out, const uint8_t key[TROVE_PUBLIC_KEY_BYTES])
{
    uint8_t h[32];
    memcpy(out->key, key, TROVE_PUBLIC_KEY_BYTES);
    crypto_generichash(h, sizeof h, key, TROVE_PUBLIC_KEY_BYTES, NULL, 0);
    memcpy(out->id, h, TROVE_KEY_ID_BYTES);
}

/* Parse exactly 2n hex digits at s into out; false otherwise. */
static bool unhex(const char *s, size_t n, uint8_t *out)
{
    size_t got = 0;
    const char *end = NULL;
    if (sodium_hex2bin(out, n, s, 2 * n, NULL, &got, &end) != 0 || got != n)
        return false;
    return end == s + 2 * n;
}

/* True when s is only spaces, tabs, CR, LF (or a comment after a space). */
static bool rest_ok(const char *s, bool allow_comment)
{
    if (allow_comment && *s == ' ')
        s = strchr(s, '\n') ? strchr(s, '\n') : s + strlen(s);
    for (; *s; s++)
        if (*s != '\n' && *s != '\r')
            return false;
    return true;
}

TROVE_API int trove_pubkey_load(trove_pubkey *out, const char *path, trove_error *err)
{
    if (!out || !path)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_pubkey_load: NULL");
    int rc = trove__sodium_ready(err);
    if (rc)
        return rc;
    char *buf = NULL;
    size_t len = 0;
    unsigned mode;
    if ((rc = trove__read_small(path, 4096, &buf, &len, &mode, err)) != TROVE_OK)
        return rc;
    size_t pl = sizeof PUB_PREFIX - 1;
    uint8_t k[32];
    if (len < pl + 64 || memcmp(buf, PUB_PREFIX, pl) != 0 || !unhex(buf + pl, 32, k) ||
        !rest_ok(buf + pl + 64, true)) {
        bool secret = !strncmp(buf, SEC_PREFIX, sizeof SEC_PREFIX - 1) ||
                      !strncmp(buf, KEY_PREFIX, sizeof KEY_PREFIX - 1);
        sodium_free(buf);
        return trove__fail(err, TROVE_E_KEY, TROVE_NO_OFFSET,
                           secret ? "'%s' is a secret key file, not a public key: give NAME.pub"
                                  : "'%s' is not a trove public key file (expected a line "
                                    "'trove-ed25519-public <64 hex digits>')",
                           path);
    }
    sodium_free(buf);
    trove_pubkey_from_bytes(out, k);
    return TROVE_OK;
}

/* ---- signing keys --------------------------------------------------------------------------- */
static trove_signer *signer_new(void)
{
    trove_signer *s = sodium_malloc(sizeof *s);
    return s;
}

TROVE_API void trove_signer_free(trove_signer *s)
{
    if (s)
        sodium_free(s); /* wipes */
}

TROVE_API void trove_signer_public(const trove_signer *s, trove_pubkey *out)
{
    trove_pubkey_from_bytes(out, s->pk);
}

TROVE_API int trove_signer_generate(trove_signer **out, trove_error *err)
{
    if (!out)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_signer_generate: NULL");
    *out = NULL;
    int rc = trove__sodium_ready(err);
    if (rc)
        return rc;
    trove_signer *s = signer_new();
    if (!s)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory (guarded)");
    crypto_sign_keypair(s->pk, s->sk);
    *out = s;
    return TROVE_OK;
}

/* Derive the sealing key for a secret key file. */
static int seal_key(uint8_t key[32], const char *pass, size_t passlen, const uint8_t salt[16],
                    uint64_t ops, uint64_t mem, trove_error *err)
{
    if (crypto_pwhash(key, 32, pass, passlen, salt, ops, (size_t)mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET,
                           "Argon2id could not allocate %llu bytes", (unsigned long long)mem);
    return TROVE_OK;
}

static bool kdf_params_ok(uint64_t ops, uint64_t mem)
{
    return ops >= crypto_pwhash_OPSLIMIT_MIN && ops <= KDF_MAX_OPS &&
           mem >= crypto_pwhash_MEMLIMIT_MIN && mem <= KDF_MAX_MEM;
}

TROVE_API int trove_signer_save(const trove_signer *s, const char *base, const char *pass,
                                size_t passlen, uint64_t kdf_ops, uint64_t kdf_mem,
                                trove_error *err)
{
    if (!s || !base)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_signer_save: NULL");
    int rc = trove__sodium_ready(err);
    if (rc)
        return rc;
    if (!kdf_ops)
        kdf_ops = crypto_pwhash_OPSLIMIT_MODERATE;
    if (!kdf_mem)
        kdf_mem = crypto_pwhash_MEMLIMIT_MODERATE;
    if (pass && !kdf_params_ok(kdf_ops, kdf_mem))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "Argon2id cost out of range (ops 1..%u, memory 8 KiB..1 GiB)",
                           KDF_MAX_OPS);
    size_t bl = strlen(base);
    if (bl > 4000)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "key path too long");
    char path[4100];
    /* The secret line: built in guarded memory, wiped on free. */
    const size_t cap = 512;
    char *line = sodium_malloc(cap);
    uint8_t *key = sodium_malloc(32);
    if (!line || !key) {
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory (guarded)");
        goto out;
    }
    char hex[2 * 64 + 1];
    if (!pass) {
        char *h = sodium_malloc(65);
        if (!h) {
            rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory (guarded)");
            goto out;
        }
        trove__hex(s->sk, 32, h); /* the seed; the public half is derived on load */
        snprintf(line, cap, SEC_PREFIX "plain %s\n", h);
        sodium_free(h);
    } else {
        uint8_t salt[16], nonce[24], ct[32 + 16];
        randombytes_buf(salt, sizeof salt);
        randombytes_buf(nonce, sizeof nonce);
        if ((rc = seal_key(key, pass, passlen, salt, kdf_ops, kdf_mem, err)) != TROVE_OK)
            goto out;
        char sh[33], nh[49];
        trove__hex(salt, 16, sh);
        trove__hex(nonce, 24, nh);
        int ad = snprintf(line, cap, SEC_PREFIX "argon2id %llu %llu %s %s ",
                          (unsigned long long)kdf_ops, (unsigned long long)kdf_mem, sh, nh);
        crypto_aead_xchacha20poly1305_ietf_encrypt(ct, NULL, s->sk, 32, (const uint8_t *)line,
                                                   (unsigned long long)ad, NULL, nonce, key);
        trove__hex(ct, sizeof ct, hex);
        snprintf(line + ad, cap - (size_t)ad, "%s\n", hex);
    }
    snprintf(path, sizeof path, "%s.key", base);
    if ((rc = trove__write_new(path, line, strlen(line), 0600, err)) != TROVE_OK)
        goto out;
    trove__hex(s->pk, 32, hex);
    char pub[128];
    int pn = snprintf(pub, sizeof pub, PUB_PREFIX "%s\n", hex);
    snprintf(path, sizeof path, "%s.pub", base);
    if ((rc = trove__write_new(path, pub, (size_t)pn, 0644, err)) != TROVE_OK) {
        snprintf(path, sizeof path, "%s.key", base);
        unlink(path);
    }
out:
    sodium_free(line);
    sodium_free(key);
    return rc;
}

TROVE_API int trove_signer_load(trove_signer **out, const char *path, const char *pass,
                                size_t passlen, trove_error *err)
{
    if (!out || !path)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_signer_load: NULL");
    *out = NULL;
    int rc = trove__sodium_ready(err);
    if (rc)
        return rc;
    char *buf = NULL;
    size_t len = 0;
    unsigned mode;
    if ((rc = trove__read_small(path, 1024, &buf, &len, &mode, err)) != TROVE_OK)
        return rc;
    trove_signer *s = signer_new();
    uint8_t *seed = sodium_malloc(32), *key = sodium_malloc(32);
    if (!s || !seed || !key) {
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory (guarded)");
        goto out;
    }
    size_t pl = sizeof SEC_PREFIX - 1;
    if (len < pl || memcmp(buf, SEC_PREFIX, pl) != 0) {
        if (!strncmp(buf, PUB_PREFIX, sizeof PUB_PREFIX - 1)) {
            rc = trove__fail(err, TROVE_E_KEY, TROVE_NO_OFFSET,
                             "'%s' is a public key: signing needs the secret key NAME.key", path);
            goto out;
        }
        goto malformed;
    }
    if ((rc = trove__check_private(path, mode, err)) != TROVE_OK)
        goto out;
    const char *p = buf + pl;
    if (!strncmp(p, "plain ", 6)) {
        if (!unhex(p + 6, 32, seed) || !rest_ok(p + 6 + 64, false))
            goto malformed;
    } else if (!strncmp(p, "argon2id ", 9)) {
        unsigned long long ops, mem;
        int used = 0;
        char sh[33], nh[49];
        if (sscanf(p + 9, "%20llu %20llu %32[0-9a-f] %48[0-9a-f] %n", &ops, &mem, sh, nh,
                   &used) != 4 || used == 0)
            goto malformed;
        const char *ct_hex = p + 9 + used;
        size_t adlen = (size_t)(ct_hex - buf);
        uint8_t salt[16], nonce[24], ct[48];
        if (strlen(sh) != 32 || strlen(nh) != 48 || !unhex(sh, 16, salt) ||
            !unhex(nh, 24, nonce) || !unhex(ct_hex, 48, ct) || !rest_ok(ct_hex + 96, false))
            goto malformed;
        if (!kdf_params_ok(ops, mem)) {
            rc = trove__fail(err, TROVE_E_KEY, TROVE_NO_OFFSET,
                             "'%s': Argon2id cost out of the accepted range", path);
            goto out;
        }
        if (!pass) {
            rc = trove__fail(err, TROVE_E_KEY, TROVE_NO_OFFSET,
                             "'%s' is sealed with a passphrase: give the passphrase", path);
            goto out;
        }
        if ((rc = seal_key(key, pass, passlen, salt, ops, mem, err)) != TROVE_OK)
            goto out;
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(seed, NULL, NULL, ct, sizeof ct,
                                                       (const uint8_t *)buf, adlen, nonce,
                                                       key) != 0) {
            rc = trove__fail(err, TROVE_E_KEY, TROVE_NO_OFFSET,
                             "wrong passphrase for secret key '%s' (or the key file was altered)",
                             path);
            goto out;
        }
    } else {
        goto malformed;
    }
    crypto_sign_seed_keypair(s->pk, s->sk, seed);
    *out = s;
    s = NULL;
    rc = TROVE_OK;
    goto out;
malformed:
    rc = trove__fail(err, TROVE_E_KEY, TROVE_NO_OFFSET,
                     "'%s' is not a trove secret key file (see docs/SECURITY.md)", path);
out:
    sodium_free(buf);
    sodium_free(seed);
    sodium_free(key);
    trove_signer_free(s);
    return rc;
}

/* ---- symmetric secrets ---------------------------------------------------------------------- */
static trove_secret *secret_new(int is_pass, const void *p, size_t len)
{
    /* sodium_malloc places the block at the end of a page: round the size up to keep the
     * struct aligned. */
    trove_secret *s = sodium_malloc((sizeof *s + len + 15) & ~(size_t)15);
    if (!s)
        return NULL;
    s->is_pass = is_pass;
    s->len = len;
    if (len)
        memcpy(s->data, p, len);
    return s;
}

TROVE_API void trove_secret_free(trove_secret *s)
{
    if (s)
        sodium_free(s);
}

TROVE_API int trove_secret_is_passphrase(const trove_secret *s)
{
    return s && s->is_pass;
}

TROVE_API int trove_secret_generate(trove_secret **out, trove_error *err)
{
    if (!out)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_secret_generate: NULL");
    *out = NULL;
    int rc = trove__sodium_ready(err);
    if (rc)
        return rc;
    trove_secret *s = sodium_malloc((sizeof *s + 32 + 15) & ~(size_t)15);
    if (!s)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory (guarded)");
    s->is_pass = 0;
    s->len = 32;
    randombytes_buf(s->data, 32);
    *out = s;
    return TROVE_OK;
}

TROVE_API int trove_secret_from_key(trove_secret **out, const void *key, size_t len,
                                    trove_error *err)
{
    if (!out || !key)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_secret_from_key: NULL");
    *out = NULL;
    if (len != TROVE_SECRET_BYTES)
        return trove__fail(err, TROVE_E_KEY, TROVE_NO_OFFSET,
                           "an encryption key is %d bytes, not %zu", TROVE_SECRET_BYTES, len);
    int rc = trove__sodium_ready(err);
    if (rc)
        return rc;
    if (!(*out = secret_new(0, key, len)))
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory (guarded)");
    return TROVE_OK;
}

TROVE_API int trove_secret_from_passphrase(trove_secret **out, const char *pass, size_t len,
                                           trove_error *err)
{
    if (!out || !pass)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "trove_secret_from_passphrase: NULL");
    *out = NULL;
    if (len == 0 || len > TROVE__PASS_MAX)
        return trove__fail(err, TROVE_E_KEY, TROVE_NO_OFFSET,
                           "a passphrase must be 1 to %u bytes", TROVE__PASS_MAX);
    int rc = trove__sodium_ready(err);
    if (rc)
        return rc;
    if (!(*out = secret_new(1, pass, len)))
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory (guarded)");
    return TROVE_OK;
}

/* Parse "trove-secret-key <64 hex>" or bare 64 hex digits (plus line ends). */
static int parse_secret(trove_secret **out, const char *text, const char *what, trove_error *err)
{
    size_t pl = sizeof KEY_PREFIX - 1;
    const char *p = !strncmp(text, KEY_PREFIX, pl) ? text + pl : text;
    uint8_t *k = sodium_malloc(32);
    if (!k)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory (guarded)");
    int rc;
    if (strlen(p) < 64 || !unhex(p, 32, k) || !rest_ok(p + 64, false)) {
        bool sign = !strncmp(text, SEC_PREFIX, sizeof SEC_PREFIX - 1) ||
                    !strncmp(text, PUB_PREFIX, sizeof PUB_PREFIX - 1);
        rc = trove__fail(err, TROVE_E_KEY, TROVE_NO_OFFSET,
                         sign ? "%s holds a signing key, not an encryption key"
                              : "%s is not an encryption key (expected 'trove-secret-key <64 hex "
                                "digits>')",
                         what);
    } else {
        rc = trove_secret_from_key(out, k, 32, err);
    }
    sodium_free(k);
    return rc;
}

TROVE_API int trove_secret_load(trove_secret **out, const char *path, trove_error *err)
{
    if (!out || !path)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_secret_load: NULL");
    *out = NULL;
    int rc = trove__sodium_ready(err);
    if (rc)
        return rc;
    char *buf = NULL;
    size_t len = 0;
    unsigned mode;
    if ((rc = trove__read_small(path, 1024, &buf, &len, &mode, err)) != TROVE_OK)
        return rc;
    char what[300];
    snprintf(what, sizeof what, "key file '%.256s'", path);
    rc = parse_secret(out, buf, what, err);
    if (rc == TROVE_OK && (rc = trove__check_private(path, mode, err)) != TROVE_OK) {
        trove_secret_free(*out);
        *out = NULL;
    }
    sodium_free(buf);
    return rc;
}

TROVE_API int trove_secret_from_env(trove_secret **out, const char *name, trove_error *err)
{
    if (!out || !name)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_secret_from_env: NULL");
    *out = NULL;
    int rc = trove__sodium_ready(err);
    if (rc)
        return rc;
    const char *v = getenv(name);
    if (!v)
        return trove__fail(err, TROVE_E_NOT_FOUND, TROVE_NO_OFFSET,
                           "environment variable %.64s is not set", name);
    char what[100];
    snprintf(what, sizeof what, "environment variable %.64s", name);
    return parse_secret(out, v, what, err);
}

TROVE_API int trove_secret_save(const trove_secret *s, const char *path, trove_error *err)
{
    if (!s || !path)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_secret_save: NULL");
    if (s->is_pass)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "a passphrase is not saved to a key file");
    char *line = sodium_malloc(128);
    if (!line)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory (guarded)");
    memcpy(line, KEY_PREFIX, sizeof KEY_PREFIX - 1);
    trove__hex(s->data, 32, line + sizeof KEY_PREFIX - 1);
    strcat(line, "\n");
    int rc = trove__write_new(path, line, strlen(line), 0600, err);
    sodium_free(line);
    return rc;
}
