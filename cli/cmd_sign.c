/* cmd_sign.c: `trove sign` (embed or detach an Ed25519 signature of the model digest) and
 * `trove verify --pubkey` (every byte and the signature, with distinct exit codes). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Whole file into malloc'd memory; NULL when absent (errno ENOENT) or unreadable. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    unsigned char *p = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            if (cap > (64u << 20)) { /* a signature file is small */
                free(p);
                fclose(fp);
                errno = EFBIG;
                return NULL;
            }
            cap = cap ? cap * 2 : 4096;
            unsigned char *np = realloc(p, cap);
            if (!np) {
                free(p);
                fclose(fp);
                return NULL;
            }
            p = np;
        }
        size_t r = fread(p + n, 1, cap - n, fp);
        n += r;
        if (r == 0)
            break;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(p);
        return NULL;
    }
    *len = n;
    return p;
}

/* Write atomically: temp file beside path, fsync, rename. */
static int write_atomic(const char *path, const void *p, size_t n)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return -1;
    int ok = fchmod(fd, 0644) == 0 && write(fd, p, n) == (ssize_t)n && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int load_signer(const char *key, cli_secret_args *sa, trove_signer **s)
{
    trove_error err = {0};
    const char *pass = NULL;
    size_t plen = 0;
    int code = cli_passphrase(sa, 0, "sign", &pass, &plen);
    if (code)
        return code;
    int rc = trove_signer_load(s, key, pass, plen, &err);
    if (rc == TROVE_E_KEY && !pass && strstr(err.message, "sealed") && isatty(0)) {
        sa->pass_prompt = 1; /* a sealed key and a terminal: ask */
        if ((code = cli_passphrase(sa, 0, "sign", &pass, &plen)) != 0)
            return code;
        rc = trove_signer_load(s, key, pass, plen, &err);
    }
    cli_passphrase_wipe();
    return rc ? cli_report("sign", key, &err) : CLI_OK;
}

