/* bench_security.c: the cost of trust on a 1 GiB model (16 x 64 MiB float32): sign, verify,
 * encrypt, decrypt (to a file and into memory), beside the limits measured in the same run:
 * libsodium's raw BLAKE2b and raw AEAD (XChaCha20-Poly1305, AES-256-GCM) over the same bytes in
 * memory, and `openssl enc` (unauthenticated stream ciphers) where installed. Alternating
 * rounds, medians, ratios. Usage: bench_security DIR [ROUNDS] */
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "trove.h"
#include "core/internal.h" /* trove__blake2b_256, for the reference row */

#define NT 16
#ifndef TBYTES
#define TBYTES (UINT64_C(64) << 20)
#endif
#define TOTAL (NT * TBYTES)
#define MAXR 15

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds of this process (all threads) and of waited-for children (openssl). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 + (double)ru.ru_utime.tv_sec +
           (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

/* PERF-FACTS suggests touching ~3 GiB of anonymous memory before each 1 GiB run. Measured here
 * (2026-11-29), that hurts the runs that write a file: it takes the page-cache pages the previous
 * output freed, and a plain 1 GiB write() then took 0.35-2.1 s instead of 0.11-0.14 s. Fresh
 * anonymous memory itself is not helped either (1 GiB first touch 3.3-3.6 s with or without it:
 * every first user-space touch of a page traps to the host on this VM, 1.8 s/GiB even after
 * MAP_POPULATE). So the only warming kept is prewrite() below. */
/* The page cache's allocator too: writing a new 1 GiB file right after a quiet spell costs 2-10x
 * more here than in steady state (the VM backs the free pages again; measured: a plain 1 GiB
 * copy 2.2-2.6 CPU s cold, 0.2-0.5 warm). Write and delete a scratch file of the same size in the
 * directory of the output (untimed), so that every contender that writes a file, the copy floor
 * and openssl included, starts from the same warm state. */
static const char *scratch_dir;
static void prewrite(void)
{
    static char buf[1 << 20];
    char path[4200];
    snprintf(path, sizeof path, "%s/prewrite.tmp", scratch_dir);
    memset(buf, 7, sizeof buf);
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return;
    for (int i = 0; i < 1100; i++)
        if (fwrite(buf, 1, sizeof buf, fp) != sizeof buf)
            break;
    fclose(fp);
    unlink(path);
}

static void die(const char *what, const trove_error *err)
{
    fprintf(stderr, "bench_security: %s: %s\n", what, err ? err->message : "failed");
    exit(1);
}

static void warm(const char *path)
{
    FILE *fp = fopen(path, "rb");
    static char buf[1 << 20];
    if (!fp)
        return;
    while (fread(buf, 1, sizeof buf, fp) == sizeof buf)
        ;
    fclose(fp);
}

static uint8_t *model_bytes;
static const char *p_model_ref;

static void write_model(const char *path)
{
    trove_error err = {0};
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    trove_writer *w = NULL;
    if (trove_writer_open(&w, path, &wo, &err))
        die("writer", &err);
    trove_value *m = trove_value_map(NULL);
    if (trove_value_map_set(m, "kind", trove_value_cstring(NULL, "tensors")) ||
        trove_writer_set_metadata(w, m, &err))
        die("metadata", &err);
    float *x = malloc(TBYTES);
    uint32_t s = 12345;
    for (int t = 0; t < NT; t++) {
        for (size_t i = 0; i < TBYTES / 4; i++) {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            x[i] = (float)(s >> 8) * (1.0f / 16777216.0f) - 0.5f;
        }
        char name[32];
        snprintf(name, sizeof name, "layer%02d.weight", t);
        uint64_t shape[2] = {TBYTES / 16384, 4096};
        trove_tensor_spec sp = {name, TROVE_FLOAT32, 2, shape, 0, 0};
        if (trove_writer_add(w, &sp, x, &err))
            die("add", &err);
    }
    free(x);
    if (trove_writer_commit(w, &err))
        die("commit", &err);
    trove_writer_free(w);
}

/* ---- references ------------------------------------------------------------------------------ */
static double raw_blake2b(void)
{
    uint8_t out[32];
    double t = now();
    crypto_generichash(out, 32, model_bytes, TOTAL, NULL, 0);
    return now() - t;
}

typedef struct half { const uint8_t *p; uint64_t n; } half;
static void *hash_half(void *arg)
{
    half *h = arg;
    uint8_t out[32];
    for (uint64_t off = 0; off < h->n; off += UINT64_C(4) << 20)
        crypto_generichash(out, 32, h->p + off, UINT64_C(4) << 20, NULL, 0);
    return NULL;
}
/* The same hash as trove computes it (src/core/blake2b.c, which the format's digests use):
 * what verify and sign are made of, beside libsodium's, the reference. */
static double raw_blake2b_own(void)
{
    uint8_t out[32];
    double t = now();
    trove__blake2b_256(model_bytes, TOTAL, NULL, 0, out);
    return now() - t;
}
static double raw_blake2b_2t(void)
{
    half a = {model_bytes, TOTAL / 2}, b = {model_bytes + TOTAL / 2, TOTAL / 2};
    pthread_t th;
    double t = now();
    pthread_create(&th, NULL, hash_half, &b);
    hash_half(&a);
    pthread_join(th, NULL);
    return now() - t;
}

static uint8_t *ct;
static double raw_aead(int aes)
{
    uint8_t key[32] = {1}, nonce[24] = {0};
    crypto_aead_aes256gcm_state st;
    if (aes)
        crypto_aead_aes256gcm_beforenm(&st, key);
    const uint64_t C = 1 << 20;
    double t = now();
    for (uint64_t i = 0; i < TOTAL / C; i++) {
        memcpy(nonce, &i, 8);
        if (aes)
            crypto_aead_aes256gcm_encrypt_afternm(ct + i * (C + 16), NULL, model_bytes + i * C, C,
                                                  NULL, 0, NULL, nonce, &st);
        else
            crypto_aead_xchacha20poly1305_ietf_encrypt(ct + i * (C + 16), NULL,
                                                       model_bytes + i * C, C, NULL, 0, NULL,
                                                       nonce, key);
    }
    return now() - t;
}

/* The floors of the file and memory work around the crypto, on this machine, same run. */
static char p_copy[512];
static double raw_copy(void) /* read + write 1 GiB through the page cache, no fsync */
{
    static char buf[8 << 20];
    double t = now();
    FILE *in = fopen(p_model_ref, "rb"), *out = fopen(p_copy, "wb");
    if (!in || !out)
        die("copy", NULL);
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            die("copy write", NULL);
    fclose(in);
    fclose(out);
    return now() - t;
}

static double raw_copy_sync(void) /* the same, then fsync: what a durable write costs */
{
    static char buf[8 << 20];
    double t = now();
    int in = open(p_model_ref, O_RDONLY), out = open(p_copy, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0)
        die("copy", NULL);
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            die("copy write", NULL);
    if (fsync(out) != 0)
        die("fsync", NULL);
    close(in);
    close(out);
    return now() - t;
}

static double raw_fresh(void) /* first touch of 1 GiB of fresh memory, then free */
{
    double t = now();
    char *p = malloc(TOTAL);
    if (!p)
        die("malloc", NULL);
    memset(p, 1, TOTAL);
    __asm__ volatile("" ::"r"(p) : "memory");
    free(p);
    return now() - t;
}

static double run_cmd(const char *cmd)
{
    double t = now();
    if (system(cmd) != 0)
        return -1;
    return now() - t;
}

/* ---- ours -------------------------------------------------------------------------------------- */
static char p_model[512], p_signed[512], p_enc[512], p_dec[512], p_aes[512], p_ossl[512];
static trove_signer *signer;
static trove_pubkey pub;
static trove_secret *secret;

static double t_sign(void)
{
    trove_error err = {0};
    trove_file *f = NULL;
    double t = now();
    if (trove_open(&f, p_model, NULL, &err))
        die("open", &err);
    trove_sign_options so = TROVE_SIGN_OPTIONS_INIT;
    so.write_flags = TROVE_WRITE_NO_SYNC;
    if (trove_sign(f, p_signed, signer, &so, &err))
        die("sign", &err);
    trove_close(f);
    return now() - t;
}

static double t_verify(void)
{
    trove_error err = {0};
    trove_file *f = NULL;
    double t = now();
    if (trove_open_signed(&f, p_signed, NULL, &pub, 1, &err))
        die("verify", &err);
    trove_close(f);
    return now() - t;
}

/* durable: 1 = the default (fsync before the rename), 0 = TROVE_WRITE_NO_SYNC */
static int durable;
static void set_durable(trove_crypt_options *co)
{
    co->write_flags = durable ? 0 : TROVE_WRITE_NO_SYNC;
}

static double t_encrypt(int aes)
{
    trove_error err = {0};
    trove_crypt_options co = TROVE_CRYPT_OPTIONS_INIT;
    set_durable(&co);
    co.cipher = aes ? TROVE_CIPHER_AES256GCM : TROVE_CIPHER_XCHACHA20POLY1305;
    double t = now();
    if (trove_encrypt_file(p_model, aes ? p_aes : p_enc, secret, &co, &err))
        die("encrypt", &err);
    return now() - t;
}

static double t_decrypt(int aes)
{
    trove_error err = {0};
    trove_crypt_options co = TROVE_CRYPT_OPTIONS_INIT;
    set_durable(&co);
    double t = now();
    if (trove_decrypt_file(aes ? p_aes : p_enc, p_dec, secret, &co, &err))
        die("decrypt", &err);
    return now() - t;
}

static double t_open_encrypted(void)
{
    trove_error err = {0};
    trove_file *f = NULL;
    double t = now();
    if (trove_open_encrypted(&f, p_enc, secret, NULL, NULL, &err))
        die("open_encrypted", &err);
    trove_close(f); /* includes wiping 1 GiB of plaintext */
    return now() - t;
}

enum { B_HASH, B_HASH2, B_HASH_OWN, B_XCHACHA, B_AES, B_COPY, B_COPY_SYNC, B_FRESH, B_SIGN, B_VERIFY, B_ENC,
       B_DEC, B_ENC_AES, B_DEC_AES, B_ENC_DUR, B_DEC_DUR, B_OPEN_ENC, B_OSSL_CHACHA, B_OSSL_AES,
       B_N };
static const char *names[B_N] = {
    "raw BLAKE2b, 1 thread (memory)", "raw BLAKE2b, 2 threads (memory)",
    "raw BLAKE2b, trove's own (core/blake2b.c)",
    "raw XChaCha20-Poly1305 (memory)", "raw AES-256-GCM (memory)",
    "floor: copy file (read+write, page cache)", "floor: copy file + fsync (durable)",
    "floor: first touch of 1 GiB fresh memory",
    "trove sign (open+verify+digest+rewrite)", "trove verify (open+checksums+digest+sig)",
    "trove encrypt xchacha (file->file)", "trove decrypt xchacha (file->file)",
    "trove encrypt aes256gcm (file->file)", "trove decrypt aes256gcm (file->file)",
    "trove encrypt xchacha, durable (default)", "trove decrypt xchacha, durable (default)",
    "trove open encrypted (into memory)", "openssl enc -chacha20 (no MAC)",
    "openssl enc -aes-256-ctr (no MAC)"};

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_security DIR [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (rounds < 1 || rounds > MAXR)
        rounds = 5;
    if (sodium_init() < 0)
        return 1;
    const char *d = argv[1];
    scratch_dir = d;
    snprintf(p_model, sizeof p_model, "%s/model.trove", d);
    snprintf(p_signed, sizeof p_signed, "%s/signed.trove", d);
    snprintf(p_enc, sizeof p_enc, "%s/model.enc", d);
    snprintf(p_aes, sizeof p_aes, "%s/model-aes.enc", d);
    snprintf(p_dec, sizeof p_dec, "%s/model.dec", d);
    snprintf(p_ossl, sizeof p_ossl, "%s/model.ossl", d);
    snprintf(p_copy, sizeof p_copy, "%s/model.copy", d);
    p_model_ref = p_model;
    write_model(p_model);
    trove_error err = {0};
    if (trove_signer_generate(&signer, &err) || trove_secret_generate(&secret, &err))
        die("keys", &err);
    trove_signer_public(signer, &pub);
    int have_aes = crypto_aead_aes256gcm_is_available();
    int have_ossl = system("command -v openssl >/dev/null 2>&1") == 0;
    model_bytes = malloc(TOTAL);
    ct = malloc(TOTAL + (TOTAL >> 20) * 16);
    FILE *fp = fopen(p_model, "rb");
    if (!model_bytes || !ct || !fp || fread(model_bytes, 1, TOTAL, fp) != TOTAL)
        die("read model", NULL);
    fclose(fp);
    memset(ct, 0, TOTAL + (TOTAL >> 20) * 16);
    char ossl_chacha[1400], ossl_aes[1400];
    snprintf(ossl_chacha, sizeof ossl_chacha,
             "openssl enc -chacha20 -K %064d -iv %032d -in '%s' -out '%s'", 1, 2, p_model, p_ossl);
    snprintf(ossl_aes, sizeof ossl_aes,
             "openssl enc -aes-256-ctr -K %064d -iv %032d -in '%s' -out '%s'", 1, 2, p_model,
             p_ossl);
    double t[B_N][MAXR], c[B_N][MAXR], pair[B_N][MAXR];
    memset(pair, 0, sizeof pair);
    memset(t, 0, sizeof t);
    memset(c, 0, sizeof c);
    printf("bench_security: 1 GiB model (16 x 64 MiB float32), %d rounds, load %s", rounds, "");
    fflush(stdout);
    if (system("cut -d' ' -f1-3 /proc/loadavg") != 0)
        printf("\n");
    for (int r = 0; r < rounds; r++) {
        fprintf(stderr, "round %d/%d\n", r + 1, rounds);
        for (int b = 0; b < B_N; b++) {
            if ((b == B_AES || b == B_ENC_AES || b == B_DEC_AES) && !have_aes)
                continue;
            if ((b == B_OSSL_CHACHA || b == B_OSSL_AES) && !have_ossl)
                continue;
            /* The input in the page cache first (reading it, when it was evicted, takes
             * fresh pages), then fresh memory and the page-cache allocator warmed. */
            int dec = b == B_DEC || b == B_DEC_DUR || b == B_OPEN_ENC;
            if (b >= B_COPY)
                warm(b == B_VERIFY ? p_signed : dec ? p_enc
                                                : b == B_DEC_AES             ? p_aes
                                                                             : p_model);
            /* The previous output is removed first (untimed), for every contender alike: trove
             * replaces a file atomically (temporary + rename), so the old one would still hold
             * 1 GiB of page cache while the new one is written, and here that means 1 GiB of
             * fresh pages (measured: encrypt 0.8-0.9 s into a new name, 1.3-2.2 s over an old
             * file) where a truncating copy reuses the pages it frees. */
            const char *out = b == B_COPY || b == B_COPY_SYNC     ? p_copy
                              : b == B_SIGN                       ? p_signed
                              : b == B_ENC || b == B_ENC_DUR      ? p_enc
                              : b == B_ENC_AES                    ? p_aes
                              : b == B_DEC || b == B_DEC_DUR ||
                                        b == B_DEC_AES            ? p_dec
                              : b == B_OSSL_CHACHA || b == B_OSSL_AES ? p_ossl
                                                                  : NULL;
            if (out)
                unlink(out);
            sync(); /* the previous contender's dirty pages are not written back during this one */
            if (b == B_COPY || b == B_COPY_SYNC || (b >= B_SIGN && b != B_VERIFY && b != B_OPEN_ENC))
                prewrite(); /* these write a 1 GiB file */
            durable = b == B_ENC_DUR || b == B_DEC_DUR;
            double s, c0 = cpu_now();
            switch (b) {
            case B_HASH: s = raw_blake2b(); break;
            case B_HASH2: s = raw_blake2b_2t(); break;
            case B_HASH_OWN: s = raw_blake2b_own(); break;
            case B_XCHACHA: s = raw_aead(0); break;
            case B_AES: s = raw_aead(1); break;
            case B_COPY: s = raw_copy(); break;
            case B_COPY_SYNC: s = raw_copy_sync(); break;
            case B_ENC_DUR: s = t_encrypt(0); break;
            case B_DEC_DUR: s = t_decrypt(0); break;
            case B_FRESH: s = raw_fresh(); break;
            case B_SIGN: s = t_sign(); break;
            case B_VERIFY: s = t_verify(); break;
            case B_ENC: s = t_encrypt(0); break;
            case B_DEC: s = t_decrypt(0); break;
            case B_ENC_AES: s = t_encrypt(1); break;
            case B_DEC_AES: s = t_decrypt(1); break;
            case B_OPEN_ENC: s = t_open_encrypted(); break;
            case B_OSSL_CHACHA: s = run_cmd(ossl_chacha); break;
            default: s = run_cmd(ossl_aes); break;
            }
            t[b][r] = s;
            c[b][r] = cpu_now() - c0;
            /* Paired reference: the raw primitive again, right after (the host's speed drifts
             * by 2x within a run here: a ratio of medians taken minutes apart mixes that in). */
            int ref = b == B_VERIFY ? B_HASH
                      : b == B_ENC || b == B_DEC || b == B_ENC_DUR || b == B_DEC_DUR ||
                                b == B_OPEN_ENC
                          ? B_XCHACHA
                          : -1;
            if (ref >= 0 && s > 0) {
                sync(); /* not timed: a no-fsync run's writeback would slow the reference */
                pair[b][r] = (ref == B_HASH ? raw_blake2b() : raw_aead(0)) / s;
            }
        }
    }
    double med[B_N], cmed[B_N];
    printf("\n%-44s %9s %7s %8s %9s %9s\n", "operation on 1 GiB (1.074 GB)", "median s", "GB/s",
           "min s", "CPU s", "GB/CPU-s");
    for (int b = 0; b < B_N; b++) {
        double v[MAXR], w[MAXR];
        memcpy(v, t[b], sizeof v);
        memcpy(w, c[b], sizeof w);
        qsort(v, (size_t)rounds, sizeof v[0], cmpd);
        qsort(w, (size_t)rounds, sizeof w[0], cmpd);
        med[b] = v[rounds / 2];
        cmed[b] = w[rounds / 2];
        if (med[b] <= 0) {
            printf("%-44s %9s\n", names[b], "n/a");
            continue;
        }
        printf("%-44s %9.3f %7.2f %8.3f %9.3f %9.2f\n", names[b], med[b],
               (double)TOTAL / med[b] / 1e9, v[0], cmed[b], (double)TOTAL / cmed[b] / 1e9);
    }
    printf("(CPU s: all threads of the process, and openssl's; the wall clock suffers when the\n"
           " machine is shared, CPU time much less)\n");
    printf("\nCPU cost ratios, raw / trove (1.00 = trove costs no more CPU than the bare "
           "primitive):\n");
    printf("  verify  vs BLAKE2b %.2f, sign vs BLAKE2b %.2f, encrypt vs XChaCha20-Poly1305 %.2f, "
           "decrypt %.2f, open encrypted %.2f\n", cmed[B_HASH] / cmed[B_VERIFY],
           cmed[B_HASH] / cmed[B_SIGN], cmed[B_XCHACHA] / cmed[B_ENC],
           cmed[B_XCHACHA] / cmed[B_DEC], cmed[B_XCHACHA] / cmed[B_OPEN_ENC]);
    /* A file->file transform on one core cannot beat 1/(1/aead + 1/copy); with both cores and
     * perfect overlap, min(aead, copy). Into memory: 1/(1/aead + 1/fresh). */
    printf("\nserial limits (one core, no overlap): XChaCha20-Poly1305 + copy %.2f GB/s, "
           "+ fresh memory %.2f GB/s\n", (double)TOTAL / (med[B_XCHACHA] + med[B_COPY]) / 1e9,
           (double)TOTAL / (med[B_XCHACHA] + med[B_FRESH]) / 1e9);
    printf("  encrypt / that limit %.2f, decrypt to file %.2f, open encrypted (memory) %.2f\n",
           (med[B_XCHACHA] + med[B_COPY]) / med[B_ENC], (med[B_XCHACHA] + med[B_COPY]) / med[B_DEC],
           (med[B_XCHACHA] + med[B_FRESH]) / med[B_OPEN_ENC]);
    printf("\npaired ratios (raw primitive run right after each trove run; median over rounds of "
           "raw s / trove s; target >= 0.80):\n");
    const int paired[] = {B_VERIFY, B_ENC, B_DEC, B_ENC_DUR, B_DEC_DUR, B_OPEN_ENC};
    for (size_t i = 0; i < sizeof paired / sizeof paired[0]; i++) {
        int b = paired[i];
        double v[MAXR];
        memcpy(v, pair[b], sizeof v);
        qsort(v, (size_t)rounds, sizeof v[0], cmpd);
        printf("  %-44s %.2f  (rounds:", names[b], v[rounds / 2]);
        for (int r = 0; r < rounds; r++)
            printf(" %.2f", pair[b][r]);
        printf(")\n");
    }
    printf("\nratios of medians (target >= 0.80):\n");
    printf("  verify  / raw BLAKE2b 1 thread       %.2f   (2 threads: %.2f)\n",
           med[B_HASH] / med[B_VERIFY], med[B_HASH2] / med[B_VERIFY]);
    printf("  verify  / trove's own BLAKE2b, 1 thread %.2f (libsodium / trove's own: %.2f)\n",
           med[B_HASH_OWN] / med[B_VERIFY], med[B_HASH] / med[B_HASH_OWN]);
    printf("  sign    / raw BLAKE2b 1 thread       %.2f\n", med[B_HASH] / med[B_SIGN]);
    printf("  encrypt / raw XChaCha20-Poly1305     %.2f\n", med[B_XCHACHA] / med[B_ENC]);
    printf("  decrypt / raw XChaCha20-Poly1305     %.2f   (into memory: %.2f)\n",
           med[B_XCHACHA] / med[B_DEC], med[B_XCHACHA] / med[B_OPEN_ENC]);
    printf("  durable (the default): encrypt %.2f, decrypt %.2f (copy + fsync alone: %.2f)\n",
           med[B_XCHACHA] / med[B_ENC_DUR], med[B_XCHACHA] / med[B_DEC_DUR],
           med[B_XCHACHA] / med[B_COPY_SYNC]);
    if (have_aes)
        printf("  encrypt / raw AES-256-GCM            %.2f\n  decrypt / raw AES-256-GCM       "
               "     %.2f\n", med[B_AES] / med[B_ENC_AES], med[B_AES] / med[B_DEC_AES]);
    if (have_ossl)
        printf("  encrypt xchacha / openssl chacha20   %.2f   (openssl enc has no MAC)\n",
               med[B_OSSL_CHACHA] / med[B_ENC]);
    unlink(p_model);
    unlink(p_signed);
    unlink(p_enc);
    unlink(p_aes);
    unlink(p_dec);
    unlink(p_ossl);
    unlink(p_copy);
    trove_signer_free(signer);
    trove_secret_free(secret);
    free(model_bytes);
    free(ct);
    return 0;
}
