/* fuzz_envelope.c: fuzz target for the encrypted envelope (docs/FORMAT.md "Encrypted files"):
 * the public header parser (trove_encrypted_probe), key derivation and checking, the chunk
 * stream (trove_decrypt_file, trove_open_encrypted) with a fixed key or passphrase, and the
 * properties that hold whatever the bytes:
 *   - every call returns a clean status (known code, message), never crashes or leaks;
 *   - decrypting to a file and opening into memory agree on every decryption failure, and a
 *     failed decrypt leaves nothing at the output path;
 *   - the wrong kind of secret is always TROVE_E_KEY;
 *   - an input that is not an envelope is sealed with the fixed key (from the file, or one time
 *     in eight from a pipe): opening the sealed file gives the same status as opening the
 *     plaintext, and any flipped bit, truncation, appended byte, dropped final chunk or swap
 *     of chunks in the sealed file is detected (STREAM authentication).
 * Scratch files live in a private directory under /dev/shm (or /tmp), removed at exit. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "trust_fixture.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], in_path[96], out_path[96], sealed_path[96];
static trove_secret *key, *pass;

static void cleanup(void)
{
    unlink(in_path);
    unlink(out_path);
    unlink(sealed_path);
    DIR *d = opendir(dir); /* temporaries a failed write would have removed anyway */
    if (d) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] == '.' && e->d_name[1] && e->d_name[1] != '.') {
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(dir);
    trove_secret_free(key);
    trove_secret_free(pass);
}

static void init(void)
{
    if (key)
        return;
    snprintf(dir, sizeof dir, "/dev/shm/trove-fuzz-env.XXXXXX");
    if (!mkdtemp(dir)) {
        snprintf(dir, sizeof dir, "/tmp/trove-fuzz-env.XXXXXX");
        check(mkdtemp(dir) != NULL);
    }
    snprintf(in_path, sizeof in_path, "%s/in", dir);
    snprintf(out_path, sizeof out_path, "%s/out", dir);
    snprintf(sealed_path, sizeof sealed_path, "%s/sealed", dir);
    trove_error err;
    check(trove_secret_from_key(&key, FX_KEY, sizeof FX_KEY, &err) == TROVE_OK);
    check(trove_secret_from_passphrase(&pass, FX_PASS, strlen(FX_PASS), &err) == TROVE_OK);
    atexit(cleanup);
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    check(fd >= 0);
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        check(w > 0);
        done += (size_t)w;
    }
    close(fd);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Decrypt path to out_path: a clean status, and nothing at out_path on failure. */
static int decrypt_to_file(const char *path, const trove_secret *s, uint64_t *plain_bytes)
{
    trove_crypt_options co = TROVE_CRYPT_OPTIONS_INIT;
    co.write_flags = TROVE_WRITE_NO_SYNC;
    co.threads = 1;
    trove_error err;
    memset(&err, 0, sizeof err);
    int rc = trove_decrypt_file(path, out_path, s, &co, &err);
    clean(rc, &err);
    if (rc != TROVE_OK) {
        check(!exists(out_path));
        return rc;
    }
    struct stat st;
    check(stat(out_path, &st) == 0 && (st.st_mode & 0077) == 0);
    if (plain_bytes)
        *plain_bytes = (uint64_t)st.st_size;
    unlink(out_path);
    return rc;
}

/* What a user reaches of an open file: every tensor's bytes, then verification. Returns the
 * first failing status; closes f. */
static int touch(trove_file *f)
{
    trove_error err;
    memset(&err, 0, sizeof err);
    check(trove_file_metadata(f) != NULL);
    int rc = TROVE_OK;
    for (size_t i = 0; i < trove_file_tensor_count(f); i++) {
        const void *p;
        int r = trove_file_tensor_data(f, i, &p, &err);
        clean(r, &err);
        if (r != TROVE_OK && rc == TROVE_OK)
            rc = r;
    }
    int r = trove_file_verify(f, &err);
    clean(r, &err);
    trove_close(f);
    return rc != TROVE_OK ? rc : r;
}