int cli_cmd_sign(int argc, char **argv)
{
    const char *file = NULL, *key = NULL, *out = NULL, *comment = NULL;
    int detached = 0, nosync = 0;
    cli_secret_args sa = {0}, fa = {0}; /* the signing key's passphrase; FILE's own key */
    fa.prompt = "Passphrase of the encrypted file: ";
    for (int i = 1; i < argc; i++) {
        int r;
        if (cli_is_help(argv[i])) {
            printf("usage: trove sign FILE --key NAME.key [--detached] [-o OUT] [--comment TEXT]\n"
                   "                 [--passphrase | --passphrase-fd N | --passphrase-env VAR]\n"
                   "                 [--file-key K.key | --file-key-env VAR | --file-passphrase |\n"
                   "                  --file-passphrase-fd N | --file-passphrase-env VAR]"
                   "\n\nVerify every checksum of FILE, then sign its model digest (metadata and "
                   "every tensor's\nBLAKE2b digest) with the Ed25519 key. The signature is "
                   "embedded in FILE (or OUT),\nrewritten atomically; other signers' signatures "
                   "are kept. --detached writes FILE.sig\n(or OUT) instead and leaves FILE "
                   "byte-identical. A sealed key asks for its passphrase\n(--passphrase*).\n\n"
                   "An encrypted FILE is signed with its own key given by the --file-* options: "
                   "it is\ndecrypted into wiped memory, signed, and written encrypted again "
                   "with the same key,\ncipher, chunk size and Argon2id cost (new nonces and "
                   "salt); no plaintext reaches the\ndisk. A detached signature of it signs "
                   "the plaintext's digest.\n\nexit codes: 0 "
                   "signed, 1 malformed file, 2 usage, 3 i/o, 4 a checksum fails or the\n"
                   "encrypted file was altered (nothing is signed), 6 wrong passphrase, not a "
                   "secret key,\nor a wrong key for the encrypted file.\n");
            return CLI_OK;
        } else if (!strcmp(argv[i], "--key") && i + 1 < argc) {
            key = argv[++i];
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--comment") && i + 1 < argc) {
            comment = argv[++i];
        } else if (!strcmp(argv[i], "--detached")) {
            detached = 1;
        } else if (!strcmp(argv[i], "--no-sync")) {
            nosync = 1;
        } else if ((r = cli_file_secret_option(argc, argv, &i, &fa)) != 0) {
            if (r < 0)
                return CLI_USAGE;
        } else if ((r = cli_secret_option(argc, argv, &i, &sa)) != 0) {
            if (r < 0 || sa.key_env)
                return CLI_USAGE;
        } else if (argv[i][0] == '-' || file) {
            fprintf(stderr, "trove sign: unexpected argument '%s' (try --help)\n", argv[i]);
            return CLI_USAGE;
        } else {
            file = argv[i];
        }
    }
    if (!file || !key) {
        fprintf(stderr, "usage: trove sign FILE --key NAME.key [--detached] [-o OUT]\n");
        return CLI_USAGE;
    }
    int encrypted = trove_is_encrypted(file);
    if (encrypted && !cli_secret_given(&fa)) {
        fprintf(stderr, "trove sign: %s is encrypted: give its key with --file-key NAME.key, "
                        "--file-key-env VAR or --file-passphrase[-fd N|-env VAR] (it is signed "
                        "and stays encrypted)\n", file);
        return CLI_USAGE;
    }
    if (!encrypted && cli_secret_given(&fa)) {
        fprintf(stderr, "trove sign: %s is not encrypted: the --file-* key options are for "
                        "encrypted files (sign, then 'trove encrypt')\n", file);
        return CLI_USAGE;
    }
    trove_signer *s = NULL;
    int code = load_signer(key, &sa, &s);
    if (code)
        return code;
    trove_error err = {0};
    trove_file *f = NULL;
    trove_secret *fs = NULL;
    trove_crypt_options co = TROVE_CRYPT_OPTIONS_INIT;
    if (encrypted) { /* the same envelope again: cipher, chunk size, Argon2id cost */
        trove_encrypted_info info;
        int rc0 = trove_encrypted_probe(file, &info, &err);
        if (rc0 == TROVE_OK) {
            co.cipher = info.cipher;
            co.chunk_bytes = info.chunk_bytes;
            co.kdf_ops = info.kdf_ops;
            co.kdf_mem = info.kdf_mem;
            co.write_flags = nosync ? TROVE_WRITE_NO_SYNC : 0;
        } else {
            trove_signer_free(s);
            return cli_report("sign", file, &err);
        }
        if ((code = cli_secret_load(&fa, 0, "sign", &fs)) != 0) {
            trove_signer_free(s);
            return code;
        }
        rc0 = trove_open_encrypted(&f, file, fs, NULL, NULL, &err);
        if (rc0 != TROVE_OK) {
            trove_secret_free(fs);
            trove_signer_free(s);
            cli_report("sign", file, &err);
            return rc0 == TROVE_E_DECRYPT ? CLI_CHECKSUM : cli_exit_code(rc0);
        }
    } else if (trove_open(&f, file, NULL, &err) != TROVE_OK) {
        trove_signer_free(s);
        return cli_report("sign", file, &err);
    }
    trove_sign_options so = TROVE_SIGN_OPTIONS_INIT;
    so.comment = comment;
    so.write_flags = nosync ? TROVE_WRITE_NO_SYNC : 0;
    so.secret = fs; /* NULL for a plain file */
    so.crypt = &co;
    int rc;
    char sigpath[4200];
    if (detached) {
        snprintf(sigpath, sizeof sigpath, "%s", out ? out : file);
        if (!out)
            strncat(sigpath, ".sig", sizeof sigpath - strlen(sigpath) - 1);
        size_t elen = 0;
        errno = 0;
        unsigned char *existing = slurp(sigpath, &elen);
        if (!existing && errno != ENOENT) {
            fprintf(stderr, "trove sign: %s: cannot read: %s\n", sigpath, strerror(errno));
            trove_close(f);
            trove_secret_free(fs);
            trove_signer_free(s);
            return CLI_IO;
        }
        uint8_t *sig = NULL;
        size_t slen = 0;
        rc = trove_sign_detached(f, s, existing, elen, &so, &sig, &slen, &err);
        free(existing);
        if (rc == TROVE_OK && write_atomic(sigpath, sig, slen) != 0) {
            fprintf(stderr, "trove sign: %s: cannot write: %s\n", sigpath, strerror(errno));
            trove_free(NULL, sig);
            trove_close(f);
            trove_secret_free(fs);
            trove_signer_free(s);
            return CLI_IO;
        }
        trove_free(NULL, sig);
    } else {
        rc = trove_sign(f, out ? out : file, s, &so, &err);
    }
    trove_close(f);
    trove_secret_free(fs);
    trove_pubkey pk;
    trove_signer_public(s, &pk);
    trove_signer_free(s);
    if (rc)
        return cli_report("sign", file, &err);
    char hex[2 * TROVE_KEY_ID_BYTES + 1];
    printf("%s: signed by key %s", detached ? sigpath : out ? out : file,
           cli_hex(pk.id, TROVE_KEY_ID_BYTES, hex));
    if (detached)
        printf(" (detached, for %s%s)", file, encrypted ? ", its plaintext" : "");
    else if (encrypted)
        printf(" (still encrypted)");
    printf("\n");
    return CLI_OK;
}

