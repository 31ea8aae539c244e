/* cmd_convert.c: `trove convert IN -o OUT.trove`: import a scikit-learn model saved with pickle or
 * joblib, without running anything from it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cli.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: trove convert INPUT -o OUTPUT.trove [--no-split] [--no-validate] [--name NAME]\n"
            "                     [--encrypt KEY-OPTIONS]\n"
            "\n"
            "Convert a scikit-learn model saved with pickle (protocols 0-5) or joblib (raw, zlib,\n"
            "gzip, or the pre-0.10 'ZF' format) into a trove model file. Nothing in INPUT is\n"
            "executed: the pickle is read by an inert interpreter and only known scikit-learn\n"
            "classes are mapped (docs/CODECS.md lists them). A tuple, list or dict of estimators\n"
            "becomes OUTPUT.<key>.trove per element (--no-split refuses it instead). Each file is\n"
            "checked by binding its model kind (--no-validate skips that).\n"
            "A Keras model saved as HDF5 (.h5: Dense/Dropout/Activation/BatchNormalization chains,\n"
            "Keras 1-3) becomes an mlp; libhdf5 reads it in a sandboxed child process.\n"
            "safetensors, .npy and .npz files become trove files of plain tensors (--name NAME\n"
            "names a .npy's tensor, default \"array\"); a trove file converts back to\n"
            "OUTPUT.safetensors, OUTPUT.npz or OUTPUT.npy (one tensor).\n"
            CLI_ENCRYPT_USAGE
            "With --encrypt every output file is encrypted (all or none are written); the\n"
            "conversion's plaintext exists only as a private temporary file, never synced,\n"
            "unlinked before encryption, in $TROVE_TMPDIR, else /dev/shm (memory) when it fits,\n"
            "else beside OUTPUT (docs/SECURITY.md).\n"
            "\nexit codes: 0 ok, 1 unsupported or malformed input, 2 usage, 3 i/o, 6 bad key\n"
            "file.\n");
}

static void written(void *ctx, const char *path, const char *estimator)
{
    (void)ctx;
    printf("%s: %s\n", path, estimator);
}

/* --encrypt: the files trove_convert wrote into the private directory. */
typedef struct plain_list {
    char **path, **estimator;
    size_t n, cap;
    int oom;
} plain_list;

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static void collect(void *ctx, const char *path, const char *estimator)
{
    plain_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        char **p = realloc(l->path, cap * sizeof *p);
        if (p)
            l->path = p;
        char **e = p ? realloc(l->estimator, cap * sizeof *e) : NULL;
        if (e)
            l->estimator = e;
        if (!p || !e) {
            l->oom = 1;
            return;
        }
        l->cap = cap;
    }
    l->path[l->n] = dup_str(path);
    l->estimator[l->n] = dup_str(estimator);
    if (!l->path[l->n] || !l->estimator[l->n]) {
        free(l->path[l->n]);
        free(l->estimator[l->n]);
        l->oom = 1;
        return;
    }
    l->n++;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* /dev/shm when it is a memory file system with room for 16 times the input plus 4 MiB (a
 * compressed joblib file expands), so that the transient plaintext never reaches a disk. */
static int shm_fits(const char *in)
{
    struct statfs sf;
    struct statvfs vf;
    struct stat st;
    if (statfs("/dev/shm", &sf) != 0 || sf.f_type != TMPFS_MAGIC || stat(in, &st) != 0 ||
        statvfs("/dev/shm", &vf) != 0)
        return 0;
    unsigned long long room = (unsigned long long)vf.f_bavail * vf.f_frsize;
    return room / 16 > (unsigned long long)st.st_size + (4u << 20);
}

/* Convert into a private directory (mode 0700: in $TROVE_TMPDIR when set, else in /dev/shm
 * when it fits, else beside out), then encrypt each file to its final name. Each plaintext is
 * unlinked as soon as it is reopened, before encryption starts, and was written without fsync.
 * All outputs or none. */
