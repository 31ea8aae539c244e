/* cmd_cat.c: `trove cat FILE TENSOR [-o OUT.npy] [--limit N]`: print a tensor as numpy-like
 * text, or export it as a .npy file (written atomically: temporary file, fsync, rename). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_trust.h"

#define EDGE_ITEMS 3 /* summarized axes show this many items at each end, like numpy */

static const char *usage_text =
    "usage: trove cat FILE TENSOR [-o OUT.npy] [--limit N] [--no-verify]\n"
    "\n"
    "Print the values of TENSOR as numpy-like text (nested brackets, C order; float16 and\n"
    "bfloat16 are shown at their own precision; bool as True/False), or export it as a .npy\n"
    "file that numpy.load() reads (format 1.0, little-endian, C order). bfloat16 has no numpy\n"
    "dtype: it is exported as float32 (exactly) and a note says so on stderr.\n"
    "The tensor's checksums are verified first.\n"
    "\n"
    "options:\n"
    "  -o, --output OUT  write OUT.npy instead of printing (atomically: a crash leaves the old\n"
    "                    file or the new one); '-o -' writes the .npy bytes to stdout\n"
    "  --limit N         print every element when the tensor has at most N (default 1000);\n"
    "                    otherwise show the first and last 3 along each axis, like numpy.\n"
    "                    0 = no limit\n"
    "  --no-verify       skip the checksum verification of the tensor\n"
    CLI_KEYED_USAGE
    "\n"
    "exit codes: 0 ok, 1 no such tensor or malformed file, 2 usage, 3 cannot read FILE or\n"
    "write OUT, 4 the tensor's checksum does not match.\n";

/* ---- Text ------------------------------------------------------------------------------ */

typedef struct printer {
    FILE *out;
    const trove_tensor_info *ti;
    const unsigned char *data;
    int summarize;
    size_t width; /* widest element shown (pass 1), used to right-align (pass 2) */
    int print;    /* 0 = measure, 1 = print */
    size_t col;   /* current output column (pass 2), to wrap long rows like numpy */
} printer;

#define LINE_WIDTH 75 /* numpy's default linewidth */

static void format_element(const printer *p, uint64_t i, char *buf, size_t cap)
{
    const unsigned char *e = p->data + i * trove_dtype_size(p->ti->dtype);
    int64_t s = 0;
    uint64_t u = 0;
    switch (p->ti->dtype) {
    case TROVE_BOOL: snprintf(buf, cap, "%s", e[0] ? "True" : "False"); return;
    case TROVE_INT8: { int8_t v; memcpy(&v, e, 1); s = v; } break;
    case TROVE_INT16: { int16_t v; memcpy(&v, e, 2); s = v; } break;
    case TROVE_INT32: { int32_t v; memcpy(&v, e, 4); s = v; } break;
    case TROVE_INT64: memcpy(&s, e, 8); break;
    case TROVE_UINT8: u = e[0]; break;
    case TROVE_UINT16: { uint16_t v; memcpy(&v, e, 2); u = v; } break;
    case TROVE_UINT32: { uint32_t v; memcpy(&v, e, 4); u = v; } break;
    case TROVE_UINT64: memcpy(&u, e, 8); break;
    default:
        cli_format_float(cli_element_double(p->ti->dtype, p->data, i), p->ti->dtype, buf, cap);
        return;
    }
    if (p->ti->dtype >= TROVE_UINT8 && p->ti->dtype <= TROVE_UINT64)
        snprintf(buf, cap, "%" PRIu64, u);
    else
        snprintf(buf, cap, "%" PRId64, s);
}

static void element(printer *p, uint64_t i)
{
    char buf[64];
    format_element(p, i, buf, sizeof buf);
    size_t w = strlen(buf);
    if (!p->print) {
        if (w > p->width)
            p->width = w;
        return;
    }
    fprintf(p->out, "%*s%s", (int)(p->width - w), "", buf);
    p->col += p->width;
}

/* Newline, then indent to column `indent`. */
static void newline(printer *p, int indent)
{
    fprintf(p->out, "\n%*s", indent, "");
    p->col = (size_t)indent;
}

/* Axis `depth` of the sub-array starting at element `base`; `col` is the column where the
 * sub-array's '[' stands (continuation lines are indented to col + 1). */