/* Open path encrypted into memory, touch it; the status. */
static int open_encrypted(const char *path, const trove_secret *s, int *decrypted)
{
    trove_open_options oo = TROVE_OPEN_OPTIONS_INIT;
    oo.max_decompressed_bytes = UINT64_C(8) << 20;
    trove_crypt_options co = TROVE_CRYPT_OPTIONS_INIT;
    co.threads = 1;
    trove_file *f = NULL;
    trove_error err;
    memset(&err, 0, sizeof err);
    int rc = trove_open_encrypted(&f, path, s, &oo, &co, &err);
    clean(rc, &err);
    if (decrypted)
        *decrypted = rc;
    if (rc != TROVE_OK) {
        check(f == NULL);
        return rc;
    }
    return touch(f);
}

/* The plaintext opened directly: the reference for the sealed copy. */
static int open_plain(const uint8_t *data, size_t size)
{
    trove_open_options oo = TROVE_OPEN_OPTIONS_INIT;
    oo.max_decompressed_bytes = UINT64_C(8) << 20;
    trove_file *f = NULL;
    trove_error err;
    memset(&err, 0, sizeof err);
    int rc = trove_open_memory(&f, data, size, &oo, &err);
    clean(rc, &err);
    return rc != TROVE_OK ? rc : touch(f);
}

static void fuzz_envelope(size_t size)
{
    trove_encrypted_info info;
    trove_error err;
    memset(&err, 0, sizeof err);
    int rc = trove_encrypted_probe(in_path, &info, &err);
    clean(rc, &err);
    if (rc != TROVE_OK)
        return;
    check(info.version_major == 1 && info.cipher_name != NULL);
    check(info.chunk_bytes >= 4096 && info.chunk_bytes <= (64u << 20));
    check(info.chunks >= 1 && info.file_bytes == size);
    check(info.plaintext_bytes + info.chunks * 16 < info.file_bytes);
    if (info.passphrase && (info.kdf_ops > FX_KDF_MAX_OPS || info.kdf_mem > FX_KDF_MAX_MEM))
        return; /* a legal but costly Argon2id: not worth a fuzz iteration */
    const trove_secret *right = info.passphrase ? pass : key, *wrong = info.passphrase ? key : pass;
    uint64_t plain = 0;
    int rd = decrypt_to_file(in_path, right, &plain);
    int ro = 0;
    (void)open_encrypted(in_path, right, &ro);
    if (rd != TROVE_OK)
        check(ro == rd); /* a decryption failure is the same failure both ways */
    else
        check(plain == info.plaintext_bytes && ro != TROVE_E_KEY && ro != TROVE_E_DECRYPT);
    check(decrypt_to_file(in_path, wrong, NULL) == TROVE_E_KEY);
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return h;
}