static int convert_encrypted(const char *in, const char *out, trove_convert_options *o,
                             const trove_secret *secret, trove_crypt_options *co)
{
    size_t dirlen = (size_t)(base_name(out) - out);
    char tmpdir[4096], tmpout[4200], final[4200];
    const char *where = getenv("TROVE_TMPDIR");
    if (where && !*where)
        where = NULL;
    if (!where && shm_fits(in))
        where = "/dev/shm";
    if ((where ? strlen(where) : dirlen) + 32 >= sizeof tmpdir ||
        strlen(out) + 64 >= sizeof tmpout) {
        fprintf(stderr, "trove convert: %s: output path too long\n", out);
        return CLI_USAGE;
    }
    if (where)
        snprintf(tmpdir, sizeof tmpdir, "%s/.trove-convert-XXXXXX", where);
    else
        snprintf(tmpdir, sizeof tmpdir, "%.*s.trove-convert-XXXXXX", (int)dirlen, out);
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "trove convert: cannot create a private directory in %s: %s\n",
                where ? where : dirlen ? "the output's directory" : ".", strerror(errno));
        return CLI_IO;
    }
    snprintf(tmpout, sizeof tmpout, "%s/%s", tmpdir, base_name(out));
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    if (o->write)
        wo = *o->write;
    wo.flags |= TROVE_WRITE_NO_SYNC; /* the plaintext is never to reach the disk */
    wo.mode = 0600;
    o->write = &wo;
    plain_list l = {0};
    o->on_written = collect;
    o->ctx = &l;
    trove_convert_report rep;
    trove_error err;
    memset(&err, 0, sizeof err);
    int ex = CLI_OK;
    size_t done = 0;
    int rc = trove_convert(in, tmpout, o, &rep, &err);
    if (rc) {
        if (rep.format[0])
            fprintf(stderr, "trove convert: %s (%s): %s\n", in, rep.format, err.message);
        else
            fprintf(stderr, "trove convert: %s: %s\n", in, err.message);
        ex = cli_exit_code(rc);
        goto cleanup;
    }
    if (l.oom) {
        fprintf(stderr, "trove convert: out of memory\n");
        ex = CLI_FAIL;
        goto cleanup;
    }
    for (; done < l.n; done++) {
        snprintf(final, sizeof final, "%.*s%s", (int)dirlen, out, base_name(l.path[done]));
        int fd = open(l.path[done], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "trove convert: cannot reopen the converted model: %s\n",
                    strerror(errno));
            ex = CLI_IO;
            break;
        }
        unlink(l.path[done]);
        rc = trove_encrypt_fd(fd, final, secret, co, &err);
        close(fd);
        if (rc) {
            ex = cli_report("convert", final, &err);
            break;
        }
    }
    if (ex) { /* all or nothing: remove the encrypted files already written */
        for (size_t i = 0; i < done; i++) {
            snprintf(final, sizeof final, "%.*s%s", (int)dirlen, out, base_name(l.path[i]));
            unlink(final);
        }
    } else {
        for (size_t i = 0; i < l.n; i++) {
            snprintf(final, sizeof final, "%.*s%s", (int)dirlen, out, base_name(l.path[i]));
            printf("%s: %s (encrypted)\n", final, l.estimator[i]);
        }
    }
cleanup:
    for (size_t i = 0; i < l.n; i++) {
        unlink(l.path[i]); /* already gone unless a step failed */
        free(l.path[i]);
        free(l.estimator[i]);
    }
    free(l.path);
    free(l.estimator);
    rmdir(tmpdir);
    return ex;
}

int cli_cmd_convert(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    trove_convert_options o = TROVE_CONVERT_OPTIONS_INIT;
    cli_encrypt_args enc = CLI_ENCRYPT_ARGS_INIT;
    for (int i = 1; i < argc; i++) {
        int r;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CLI_OK;
        } else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
            if (++i >= argc) {
                fprintf(stderr, "trove convert: -o needs a file name\n");
                return CLI_USAGE;
            }
            out = argv[i];
        } else if (!strcmp(argv[i], "--name")) {
            if (++i >= argc) {
                fprintf(stderr, "trove convert: --name needs a tensor name\n");
                return CLI_USAGE;
            }
            o.tensor_name = argv[i];
        } else if (!strcmp(argv[i], "--no-split")) {
            o.flags |= TROVE_CONVERT_NO_SPLIT;
        } else if (!strcmp(argv[i], "--no-validate")) {
            o.flags |= TROVE_CONVERT_NO_VALIDATE;
        } else if ((r = cli_encrypt_option(argc, argv, &i, "convert", &enc)) != 0) {
            if (r < 0)
                return CLI_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "trove convert: unknown option '%s'\n", argv[i]);
            return CLI_USAGE;
        } else if (!in) {
            in = argv[i];
        } else {
            fprintf(stderr, "trove convert: unexpected argument '%s'\n", argv[i]);
            return CLI_USAGE;
        }
    }
    if (!in || !out) {
        usage(stderr);
        return CLI_USAGE;
    }
    trove_secret *secret = NULL;
    int ex = cli_encrypt_secret(&enc, "convert", &secret);
    if (ex)
        return ex;
    if (secret) {
        enc.co.write_flags = 0;
        ex = convert_encrypted(in, out, &o, secret, &enc.co);
        trove_secret_free(secret);
        return ex;
    }
    o.on_written = written;
    trove_convert_report rep;
    trove_error err;
    int rc = trove_convert(in, out, &o, &rep, &err);
    if (rc) {
        if (rep.format[0])
            fprintf(stderr, "trove convert: %s (%s): %s\n", in, rep.format, err.message);
        else
            fprintf(stderr, "trove convert: %s: %s\n", in, err.message);
        return cli_exit_code(rc);
    }
    return CLI_OK;
}
