/* cmd_encrypt.c: `trove encrypt` and `trove decrypt` (chunked authenticated encryption with a
 * key file, a key in a variable or a passphrase), and what `trove inspect` shows of an
 * encrypted file: only its public facts. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int crypt_exit(int rc)
{
    return rc == TROVE_E_DECRYPT ? CLI_CHECKSUM : cli_exit_code(rc);
}

static void crypt_usage(FILE *out, int enc)
{
    if (enc)
        fprintf(out,
                "usage: trove encrypt FILE [-o OUT] (--key NAME.key | --key-env VAR | --passphrase |\n"
                "                     --passphrase-fd N | --passphrase-env VAR)\n"
                "                     [--cipher xchacha20poly1305|aes256gcm] [--chunk BYTES]\n"
                "                     [--kdf-ops N] [--kdf-mem BYTES] [--no-sync]\n\n"
                "Encrypt the trove file FILE into OUT (default FILE.enc; mode 0600, written "
                "atomically)\nin authenticated chunks (default XChaCha20-Poly1305, 1 MiB). A "
                "passphrase is stretched with\nArgon2id (default cost: libsodium MODERATE, "
                "256 MiB); keys come from 'trove keygen --symmetric'\nor a variable holding "
                "64 hex digits. Passphrases are never taken from the command line.\n\n"
                "exit codes: 0 ok, 1 not a trove file or already encrypted, 2 usage, 3 i/o, "
                "6 bad key.\n");
    else
        fprintf(out,
                "usage: trove decrypt FILE -o OUT (--key NAME.key | --key-env VAR | --passphrase |\n"
                "                     --passphrase-fd N | --passphrase-env VAR) [--no-sync]\n\n"
                "Decrypt FILE into OUT (mode 0600, atomically). Every chunk is authenticated; on "
                "any failure\nnothing is left at OUT.\n\nexit codes: 0 ok, 1 not an encrypted "
                "file, 2 usage, 3 i/o, 4 altered, reordered or\ntruncated content, 6 wrong key "
                "or passphrase.\n");
}

/* --cipher, --chunk, --kdf-ops, --kdf-mem: 1 consumed, 0 not one of them, -1 usage error. */
static int envelope_option(int argc, char **argv, int *i, const char *cmd, trove_crypt_options *co)
{
    const char *o = argv[*i];
    if (strcmp(o, "--cipher") && strcmp(o, "--chunk") && strcmp(o, "--kdf-ops") &&
        strcmp(o, "--kdf-mem"))
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "trove %s: %s needs a value\n", cmd, o);
        return -1;
    }
    const char *v = argv[++*i];
    if (!strcmp(o, "--cipher")) {
        co->cipher = !strcmp(v, "xchacha20poly1305") ? TROVE_CIPHER_XCHACHA20POLY1305
                     : !strcmp(v, "aes256gcm")        ? TROVE_CIPHER_AES256GCM
                                                      : 0;
        if (!co->cipher) {
            fprintf(stderr, "trove %s: unknown cipher '%s'\n", cmd, v);
            return -1;
        }
        return 1;
    }
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end || !*v || n == 0 || (!strcmp(o, "--chunk") && n > UINT32_MAX)) {
        fprintf(stderr, "trove %s: %s needs a positive number, not '%s'\n", cmd, o, v);
        return -1;
    }
    if (!strcmp(o, "--chunk"))
        co->chunk_bytes = (uint32_t)n;
    else if (!strcmp(o, "--kdf-ops"))
        co->kdf_ops = n;
    else
        co->kdf_mem = n;
    return 1;
}

int cli_encrypt_option(int argc, char **argv, int *i, const char *cmd, cli_encrypt_args *a)
{
    if (!strcmp(argv[*i], "--encrypt")) {
        a->encrypt = 1;
        return 1;
    }
    int r = envelope_option(argc, argv, i, cmd, &a->co);
    if (r) {
        a->envelope = 1;
        return r;
    }
    return cli_secret_option(argc, argv, i, &a->secret);
}

int cli_encrypt_secret(const cli_encrypt_args *a, const char *cmd, trove_secret **out)
{
    const cli_secret_args *s = &a->secret;
    *out = NULL;
    int any = s->key_file || s->key_env || cli_secret_has_passphrase(s);
    if (!a->encrypt) {
        if (any || a->envelope) {
            fprintf(stderr, "trove %s: %s given without --encrypt\n", cmd,
                    any ? "a key or passphrase is" : "an encryption option is");
            return CLI_USAGE;
        }
        return CLI_OK;
    }
    return cli_secret_load(s, 1, cmd, out);
}

