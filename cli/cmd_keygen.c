/* cmd_keygen.c: `trove keygen`: new signing key pair or encryption key; and the CLI's secret
 * input shared by sign, verify, encrypt and decrypt: passphrases from a terminal without echo,
 * a file descriptor or an environment variable (never from argv), keys from files or variables,
 * core dumps disabled while secrets are held. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

void cli_no_core_dumps(void)
{
    struct rlimit rl = {0, 0};
    (void)setrlimit(RLIMIT_CORE, &rl);
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* One secret option, its name without the leading "--" or "--file-" (argv[*i] is shown). */
static int secret_option_named(const char *name, int argc, char **argv, int *i,
                               cli_secret_args *a)
{
    const char **slot = !strcmp(name, "key")              ? &a->key_file
                        : !strcmp(name, "key-env")        ? &a->key_env
                        : !strcmp(name, "passphrase-env") ? &a->pass_env
                        : !strcmp(name, "passphrase-fd")  ? &a->pass_fd
                                                          : NULL;
    if (!strcmp(name, "passphrase")) {
        a->pass_prompt = 1;
        return 1;
    }
    if (!slot)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "trove: %s needs a value\n", argv[*i]);
        return -1;
    }
    *slot = argv[++*i];
    return 1;
}

int cli_secret_option(int argc, char **argv, int *i, cli_secret_args *a)
{
    const char *o = argv[*i];
    return strncmp(o, "--", 2) ? 0 : secret_option_named(o + 2, argc, argv, i, a);
}

int cli_file_secret_option(int argc, char **argv, int *i, cli_secret_args *a)
{
    const char *o = argv[*i];
    return strncmp(o, "--file-", 7) ? 0 : secret_option_named(o + 7, argc, argv, i, a);
}

int cli_secret_has_passphrase(const cli_secret_args *a)
{
    return a->pass_prompt || a->pass_fd || a->pass_env;
}

/* Read one line from fd into buf (no newline kept). -1 on error or overlong line. */
static int read_line(int fd, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || c == '\n')
            break;
        if (n + 1 >= cap)
            return -1;
        buf[n++] = c;
    }
    if (n && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    *len = n;
    return 0;
}

static int prompt(const char *what, char *buf, size_t cap, size_t *len)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct termios old, quiet;
    int tty = tcgetattr(fd, &old) == 0;
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        (void)tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    if (write(fd, what, strlen(what)) < 0) {
        /* the prompt is a courtesy */
    }
    int rc = read_line(fd, buf, cap, len);
    if (tty)
        (void)tcsetattr(fd, TCSAFLUSH, &old);
    close(fd);
    return rc;
}

/* Passphrase storage: locked in memory, wiped after use. */
static char pass_buf[4100], pass_buf2[4100];

static void wipe_passphrases(void)
{
    explicit_bzero(pass_buf, sizeof pass_buf);
    explicit_bzero(pass_buf2, sizeof pass_buf2);
}

int cli_passphrase(const cli_secret_args *a, int confirm, const char *cmd, const char **pass,
                   size_t *len)
{
    static int locked;
    if (!locked) {
        (void)mlock(pass_buf, sizeof pass_buf);
        (void)mlock(pass_buf2, sizeof pass_buf2);
        atexit(wipe_passphrases);
        locked = 1;
    }
    cli_no_core_dumps();
    *pass = NULL;
    *len = 0;
    if (a->pass_env) {
        const char *v = getenv(a->pass_env);
        if (!v || !*v) {
            fprintf(stderr, "trove %s: environment variable %s is not set or empty\n", cmd,
                    a->pass_env);
            return CLI_USAGE;
        }
        size_t n = strlen(v);
        if (n >= sizeof pass_buf) {
            fprintf(stderr, "trove %s: passphrase longer than 4096 bytes\n", cmd);
            return CLI_USAGE;
        }
        memcpy(pass_buf, v, n + 1);
        *len = n;
    } else if (a->pass_fd) {
        char *end;
        long fd = strtol(a->pass_fd, &end, 10);
        if (*end || fd < 0 || fd > 1 << 20 ||
            read_line((int)fd, pass_buf, sizeof pass_buf, len) != 0) {
            fprintf(stderr, "trove %s: cannot read a passphrase line from file descriptor %s\n",
                    cmd, a->pass_fd);
            return CLI_USAGE;
        }
    } else if (a->pass_prompt) {
        if (prompt(a->prompt ? a->prompt : "Passphrase: ", pass_buf, sizeof pass_buf, len) != 0) {
            fprintf(stderr, "trove %s: cannot read a passphrase from the terminal (use "
                            "--passphrase-fd N or --passphrase-env VAR)\n", cmd);
            return CLI_USAGE;
        }
        if (confirm) {
            size_t l2 = 0;
            if (prompt("Passphrase again: ", pass_buf2, sizeof pass_buf2, &l2) != 0 ||
                l2 != *len || memcmp(pass_buf, pass_buf2, l2) != 0) {
                wipe_passphrases();
                fprintf(stderr, "trove %s: the passphrases differ\n", cmd);
                return CLI_USAGE;
            }
        }
    } else {
        return CLI_OK; /* no passphrase source */
    }
    if (*len == 0) {
        fprintf(stderr, "trove %s: empty passphrase\n", cmd);
        return CLI_USAGE;
    }
    *pass = pass_buf;
    return CLI_OK;
}