static void axis(printer *p, uint32_t depth, uint64_t base)
{
    const trove_tensor_info *ti = p->ti;
    if (depth == ti->rank) {
        element(p, base);
        return;
    }
    uint64_t dim = ti->shape[depth], stride = 1;
    for (uint32_t d = depth + 1; d < ti->rank; d++)
        stride *= ti->shape[d]; /* bounded by count, which the reader checked */
    int cut = p->summarize && dim > 2 * EDGE_ITEMS;
    int inner = depth + 1 == ti->rank;
    if (p->print) {
        fputc('[', p->out);
        p->col++;
    }
    for (uint64_t j = 0; j < dim; j++) {
        if (cut && j == EDGE_ITEMS) {
            if (p->print) {
                if (inner) {
                    fputs(" ...", p->out);
                    p->col += 4;
                } else {
                    newline(p, (int)depth + 1);
                    fputs("...", p->out);
                }
            }
            j = dim - EDGE_ITEMS;
        }
        if (j && p->print) {
            if (inner) {
                /* wrap before an element (and the closing brackets) that would pass the width */
                if (p->col + 1 + p->width + (j + 1 == dim ? depth + 1 : 0) > LINE_WIDTH)
                    newline(p, (int)depth + 1);
                else {
                    fputc(' ', p->out);
                    p->col++;
                }
            } else {
                /* numpy: one blank line per level below the innermost between blocks */
                for (uint32_t k = depth + 2; k < ti->rank; k++)
                    fputc('\n', p->out);
                newline(p, (int)depth + 1);
            }
        }
        axis(p, depth + 1, base + j * stride);
    }
    if (p->print) {
        fputc(']', p->out);
        p->col++;
    }
}

static void print_text(FILE *out, const trove_tensor_info *ti, const void *data, uint64_t limit)
{
    printer p = {out, ti, data, limit && ti->count > limit, 0, 0, 0};
    if (ti->count == 0) {
        fputs("[]\n", out);
        return;
    }
    axis(&p, 0, 0);
    p.print = 1;
    axis(&p, 0, 0);
    fputc('\n', out);
}

/* ---- .npy ------------------------------------------------------------------------------ */

static const char *npy_descr(trove_dtype d)
{
    switch (d) {
    case TROVE_BOOL: return "|b1";
    case TROVE_INT8: return "|i1";
    case TROVE_INT16: return "<i2";
    case TROVE_INT32: return "<i4";
    case TROVE_INT64: return "<i8";
    case TROVE_UINT8: return "|u1";
    case TROVE_UINT16: return "<u2";
    case TROVE_UINT32: return "<u4";
    case TROVE_UINT64: return "<u8";
    case TROVE_FLOAT16: return "<f2";
    case TROVE_BFLOAT16: return "<f4"; /* converted */
    case TROVE_FLOAT32: return "<f4";
    case TROVE_FLOAT64: return "<f8";
    default: return NULL;
    }
}

static int write_all(int fd, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The .npy bytes of the tensor to fd. Returns 0 or -1 with errno set. */
static int write_npy(int fd, const trove_tensor_info *ti, const void *data)
{
    /* Header: magic, version 1.0, little-endian u16 length, a Python dict literal padded with
     * spaces and ending in '\n' so that the data starts at a multiple of 64. */
    char hdr[512];
    int n = snprintf(hdr + 10, sizeof hdr - 10,
                     "{'descr': '%s', 'fortran_order': False, 'shape': (", npy_descr(ti->dtype));
    for (uint32_t r = 0; r < ti->rank; r++)
        n += snprintf(hdr + 10 + n, sizeof hdr - 10 - (size_t)n, "%s%" PRIu64, r ? ", " : "",
                      ti->shape[r]);
    n += snprintf(hdr + 10 + n, sizeof hdr - 10 - (size_t)n, "%s), }", ti->rank == 1 ? "," : "");
    size_t total = 10 + (size_t)n + 1;
    size_t padded = (total + 63) / 64 * 64; /* rank <= 8: at most ~260 bytes, fits */
    memset(hdr + 10 + n, ' ', padded - total);
    hdr[padded - 1] = '\n';
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    hdr[8] = (char)((padded - 10) & 0xff);
    hdr[9] = (char)((padded - 10) >> 8);
    if (write_all(fd, hdr, padded) != 0)
        return -1;
    if (ti->dtype != TROVE_BFLOAT16)
        return write_all(fd, data, ti->nbytes); /* already little-endian (host order: LE) */
    float buf[4096];
    for (uint64_t i = 0; i < ti->count;) {
        size_t k = 0;
        for (; k < sizeof buf / sizeof buf[0] && i < ti->count; k++, i++) {
            uint16_t b;
            memcpy(&b, (const unsigned char *)data + 2 * i, 2);
            buf[k] = cli_bfloat16_to_float(b);
        }
        if (write_all(fd, buf, k * sizeof buf[0]) != 0)
            return -1;
    }
    return 0;
}

/* Atomically replace path with the .npy of the tensor. Returns an exit code. */
static int export_npy(const char *path, const trove_tensor_info *ti, const void *data)
{
    if (!strcmp(path, "-")) {
        if (write_npy(STDOUT_FILENO, ti, data) != 0) {
            fprintf(stderr, "trove cat: cannot write to stdout: %s\n", strerror(errno));
            return CLI_IO;
        }
        return CLI_OK;
    }
    size_t len = strlen(path);
    char *dirbuf = strdup(path), *tmp = malloc(len + 16);
    if (!dirbuf || !tmp) {
        free(dirbuf);
        free(tmp);
        fprintf(stderr, "trove cat: out of memory\n");
        return CLI_FAIL;
    }
    snprintf(tmp, len + 16, "%s.tmp.XXXXXX", path);
    const char *dir = dirname(dirbuf);
    int code = CLI_OK, fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "trove cat: %s: cannot create a temporary file: %s\n", path,
                strerror(errno));
        free(dirbuf);
        free(tmp);
        return CLI_IO;
    }
    mode_t mask = umask(0);
    umask(mask);
    const char *step = "write";
    if (write_npy(fd, ti, data) != 0)
        goto fail;
    step = "set the permissions of";
    if (fchmod(fd, 0666 & ~mask) != 0)
        goto fail;
    step = "sync";
    if (fsync(fd) != 0)
        goto fail;
    step = "close";
    int rc = close(fd);
    fd = -1;
    if (rc != 0)
        goto fail;
    step = "rename the temporary file to";
    if (rename(tmp, path) != 0)
        goto fail;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) { /* make the rename durable; best effort */
        (void)fsync(dfd);
        close(dfd);
    }
    free(dirbuf);
    free(tmp);
    return code;
