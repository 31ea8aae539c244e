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
        } else if (enc && !strcmp(argv[i], "--cipher") && i + 1 < argc) {
            const char *c = argv[++i];
            co.cipher = !strcmp(c, "xchacha20poly1305") ? TROVE_CIPHER_XCHACHA20POLY1305
                        : !strcmp(c, "aes256gcm")        ? TROVE_CIPHER_AES256GCM
                                                         : 99;
            if (co.cipher == 99) {
                fprintf(stderr, "trove encrypt: unknown cipher '%s'\n", c);
                return CLI_USAGE;
            }
        } else if (enc && !strcmp(argv[i], "--chunk") && i + 1 < argc) {
            co.chunk_bytes = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (enc && !strcmp(argv[i], "--kdf-ops") && i + 1 < argc) {
            co.kdf_ops = strtoull(argv[++i], NULL, 10);
        } else if (enc && !strcmp(argv[i], "--kdf-mem") && i + 1 < argc) {
            co.kdf_mem = strtoull(argv[++i], NULL, 10);
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