/* ---- trove verify --pubkey -------------------------------------------------------------------- */
int cli_signature_exit(int rc, const trove_verify_result *res)
{
    if (rc == TROVE_E_SIGNATURE)
        return res->status == TROVE_SIG_UNSIGNED      ? CLI_UNSIGNED
               : res->status == TROVE_SIG_UNKNOWN_KEY ? CLI_UNKNOWN_SIGNER
                                                      : CLI_SIGNATURE;
    if (rc == TROVE_E_DECRYPT)
        return CLI_CHECKSUM; /* tampered ciphertext is damaged content */
    return cli_exit_code(rc);
}

int cli_verify_signed(int argc, char **argv)
{
    trove_pubkey keys[64];
    size_t nkeys = 0;
    const char *files[256], *sigfile = NULL;
    int nfiles = 0, detached = 0;
    cli_secret_args sa = {0};
    trove_error err = {0};
    for (int i = 1; i < argc; i++) {
        int r;
        if (!strcmp(argv[i], "--pubkey") && i + 1 < argc) {
            if (nkeys == sizeof keys / sizeof keys[0]) {
                fprintf(stderr, "trove verify: too many --pubkey\n");
                return CLI_USAGE;
            }
            if (trove_pubkey_load(&keys[nkeys], argv[++i], &err) != TROVE_OK)
                return cli_report("verify", argv[i], &err);
            nkeys++;
        } else if (!strcmp(argv[i], "--sig") && i + 1 < argc) {
            sigfile = argv[++i];
        } else if (!strcmp(argv[i], "--detached")) {
            detached = 1;
        } else if ((r = cli_secret_option(argc, argv, &i, &sa)) != 0) {
            if (r < 0)
                return CLI_USAGE;
        } else if (argv[i][0] == '-' || nfiles == 256) {
            fprintf(stderr, "trove verify: unexpected argument '%s'\n", argv[i]);
            return CLI_USAGE;
        } else {
            files[nfiles++] = argv[i];
        }
    }
    if (!nkeys || !nfiles || (sigfile && nfiles != 1)) {
        fprintf(stderr, "usage: trove verify FILE... --pubkey NAME.pub [--pubkey ...] "
                        "[--detached | --sig FILE.sig]\n");
        return CLI_USAGE;
    }
    trove_secret *secret = NULL;
    if (sa.key_file || sa.key_env || cli_secret_has_passphrase(&sa)) {
        int code = cli_secret_load(&sa, 0, "verify", &secret);
        if (code)
            return code;
    }
    int worst = CLI_OK;
    for (int k = 0; k < nfiles; k++) {
        const char *file = files[k];
        unsigned char *det = NULL;
        size_t dlen = 0;
        char sp[4200];
        if (sigfile || detached) {
            snprintf(sp, sizeof sp, "%s%s", sigfile ? sigfile : file, sigfile ? "" : ".sig");
            if (!(det = slurp(sp, &dlen))) {
                fprintf(stderr, "trove verify: %s: cannot read the signature file: %s\n", sp,
                        strerror(errno));
                if (!worst)
                    worst = CLI_IO;
                continue;
            }
        }
        trove_trust_options t = TROVE_TRUST_OPTIONS_INIT;
        t.flags = TROVE_TRUST_REQUIRE_SIGNATURE;
        t.keys = keys;
        t.nkeys = nkeys;
        t.detached = det;
        t.detached_len = dlen;
        t.secret = secret;
        trove_verify_result res;
        memset(&res, 0, sizeof res);
        trove_file *f = NULL;
        int rc = trove_open_trusted(&f, file, NULL, &t, &res, &err);
        free(det);
        if (rc) {
            cli_report("verify", file, &err);
            if (!worst)
                worst = cli_signature_exit(rc, &res);
            continue;
        }
        char hex[2 * TROVE_KEY_ID_BYTES + 1], dh[2 * TROVE_DIGEST_BYTES + 1], when[64] = "";
        time_t tt = (time_t)res.time;
        struct tm tmv;
        if (res.time && gmtime_r(&tt, &tmv))
            strftime(when, sizeof when, " on %Y-%m-%d %H:%M:%S UTC", &tmv);
        printf("%s: ok: every checksum holds; signed by trusted key %s%s (%u of %u signatures "
               "verified)\n  model digest %s\n", file, cli_hex(res.key_id, TROVE_KEY_ID_BYTES, hex),
               when, res.valid, res.signatures, cli_hex(res.digest, TROVE_DIGEST_BYTES, dh));
        trove_close(f);
    }
    trove_secret_free(secret);
    return worst;
}