/* Seal the input (as plaintext) with the fixed key, compare with the plaintext, tamper. */
static void fuzz_sealed(const uint8_t *data, size_t size)
{
    uint64_t h = mix(size + 1);
    for (size_t i = 0; i < size; i++)
        h = mix(h ^ data[i]);
    const trove_secret *s = (h & 7) == 0 ? pass : key; /* Argon2id at the minimum cost */
    trove_crypt_options co = TROVE_CRYPT_OPTIONS_INIT;
    co.write_flags = TROVE_WRITE_NO_SYNC;
    co.chunk_bytes = 4096;
    co.cipher = (h & 8) && crypto_aead_aes256gcm_is_available() ? TROVE_CIPHER_AES256GCM
                                                               : TROVE_CIPHER_XCHACHA20POLY1305;
    co.kdf_ops = FX_KDF_OPS;
    co.kdf_mem = FX_KDF_MEM;
    co.threads = 1;
    int fd = -1;
    if ((h & 0x70) == 0 && size <= 65536) { /* a stream (a pipe): the batch path */
        int pp[2];
        check(pipe(pp) == 0);
        size_t done = 0;
        while (done < size) { /* fits in the pipe's buffer: no reader needed yet */
            ssize_t w = write(pp[1], data + done, size - done);
            check(w > 0);
            done += (size_t)w;
        }
        close(pp[1]);
        fd = pp[0];
    } else {
        fd = open(in_path, O_RDONLY | O_CLOEXEC);
    }
    check(fd >= 0);
    trove_error err;
    memset(&err, 0, sizeof err);
    int rc = trove_encrypt_fd(fd, sealed_path, s, &co, &err);
    close(fd);
    clean(rc, &err);
    check(rc == TROVE_OK);
    /* Opening the sealed copy is opening the plaintext. */
    check(open_encrypted(sealed_path, s, NULL) == open_plain(data, size));
    int sfd = open(sealed_path, O_RDONLY | O_CLOEXEC);
    check(sfd >= 0);
    size_t slen = 0;
    uint8_t *sealed = fx_read_fd(sfd, &slen);
    close(sfd);
    check(sealed != NULL);
    uint64_t plain = 0;
    check(decrypt_to_file(sealed_path, s, &plain) == TROVE_OK && plain == size);
    /* Any change is detected: a flipped bit, a truncation, an appended byte. */
    size_t pos = (size_t)(mix(h + 1) % slen);
    sealed[pos] ^= (uint8_t)(1u << (h >> 8 & 7));
    write_file(in_path, sealed, slen);
    check(decrypt_to_file(in_path, s, NULL) != TROVE_OK);
    sealed[pos] ^= (uint8_t)(1u << (h >> 8 & 7));
    size_t cut = (size_t)(mix(h + 2) % slen);
    write_file(in_path, sealed, cut);
    check(decrypt_to_file(in_path, s, NULL) != TROVE_OK);
    uint8_t *longer = malloc(slen + 1);
    check(longer != NULL);
    memcpy(longer, sealed, slen);
    longer[slen] = (uint8_t)h;
    write_file(in_path, longer, slen + 1);
    check(decrypt_to_file(in_path, s, NULL) != TROVE_OK);
    free(longer);
    /* Chunk-level edits: drop the final chunk (the rest still authenticates: "not the final
     * chunk"), swap the first two chunks (both full). */
    uint64_t nch = size ? (size + 4095) / 4096 : 1, per = 4096 + 16;
    size_t plen = slen - size - (size_t)nch * 16; /* envelope prefix */
    if (nch >= 2) {
        memset(&err, 0, sizeof err);
        write_file(in_path, sealed, plen + (size_t)((nch - 1) * per));
        trove_crypt_options d = TROVE_CRYPT_OPTIONS_INIT;
        d.write_flags = TROVE_WRITE_NO_SYNC;
        d.threads = 1;
        check(trove_decrypt_file(in_path, out_path, s, &d, &err) == TROVE_E_DECRYPT &&
              strstr(err.message, "not the final chunk") != NULL && !exists(out_path));
    }
    if (nch >= 3) { /* two full chunks to swap */
        uint8_t *sw = malloc(slen);
        check(sw != NULL);
        memcpy(sw, sealed, slen);
        memcpy(sw + plen, sealed + plen + per, (size_t)per);
        memcpy(sw + plen + per, sealed + plen, (size_t)per);
        write_file(in_path, sw, slen);
        check(decrypt_to_file(in_path, s, NULL) == TROVE_E_DECRYPT);
        free(sw);
    }
    free(sealed);
    unlink(sealed_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    write_file(in_path, data, size);
    int is_env = size >= 8 && memcmp(data, TROVE_ENCRYPTED_MAGIC, 8) == 0;
    check(trove_is_encrypted(in_path) == is_env);
    if (is_env)
        fuzz_envelope(size);
    else
        fuzz_sealed(data, size);
    unlink(in_path);
    return 0;
}