fail:
    fprintf(stderr, "trove cat: %s: cannot %s it: %s\n", path, step, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(dirbuf);
    free(tmp);
    return CLI_IO;
}

/* ---- Command --------------------------------------------------------------------------- */

int cli_cmd_cat(int argc, char **argv)
{
    cli_secret_args sa = {0};
    int so;
    const char *path = NULL, *name = NULL, *outpath = NULL;
    uint64_t limit = 1000;
    int verify = 1, opts_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && cli_is_help(a)) {
            fputs(usage_text, stdout);
            return CLI_OK;
        } else if (!opts_done && (!strcmp(a, "-o") || !strcmp(a, "--output"))) {
            if (i + 1 >= argc)
                return cli_usage_error("cat", "%s needs a file name", a);
            outpath = argv[++i];
        } else if (!opts_done && !strcmp(a, "--limit")) {
            char *end;
            if (i + 1 >= argc)
                return cli_usage_error("cat", "--limit needs a number");
            errno = 0;
            const char *num = argv[++i];
            unsigned long long v = strtoull(num, &end, 10);
            if (errno || end == num || *end || num[0] == '-')
                return cli_usage_error("cat", "--limit: '%s' is not a count", num);
            limit = v;
        } else if (!opts_done && !strcmp(a, "--no-verify")) {
            verify = 0;
        } else if (!opts_done && !strcmp(a, "--")) {
            opts_done = 1;
        } else if (!opts_done && (so = cli_secret_option(argc, argv, &i, &sa)) != 0) {
            if (so < 0)
                return CLI_USAGE;
        } else if (!opts_done && a[0] == '-' && a[1]) {
            return cli_usage_error("cat", "unknown option '%s'", a);
        } else if (!path) {
            path = a;
        } else if (!name) {
            name = a;
        } else {
            return cli_usage_error("cat", "too many arguments ('%s')", a);
        }
    }
    if (!path || !name)
        return cli_usage_error("cat", "need FILE and TENSOR");

    trove_file *f;
    int code = cli_open_keyed("cat", path, 0, &sa, &f);
    if (code != CLI_OK)
        return code;
    trove_error err = {0};
    size_t idx;
    trove_tensor_info ti;
    const void *data = NULL;
    if (trove_file_find(f, name, &idx) != TROVE_OK) {
        fprintf(stderr, "trove cat: %s: no tensor named '", path);
        cli_put_escaped(stderr, name, strlen(name));
        fprintf(stderr, "' (see 'trove ls %s')\n", path);
        code = CLI_FAIL;
        goto done;
    }
    if (trove_file_tensor_info(f, idx, &ti) != TROVE_OK) {
        fprintf(stderr, "trove cat: %s: cannot read the directory entry of '%s'\n", path, name);
        code = CLI_FAIL;
        goto done;
    }
    if ((verify && trove_file_verify_tensor(f, idx, &err) != TROVE_OK) ||
        trove_file_tensor_data(f, idx, &data, &err) != TROVE_OK) {
        code = cli_report("cat", path, &err);
        if (code == CLI_OK || code == CLI_USAGE)
            code = CLI_FAIL;
        goto done;
    }
    if (outpath) {
        if (ti.dtype == TROVE_BFLOAT16)
            fprintf(stderr, "trove cat: note: numpy has no bfloat16: '%s' exported as float32 "
                            "(exact)\n", name);
        code = export_npy(outpath, &ti, data);
    } else {
        print_text(stdout, &ti, data, limit);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "trove cat: cannot write the output\n");
            code = CLI_IO;
        }
    }
done:
    trove_close(f);
    return code;
}
