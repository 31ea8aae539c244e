/* cli_trust.h: CLI helpers of the trust commands (keygen, sign, verify --pubkey, encrypt,
 * decrypt): secret input and the hooks that verify and inspect call. Included by cli.h. */
#ifndef TROVE_CLI_TRUST_H
#define TROVE_CLI_TRUST_H

#include <stddef.h>

#include "trove.h"

/* More exit codes (docs/SECURITY.md): 5 = bad signature (CLI_SIGNATURE), 6 = wrong key;
 * 7 is trove diff's. */
enum {
    CLI_UNSIGNED = 8,       /* a signature was required and the file has none */
    CLI_UNKNOWN_SIGNER = 9, /* signed, but by no trusted key */
};

/* Where a secret comes from. Passphrases never come from argv. */
typedef struct cli_secret_args {
    const char *key_file;   /* --key FILE */
    const char *key_env;    /* --key-env VAR */
    const char *pass_env;   /* --passphrase-env VAR */
    const char *pass_fd;    /* --passphrase-fd N */
    int pass_prompt;        /* --passphrase: ask on the terminal, without echo */
    const char *prompt;     /* the terminal's prompt; NULL = "Passphrase: " */
} cli_secret_args;

/* If argv[*i] is a secret option, consume it (and its value): 1; not one: 0; missing value: -1. */
int cli_secret_option(int argc, char **argv, int *i, cli_secret_args *a);
/* The same options spelled --file-key, --file-key-env, --file-passphrase[-fd|-env]: the key of an
 * encrypted FILE where --key already names another key (trove sign's signing key). */
int cli_file_secret_option(int argc, char **argv, int *i, cli_secret_args *a);
int cli_secret_has_passphrase(const cli_secret_args *a);
/* The passphrase (borrowed, locked memory; wipe with cli_passphrase_wipe), or *pass NULL when
 * no passphrase source was given. confirm: ask twice on a terminal. Returns an exit code. */
int cli_passphrase(const cli_secret_args *a, int confirm, const char *cmd, const char **pass,
                   size_t *len);
void cli_passphrase_wipe(void);
/* Exactly one source -> a trove_secret (caller frees). Returns an exit code (0 = ok). */
int cli_secret_load(const cli_secret_args *a, int confirm, const char *cmd, trove_secret **out);
/* An encrypted write (`convert --encrypt`, `fit --encrypt`): the secret and the envelope's
 * options, given as for `trove encrypt`. */
typedef struct cli_encrypt_args {
    int encrypt;                /* --encrypt */
    int envelope;               /* an envelope option was given */
    cli_secret_args secret;     /* --key FILE, --key-env VAR, --passphrase[-fd N|-env VAR] */
    trove_crypt_options co;     /* --cipher, --chunk, --kdf-ops, --kdf-mem */
} cli_encrypt_args;
#define CLI_ENCRYPT_ARGS_INIT { 0, 0, {0}, TROVE_CRYPT_OPTIONS_INIT }
/* If argv[*i] is --encrypt, a secret option or an envelope option, consume it (and its value):
 * 1; not one: 0; usage error (reported): -1. */
int cli_encrypt_option(int argc, char **argv, int *i, const char *cmd, cli_encrypt_args *a);
/* After parsing: the secret (caller frees; NULL without --encrypt), asked twice on a terminal.
 * Key or envelope options without --encrypt are a usage error. Returns an exit code (0 = ok). */
int cli_encrypt_secret(const cli_encrypt_args *a, const char *cmd, trove_secret **out);
/* The usage lines of those options, for --help. */
#define CLI_ENCRYPT_USAGE                                                                      \
    "  --encrypt        write an encrypted file (docs/SECURITY.md), keyed by one of\n"         \
    "                   --key NAME.key | --key-env VAR | --passphrase | --passphrase-fd N |\n"  \
    "                   --passphrase-env VAR; passphrases are never taken from the command\n" \
    "                   line. Envelope: --cipher xchacha20poly1305|aes256gcm, --chunk BYTES,\n" \
    "                   --kdf-ops N, --kdf-mem BYTES (as for trove encrypt)\n"

/* Open FILE for a reading command (ls, cat, inspect): as cli_open, or, when a secret option
 * was given, plain or encrypted (decrypted into wiped memory, trove_open_trusted). Returns an
 * exit code (6 wrong key, 4 altered content). */
int cli_open_keyed(const char *cmd, const char *path, uint32_t flags, const cli_secret_args *sa,
                   trove_file **out);
/* True when a secret option (--key, --key-env, --passphrase*) was given. */
int cli_secret_given(const cli_secret_args *sa);
/* The usage lines of the secret options of a reading command. */
#define CLI_KEYED_USAGE                                                                        \
    "  --key NAME.key | --key-env VAR | --passphrase | --passphrase-fd N | --passphrase-env VAR\n" \
    "            FILE is encrypted: decrypt it into wiped memory with this key or passphrase\n"

/* Disable core dumps and ptrace attach by other users for the rest of the process. */
void cli_no_core_dumps(void);

/* The exit code of a failed signature check: 8 unsigned, 9 unknown signer, 5 bad signature,
 * 4 tampered ciphertext, else the error's own. */
int cli_signature_exit(int rc, const trove_verify_result *res);
/* `trove verify ... --pubkey K.pub ...`: called by cmd_verify.c when --pubkey is given. */
int cli_verify_signed(int argc, char **argv);
/* `trove inspect` of an encrypted file: its public facts only. */
int cli_inspect_encrypted(const char *path, int json);

int cli_cmd_keygen(int argc, char **argv);
int cli_cmd_sign(int argc, char **argv);
int cli_cmd_encrypt(int argc, char **argv);
int cli_cmd_decrypt(int argc, char **argv);

#endif