static int run(int argc, char **argv, int enc)
{
    const char *cmd = enc ? "encrypt" : "decrypt";
    const char *file = NULL, *out = NULL;
    cli_secret_args sa = {0};
    trove_crypt_options co = TROVE_CRYPT_OPTIONS_INIT;
    for (int i = 1; i < argc; i++) {
        int r;
        if (cli_is_help(argv[i])) {
            crypt_usage(stdout, enc);
            return CLI_OK;
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--no-sync")) {
            co.write_flags |= TROVE_WRITE_NO_SYNC;
        } else if (enc && (r = envelope_option(argc, argv, &i, cmd, &co)) != 0) {
            if (r < 0)
                return CLI_USAGE;
        } else if ((r = cli_secret_option(argc, argv, &i, &sa)) != 0) {
            if (r < 0)
                return CLI_USAGE;
        } else if (argv[i][0] == '-' || file) {
            fprintf(stderr, "trove %s: unexpected argument '%s' (try --help)\n", cmd, argv[i]);
            return CLI_USAGE;
        } else {
            file = argv[i];
        }
    }
    char defout[4200];
    if (file && !out && enc) {
        snprintf(defout, sizeof defout, "%s.enc", file);
        out = defout;
    }
    if (!file || !out) {
        crypt_usage(stderr, enc);
        return CLI_USAGE;
    }
    trove_secret *s = NULL;
    int code = cli_secret_load(&sa, enc, cmd, &s);
    if (code)
        return code;
    trove_error err = {0};
    int rc = enc ? trove_encrypt_file(file, out, s, &co, &err)
                 : trove_decrypt_file(file, out, s, &co, &err);
    trove_secret_free(s);
    if (rc) {
        cli_report(cmd, file, &err);
        return crypt_exit(rc);
    }
    if (enc) {
        trove_encrypted_info info;
        if (trove_encrypted_probe(out, &info, &err) == TROVE_OK)
            printf("%s: encrypted with %s in %llu chunks of %u bytes (%s)\n", out,
                   info.cipher_name, (unsigned long long)info.chunks, info.chunk_bytes,
                   info.passphrase ? "passphrase, Argon2id" : "key");
    } else {
        printf("%s: decrypted and authenticated\n", out);
    }
    return CLI_OK;
}

int cli_cmd_encrypt(int argc, char **argv)
{
    return run(argc, argv, 1);
}

int cli_cmd_decrypt(int argc, char **argv)
{
    return run(argc, argv, 0);
}

int cli_inspect_encrypted(const char *path, int json)
{
    trove_error err = {0};
    trove_encrypted_info info;
    if (trove_encrypted_probe(path, &info, &err) != TROVE_OK)
        return cli_report("inspect", path, &err);
    if (json) {
        printf("{\"encrypted\": true, \"envelope_version\": \"%u.%u\", \"cipher\": \"%s\", "
               "\"chunk_bytes\": %u, \"chunks\": %llu, \"kdf\": ", info.version_major,
               info.version_minor, info.cipher_name, info.chunk_bytes,
               (unsigned long long)info.chunks);
        if (info.passphrase)
            printf("{\"alg\": \"argon2id13\", \"ops\": %llu, \"mem\": %llu}",
                   (unsigned long long)info.kdf_ops, (unsigned long long)info.kdf_mem);
        else
            printf("{\"alg\": \"none\"}");
        printf(", \"file_bytes\": %llu, \"plaintext_bytes\": %llu}\n",
               (unsigned long long)info.file_bytes, (unsigned long long)info.plaintext_bytes);
        return CLI_OK;
    }
    char hs[32], hp[32], hm[32];
    printf("%s: encrypted trove file (envelope %u.%u)\n", path, info.version_major,
           info.version_minor);
    printf("  cipher       %s, chunks of %s (%llu chunks)\n", info.cipher_name,
           cli_human_size(info.chunk_bytes, hs, sizeof hs), (unsigned long long)info.chunks);
    if (info.passphrase)
        printf("  key          passphrase, Argon2id (ops %llu, memory %s)\n",
               (unsigned long long)info.kdf_ops, cli_human_size(info.kdf_mem, hm, sizeof hm));
    else
        printf("  key          a 256-bit key (key file or variable)\n");
    printf("  size         %s encrypted, %s of plaintext\n",
           cli_human_size(info.file_bytes, hm, sizeof hm),
           cli_human_size(info.plaintext_bytes, hp, sizeof hp));
    printf("  content      not shown: decrypt it (trove decrypt) to see metadata and tensors\n");
    return CLI_OK;
}

int cli_secret_given(const cli_secret_args *sa)
{
    return sa->key_file || sa->key_env || cli_secret_has_passphrase(sa);
}

int cli_open_keyed(const char *cmd, const char *path, uint32_t flags, const cli_secret_args *sa,
                   trove_file **out)
{
    *out = NULL;
    if (!cli_secret_given(sa))
        return cli_open(cmd, path, flags, out);
    trove_secret *secret = NULL;
    int code = cli_secret_load(sa, 0, cmd, &secret);
    if (code)
        return code;
    trove_open_options oo = TROVE_OPEN_OPTIONS_INIT;
    oo.flags = flags;
    trove_trust_options trust = TROVE_TRUST_OPTIONS_INIT;
    trust.secret = secret;
    trove_error err = {0};
    int rc = trove_open_trusted(out, path, &oo, &trust, NULL, &err);
    trove_secret_free(secret);
    if (rc) {
        cli_report(cmd, path, &err);
        return rc == TROVE_E_DECRYPT ? CLI_CHECKSUM : cli_exit_code(rc);
    }
    return CLI_OK;
}
