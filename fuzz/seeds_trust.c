/* seeds_trust.c: writes the seed corpora of fuzz_envelope and fuzz_signature with the library
 * itself, keyed by trust_fixture.h: envelopes (key, passphrase at the minimum Argon2id cost,
 * AES-256-GCM, one and several 4 KiB chunks, empty plaintext) and plain files to be sealed into
 * DIR/envelope/; detached signature files, embedded "signatures" entries and a signed file
 * (each behind its mode byte) into DIR/signature/. Usage: seeds_trust DIR (run by fuzz/run.sh
 * when a corpus is empty; the output is checked in). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "trust_fixture.h"

static const char *root;
static int failures;

static void save(const char *sub, const char *name, uint8_t mode, const void *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", root, sub, name);
    FILE *fp = fopen(path, "wb");
    int ok = fp != NULL;
    if (ok && mode != 0xff)
        ok = fputc(mode, fp) != EOF;
    if (ok && n)
        ok = fwrite(p, 1, n, fp) == n;
    if (fp && fclose(fp) != 0)
        ok = 0;
    if (!ok) {
        fprintf(stderr, "cannot write %s\n", path);
        failures++;
    }
}

/* A model of about `floats` * 4 bytes (several 4 KiB chunks when large). */
static uint8_t *bigger_model(size_t floats, size_t *len)
{
    int fd = memfd_create("seed", MFD_CLOEXEC);
    trove_writer *w = NULL;
    trove_error err;
    uint8_t *out = NULL;
    float *x = calloc(floats, sizeof *x);
    if (fd < 0 || !x || trove_writer_open_fd(&w, fd, NULL, &err) != TROVE_OK)
        goto done;
    for (size_t i = 0; i < floats; i++)
        x[i] = (float)i * 0.25f - 3.0f;
    uint64_t shape[1] = {floats};
    trove_tensor_spec s = {"weights", TROVE_FLOAT32, 1, shape, 0, 0};
    trove_value *m = trove_value_map(NULL);
    if (!m || trove_value_map_set(m, "kind", trove_value_cstring(NULL, "raw"))) {
        trove_value_free(m);
        goto done;
    }
    if (trove_writer_set_metadata(w, m, &err) == TROVE_OK &&
        trove_writer_add(w, &s, x, &err) == TROVE_OK && trove_writer_commit(w, &err) == TROVE_OK)
        out = fx_read_fd(fd, len);
done:
    trove_writer_free(w);
    free(x);
    if (fd >= 0)
        close(fd);
    return out;
}

/* Encrypt p[0..n) with s and options, save as envelope/name. */
static void envelope(const char *name, const uint8_t *p, size_t n, const trove_secret *s,
                     uint32_t cipher)
{
    char in[1024], out[1024];
    snprintf(in, sizeof in, "%s/envelope/.plain", root);
    snprintf(out, sizeof out, "%s/envelope/%s", root, name);
    FILE *fp = fopen(in, "wb");
    if (!fp || (n && fwrite(p, 1, n, fp) != n) || fclose(fp) != 0) {
        failures++;
        return;
    }
    int fd = open(in, O_RDONLY | O_CLOEXEC);
    trove_crypt_options co = TROVE_CRYPT_OPTIONS_INIT;
    co.write_flags = TROVE_WRITE_NO_SYNC;
    co.chunk_bytes = 4096;
    co.cipher = cipher;
    co.kdf_ops = FX_KDF_OPS;
    co.kdf_mem = FX_KDF_MEM;
    co.mode = 0644;
    trove_error err;
    if (fd < 0 || trove_encrypt_fd(fd, out, s, &co, &err) != TROVE_OK) {
        fprintf(stderr, "cannot write %s\n", out);
        failures++;
    }
    if (fd >= 0)
        close(fd);
    unlink(in);
}