void cli_passphrase_wipe(void)
{
    wipe_passphrases();
}

int cli_secret_load(const cli_secret_args *a, int confirm, const char *cmd, trove_secret **out)
{
    trove_error err = {0};
    int sources = !!a->key_file + !!a->key_env + !!cli_secret_has_passphrase(a);
    *out = NULL;
    if (sources != 1) {
        fprintf(stderr, "trove %s: give exactly one of --key FILE, --key-env VAR, --passphrase, "
                        "--passphrase-fd N, --passphrase-env VAR\n", cmd);
        return CLI_USAGE;
    }
    cli_no_core_dumps();
    int rc;
    if (a->key_file) {
        rc = trove_secret_load(out, a->key_file, &err);
    } else if (a->key_env) {
        rc = trove_secret_from_env(out, a->key_env, &err);
    } else {
        const char *p;
        size_t n;
        int code = cli_passphrase(a, confirm, cmd, &p, &n);
        if (code)
            return code;
        rc = trove_secret_from_passphrase(out, p, n, &err);
        cli_passphrase_wipe();
    }
    if (rc)
        return cli_report(cmd, NULL, &err);
    return CLI_OK;
}

/* ---- trove keygen ----------------------------------------------------------------------------- */
int cli_cmd_keygen(int argc, char **argv)
{
    const char *name = NULL;
    int symmetric = 0;
    unsigned long long ops = 0, mem = 0;
    cli_secret_args sa = {0};
    for (int i = 1; i < argc; i++) {
        int r;
        if (cli_is_help(argv[i])) {
            printf("usage: trove keygen -o NAME [--passphrase | --passphrase-fd N | "
                   "--passphrase-env VAR]\n"
                   "                    [--kdf-ops N] [--kdf-mem BYTES]\n"
                   "       trove keygen --symmetric -o NAME\n\n"
                   "Write a new Ed25519 key pair: NAME.key (secret, mode 0600; sealed with the "
                   "passphrase,\nArgon2id + XChaCha20-Poly1305, when one is given) and NAME.pub "
                   "(public, to give to verifiers).\nWith --symmetric, write a 256-bit "
                   "encryption key NAME.key for trove encrypt/decrypt --key.\nExisting files are "
                   "never overwritten.\n\nexit codes: 0 ok, 1 a key file exists or cannot be "
                   "made, 2 usage, 3 i/o.\n");
            return CLI_OK;
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            name = argv[++i];
        } else if (!strcmp(argv[i], "--symmetric")) {
            symmetric = 1;
        } else if (!strcmp(argv[i], "--kdf-ops") && i + 1 < argc) {
            ops = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--kdf-mem") && i + 1 < argc) {
            mem = strtoull(argv[++i], NULL, 10);
        } else if ((r = cli_secret_option(argc, argv, &i, &sa)) != 0) {
            if (r < 0 || sa.key_file || sa.key_env) {
                fprintf(stderr, "trove keygen: unexpected option %s\n", argv[i]);
                return CLI_USAGE;
            }
        } else {
            fprintf(stderr, "trove keygen: unexpected argument '%s' (try --help)\n", argv[i]);
            return CLI_USAGE;
        }
    }
    if (!name) {
        fprintf(stderr, "usage: trove keygen -o NAME [--symmetric] [--passphrase...]\n");
        return CLI_USAGE;
    }
    cli_no_core_dumps();
    trove_error err = {0};
    char path[4200];
    if (symmetric) {
        if (cli_secret_has_passphrase(&sa)) {
            fprintf(stderr, "trove keygen: a passphrase is not stored: encrypt with "
                            "--passphrase directly, or keep the key file private\n");
            return CLI_USAGE;
        }
        trove_secret *s = NULL;
        snprintf(path, sizeof path, "%s.key", name);
        int rc = trove_secret_generate(&s, &err);
        if (rc == TROVE_OK)
            rc = trove_secret_save(s, path, &err);
        trove_secret_free(s);
        if (rc)
            return cli_report("keygen", path, &err);
        printf("%s: new encryption key (keep it secret; mode 0600)\n", path);
        return CLI_OK;
    }
    const char *pass = NULL;
    size_t plen = 0;
    int code = cli_passphrase(&sa, 1, "keygen", &pass, &plen);
    if (code)
        return code;
    trove_signer *s = NULL;
    int rc = trove_signer_generate(&s, &err);
    if (rc == TROVE_OK)
        rc = trove_signer_save(s, name, pass, plen, ops, mem, &err);
    cli_passphrase_wipe();
    if (rc) {
        trove_signer_free(s);
        return cli_report("keygen", name, &err);
    }
    trove_pubkey pk;
    trove_signer_public(s, &pk);
    trove_signer_free(s);
    char hex[2 * TROVE_KEY_ID_BYTES + 1];
    printf("%s.key: secret signing key%s (mode 0600)\n%s.pub: public key, key id %s\n", name,
           pass ? ", sealed with the passphrase" : "", name,
           cli_hex(pk.id, TROVE_KEY_ID_BYTES, hex));
    return CLI_OK;
}