static trove_value *entries_of_detached(const uint8_t *p, size_t n)
{
    trove_value *v = NULL;
    trove_error err;
    if (n < 8 || trove_value_decode(p + 8, n - 8, NULL, 16, &v, &err) != TROVE_OK)
        return NULL;
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seeds_trust DIR\n");
        return 2;
    }
    root = argv[1];
    char sub[1024];
    snprintf(sub, sizeof sub, "%s/envelope", root);
    mkdir(sub, 0755);
    snprintf(sub, sizeof sub, "%s/signature", root);
    mkdir(sub, 0755);
    trove_error err;
    trove_secret *key = NULL, *pass = NULL;
    if (trove_secret_from_key(&key, FX_KEY, sizeof FX_KEY, &err) != TROVE_OK ||
        trove_secret_from_passphrase(&pass, FX_PASS, strlen(FX_PASS), &err) != TROVE_OK) {
        fprintf(stderr, "secrets: %s\n", err.message);
        return 1;
    }
    size_t mlen = 0, blen = 0;
    uint8_t *model = fx_model(NULL, &mlen), *big = bigger_model(1100, &blen);
    if (!model || !big) {
        fprintf(stderr, "cannot build the fixture models\n");
        return 1;
    }
    /* ---- envelope: ciphertexts of the fixed key / passphrase, and plaintexts to seal ---- */
    envelope("key-1chunk.enc", model, mlen, key, TROVE_CIPHER_XCHACHA20POLY1305);
    envelope("key-2chunks.enc", big, blen, key, TROVE_CIPHER_XCHACHA20POLY1305);
    envelope("pass-1chunk.enc", model, mlen, pass, TROVE_CIPHER_XCHACHA20POLY1305);
    if (crypto_aead_aes256gcm_is_available())
        envelope("aes-2chunks.enc", big, blen, key, TROVE_CIPHER_AES256GCM);
    envelope("key-empty.enc", NULL, 0, key, TROVE_CIPHER_XCHACHA20POLY1305);
    envelope("key-notrove.enc", (const uint8_t *)"not a trove file", 16, key,
             TROVE_CIPHER_XCHACHA20POLY1305);
    save("envelope", "plain.trove", 0xff, model, mlen);

    /* ---- signature: detached files (mode 0), embedded entries (1), signed files (2) ---- */
    trove_signer *good = fx_signer(FX_SEED_TRUSTED), *other = fx_signer(FX_SEED_OTHER);
    trove_file *f = NULL;
    if (!good || !other || trove_open_memory(&f, model, mlen, NULL, &err) != TROVE_OK) {
        fprintf(stderr, "signers or fixture: %s\n", err.message);
        return 1;
    }
    trove_sign_options so = TROVE_SIGN_OPTIONS_INIT;
    so.time = 1700000000;
    uint8_t *d1 = NULL, *d2 = NULL, *d3 = NULL;
    size_t l1 = 0, l2 = 0, l3 = 0;
    so.comment = "trusted";
    if (trove_sign_detached(f, good, NULL, 0, &so, &d1, &l1, &err) != TROVE_OK) {
        fprintf(stderr, "sign: %s\n", err.message);
        return 1;
    }
    so.comment = NULL;
    if (trove_sign_detached(f, other, d1, l1, &so, &d2, &l2, &err) != TROVE_OK ||
        trove_sign_detached(f, other, NULL, 0, &so, &d3, &l3, &err) != TROVE_OK) {
        fprintf(stderr, "sign: %s\n", err.message);
        return 1;
    }
    save("signature", "detached-trusted.sig", 0, d1, l1);
    save("signature", "detached-two.sig", 0, d2, l2);
    save("signature", "detached-other.sig", 0, d3, l3);
    save("signature", "detached-empty.sig", 0, "\xffTRVSIG\n\x80", 9);
    /* embedded: the CBOR array of the two signatures */
    trove_value *arr = entries_of_detached(d2, l2);
    uint8_t *enc = NULL;
    size_t elen = 0;
    if (!arr || trove_value_encode(arr, NULL, &enc, &elen, &err) != TROVE_OK) {
        fprintf(stderr, "cannot encode the entries\n");
        return 1;
    }
    save("signature", "embedded-two.cbor", 1, enc, elen);
    trove_free(NULL, enc);
    /* a signed file: the fixture with the trusted signature embedded */
    size_t slen = 0;
    uint8_t *signed_model = fx_model(entries_of_detached(d1, l1), &slen);
    if (!signed_model) {
        fprintf(stderr, "cannot build the signed model\n");
        return 1;
    }
    save("signature", "signed-file.trove", 2, signed_model, slen);
    trove_value_free(arr);
    free(signed_model);
    trove_free(NULL, d1);
    trove_free(NULL, d2);
    trove_free(NULL, d3);
    trove_close(f);
    trove_signer_free(good);
    trove_signer_free(other);
    free(model);
    free(big);
    trove_secret_free(key);
    trove_secret_free(pass);
    return failures ? 1 : 0;
}
