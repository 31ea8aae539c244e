/* io_table.c: CSV and .npy tables for the model commands; the .npy reader checks every field. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "io_table.h"

#define MAX_INPUT_BYTES ((size_t)16 << 30) /* 16 GiB: refuse larger inputs */
#define MAX_NPY_HEADER ((size_t)1 << 20)

static int fail(char *msg, size_t cap, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *msg, size_t cap, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return code;
}

static int slurp(const char *path, char **buf, size_t *len, char *msg, size_t cap)
{
    FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!fp)
        return fail(msg, cap, CLI_IO, "cannot open: %s", strerror(errno));
    size_t n = 0, c = 1 << 16;
    char *p = malloc(c + 1);
    while (p) {
        size_t got = fread(p + n, 1, c - n, fp);
        n += got;
        if (n < c)
            break;
        if (c >= MAX_INPUT_BYTES) {
            free(p);
            if (fp != stdin)
                fclose(fp);
            return fail(msg, cap, CLI_FAIL, "input larger than %zu bytes", MAX_INPUT_BYTES);
        }
        char *q = realloc(p, 2 * c + 1);
        if (!q) {
            free(p);
            p = NULL;
            break;
        }
        p = q;
        c *= 2;
    }
    int bad = fp && ferror(fp);
    if (fp != stdin)
        fclose(fp);
    if (!p)
        return fail(msg, cap, CLI_FAIL, "out of memory reading input");
    if (bad) {
        free(p);
        return fail(msg, cap, CLI_IO, "read error");
    }
    p[n] = '\0';
    *buf = p;
    *len = n;
    return CLI_OK;
}

/* ---- .npy ---------------------------------------------------------------------------------- */

/* Find "'key':" in the header dict and return a pointer just past the colon, or NULL. */
static const char *npy_key(const char *h, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(h, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    return *p == ':' ? p + 1 : NULL;
}

static int read_npy(const unsigned char *b, size_t len, cli_data *t, char *msg, size_t cap)
{
    if (len < 10)
        return fail(msg, cap, CLI_FAIL, ".npy: truncated preamble (%zu bytes)", len);
    unsigned major = b[6];
    size_t hlen, start;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        start = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return fail(msg, cap, CLI_FAIL, ".npy: truncated preamble");
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        start = 12;
    } else {
        return fail(msg, cap, CLI_FAIL, ".npy: unknown format version %u", major);
    }
    if (hlen > MAX_NPY_HEADER || hlen > len - start)
        return fail(msg, cap, CLI_FAIL, ".npy: header of %zu bytes runs past the end of the "
                                        "file (%zu bytes)", hlen, len);
    char *h = malloc(hlen + 1);
    if (!h)
        return fail(msg, cap, CLI_FAIL, "out of memory");
    memcpy(h, b + start, hlen);
    h[hlen] = '\0';
    if (strlen(h) != hlen) {
        free(h);
        return fail(msg, cap, CLI_FAIL, ".npy: NUL byte inside the header");
    }
    int rc = CLI_FAIL;
    const char *d = npy_key(h, "descr"), *fo = npy_key(h, "fortran_order"),
               *sh = npy_key(h, "shape");
    if (!d || !fo || !sh) {
        rc = fail(msg, cap, CLI_FAIL, ".npy: header lacks descr, fortran_order or shape");
        goto out;
    }
    while (*d == ' ')
        d++;
    static const struct { const char *descr; int kind; size_t size; } types[] = {
        {"'<f8'", 'f', 8}, {"'<f4'", 'f', 4}, {"'<i8'", 'i', 8}, {"'<i4'", 'i', 4},
        {"'<i2'", 'i', 2}, {"'|i1'", 'i', 1}, {"'|u1'", 'u', 1}, {"'|b1'", 'u', 1},
    };
    int kind = 0;
    size_t es = 0;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strncmp(d, types[i].descr, strlen(types[i].descr))) {
            kind = types[i].kind;
            es = types[i].size;
        }
    if (!kind) {
        rc = fail(msg, cap, CLI_FAIL, ".npy: dtype %.12s not supported (float64, float32, "
                                      "little-endian ints, bool)", d);
        goto out;
    }
    while (*fo == ' ')
        fo++;
    int fortran;
    if (!strncmp(fo, "True", 4))
        fortran = 1;
    else if (!strncmp(fo, "False", 5))
        fortran = 0;
    else {
        rc = fail(msg, cap, CLI_FAIL, ".npy: fortran_order is neither True nor False");
        goto out;
    }
    while (*sh == ' ')
        sh++;
    if (*sh++ != '(') {
        rc = fail(msg, cap, CLI_FAIL, ".npy: shape is not a tuple");
        goto out;
    }
    uint64_t dims[3];
    int nd = 0;
    for (;;) {
        while (*sh == ' ')
            sh++;
        if (*sh == ')')
            break;
        if (nd == 2) {
            rc = fail(msg, cap, CLI_FAIL, ".npy: more than 2 dimensions");
            goto out;
        }
        if (*sh < '0' || *sh > '9') {
            rc = fail(msg, cap, CLI_FAIL, ".npy: bad shape entry");
            goto out;
        }
        uint64_t v = 0;
        while (*sh >= '0' && *sh <= '9') {
            if (v > (UINT64_MAX - 9) / 10) {
                rc = fail(msg, cap, CLI_FAIL, ".npy: shape entry overflows");
                goto out;
            }
            v = v * 10 + (uint64_t)(*sh++ - '0');
        }
        dims[nd++] = v;
        while (*sh == ' ')
            sh++;
        if (*sh == ',')
            sh++;
        else if (*sh != ')') {
            rc = fail(msg, cap, CLI_FAIL, ".npy: bad shape tuple");
            goto out;
        }
    }
    if (nd == 0) {
        rc = fail(msg, cap, CLI_FAIL, ".npy: a scalar is not a table");
        goto out;
    }
    uint64_t rows = dims[0], cols = nd == 2 ? dims[1] : 1, count, bytes;
    if (__builtin_mul_overflow(rows, cols, &count) || __builtin_mul_overflow(count, es, &bytes) ||
        bytes != len - start - hlen) {
        rc = fail(msg, cap, CLI_FAIL, ".npy: shape (%llu, %llu) of %zu-byte items needs %s "
                                      "bytes of data, the file has %zu",
                  (unsigned long long)rows, (unsigned long long)cols, es,
                  count > SIZE_MAX / 8 ? "too many" : "a different number of", len - start - hlen);
        goto out;
    }
    t->data = malloc((count ? count : 1) * sizeof(double));
    if (!t->data) {
        rc = fail(msg, cap, CLI_FAIL, "out of memory for %llu values", (unsigned long long)count);
        goto out;
    }
    t->rows = rows;
    t->cols = cols;
    const unsigned char *p = b + start + hlen;
    for (uint64_t i = 0; i < count; i++) {
        double v;
        const unsigned char *q = p + i * es;
        if (kind == 'f' && es == 8) {
            memcpy(&v, q, 8);
        } else if (kind == 'f') {
            float fv;
            memcpy(&fv, q, 4);
            v = fv;
        } else if (kind == 'u') {
            v = q[0];
        } else if (es == 8) {
            int64_t iv;
            memcpy(&iv, q, 8);
            v = (double)iv;
        } else if (es == 4) {
            int32_t iv;
            memcpy(&iv, q, 4);
            v = iv;
        } else if (es == 2) {
            int16_t iv;
            memcpy(&iv, q, 2);
            v = iv;
        } else {
            v = (signed char)q[0];
        }
        /* Fortran order: element i is at (i % rows, i / rows) */
        size_t dst = fortran ? (size_t)(i % rows) * cols + (size_t)(i / rows) : (size_t)i;
        t->data[dst] = v;
    }
    rc = CLI_OK;
out:
    free(h);
    return rc;
}

static void free_text(cli_data *t);

/* ---- CSV ----------------------------------------------------------------------------------- */

static int parse_num(const char *s, size_t n, double *out)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || (n == 3 && !strncasecmp(s, "nan", 3)) || (n == 2 && !strncmp(s, "NA", 2))) {
        *out = NAN;
        return 1;
    }
    char tmp[64];
    if (n >= sizeof tmp)
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (*end != '\0')
        return 0;
    *out = v;
    return 1;
}

/* Field j of the line [line, le): sets *fs, *fe. Fields are split on ',' (no quoting inside
 * values; surrounding double quotes of header names are stripped by the caller). */
static void field_bounds(char *line, char *le, char **cur, char **fs, char **fe)
{
    char *f0 = *cur;
    char *e = memchr(f0, ',', (size_t)(le - f0));
    if (!e)
        e = le;
    *fs = f0;
    *fe = e;
    *cur = e + 1;
    (void)line;
}

/* Walk the non-empty lines: fn(line, end, lineno) for each; stops at a non-zero return. */
typedef int (*line_fn)(void *ctx, char *line, char *le, size_t lineno);
static int each_line(char *b, size_t len, line_fn fn, void *ctx)
{
    char *line = b, *endb = b + len;
    size_t lineno = 0;
    while (line < endb) {
        char *nl = memchr(line, '\n', (size_t)(endb - line));
        char *le = nl ? nl : endb;
        lineno++;
        if (le > line && le[-1] == '\r')
            le--;
        if (le > line) {
            int rc = fn(ctx, line, le, lineno);
            if (rc)
                return rc;
        }
        line = nl ? nl + 1 : endb;
    }
    return 0;
}

typedef struct csv_ctx {
    cli_data *t;
    char *msg;
    size_t cap;
    int pass;            /* 1: shape and text columns, 2: values */
    int header;          /* the first non-empty line is a header */
    size_t seen, rows;
    unsigned char *is_text;
} csv_ctx;

static size_t count_fields(const char *line, const char *le)
{
    size_t n = 1;
    for (const char *p = line; p < le; p++)
        n += *p == ',';
    return n;
}

static int csv_line(void *vctx, char *line, char *le, size_t lineno)
{
    csv_ctx *c = vctx;
    cli_data *t = c->t;
    size_t first = c->seen++ == 0;
    size_t nf = count_fields(line, le);
    if (first) {
        if (c->pass == 2)
            return 0;
        t->cols = nf;
        if (nf > ((size_t)1 << 24))
            return fail(c->msg, c->cap, CLI_FAIL, "line %zu: %zu columns is too many", lineno,
                        nf);
        /* sized by the first line that counts (blank lines before it are skipped) */
        if (!(c->is_text = calloc(nf + 1, 1)))
            return fail(c->msg, c->cap, CLI_FAIL, "out of memory");
        char *cur = line, *fs, *fe;
        int numeric = 1;
        for (size_t j = 0; j < nf; j++) {
            double v;
            field_bounds(line, le, &cur, &fs, &fe);
            if (!parse_num(fs, (size_t)(fe - fs), &v))
                numeric = 0;
        }
        if (numeric) {
            c->rows++;
            return 0;
        }
        c->header = 1;
        t->names = calloc(nf, sizeof(char *));
        if (!t->names)
            return fail(c->msg, c->cap, CLI_FAIL, "out of memory");
        cur = line;
        for (size_t j = 0; j < nf; j++) {
            field_bounds(line, le, &cur, &fs, &fe);
            while (fs < fe && (*fs == ' ' || *fs == '"'))
                fs++;
            while (fe > fs && (fe[-1] == ' ' || fe[-1] == '"'))
                fe--;
            if (!(t->names[j] = strndup(fs, (size_t)(fe - fs))))
                return fail(c->msg, c->cap, CLI_FAIL, "out of memory");
        }
        return 0;
    }
    if (nf != t->cols)
        return fail(c->msg, c->cap, CLI_FAIL, "line %zu has %zu fields, expected %zu", lineno, nf,
                    t->cols);
    char *cur = line, *fs, *fe;
    if (c->pass == 1) {
        for (size_t j = 0; j < nf; j++) {
            double v;
            field_bounds(line, le, &cur, &fs, &fe);
            if (!c->is_text[j] && !parse_num(fs, (size_t)(fe - fs), &v)) {
                if (!c->header) /* without names, a text column could not be matched */
                    return fail(c->msg, c->cap, CLI_FAIL,
                                "line %zu, column %zu: '%.*s' is not a number", lineno, j + 1,
                                (int)((fe - fs) > 40 ? 40 : (fe - fs)), fs);
                c->is_text[j] = 1;
            }
        }
        c->rows++;
        return 0;
    }
    size_t r = c->rows++;
    for (size_t j = 0; j < nf; j++) {
        field_bounds(line, le, &cur, &fs, &fe);
        if (c->is_text[j]) {
            t->data[r * t->cols + j] = NAN;
            if (!(t->text[j][r] = strndup(fs, (size_t)(fe - fs))))
                return fail(c->msg, c->cap, CLI_FAIL, "out of memory");
        } else {
            (void)parse_num(fs, (size_t)(fe - fs), &t->data[r * t->cols + j]);
        }
    }
    return 0;
}

static int read_csv(char *b, size_t len, cli_data *t, char *msg, size_t cap)
{
    /* pass 1 finds the header, the row count and the columns holding text (kept as strings:
     * a label column, or columns the model does not use); pass 2 parses */
    csv_ctx c = {t, msg, cap, 1, 0, 0, 0, NULL}; /* is_text: allocated at the first line */
    int rc = each_line(b, len, csv_line, &c);
    if (rc)
        goto out;
    if (t->cols && c.rows > SIZE_MAX / sizeof(double) / t->cols) {
        rc = fail(msg, cap, CLI_FAIL, "too many rows");
        goto out;
    }
    t->rows = c.rows;
    t->data = malloc((t->rows * t->cols + 1) * sizeof(double));
    t->text = calloc(t->cols + 1, sizeof(char **));
    if (!t->data || !t->text) {
        rc = fail(msg, cap, CLI_FAIL, "out of memory");
        goto out;
    }
    for (size_t j = 0; j < t->cols; j++)
        if (c.is_text[j] && !(t->text[j] = calloc(t->rows + 1, sizeof(char *)))) {
            rc = fail(msg, cap, CLI_FAIL, "out of memory");
            goto out;
        }
    c.pass = 2;
    c.seen = c.rows = 0;
    if (c.header)
        c.seen = 0;
    else
        c.seen = 1; /* no header: the first line is data */
    rc = each_line(b, len, csv_line, &c);
out:
    free(c.is_text);
    return rc;
}

int cli_data_read(const char *path, cli_data *t, char *msg, size_t cap)
{
    memset(t, 0, sizeof *t);
    char *b = NULL;
    size_t len = 0;
    int rc = slurp(path, &b, &len, msg, cap);
    if (rc)
        return rc;
    if (len >= 6 && !memcmp(b, "\x93NUMPY", 6))
        rc = read_npy((const unsigned char *)b, len, t, msg, cap);
    else
        rc = read_csv(b, len, t, msg, cap);
    free(b);
    if (rc)
        cli_data_free(t);
    return rc;
}

void cli_data_free(cli_data *t)
{
    free_text(t);
    for (size_t i = 0; t->names && i < t->cols; i++)
        free(t->names[i]);
    free(t->names);
    free(t->data);
    memset(t, 0, sizeof *t);
}

static void free_text(cli_data *t)
{
    for (size_t j = 0; t->text && j < t->cols; j++) {
        for (size_t r = 0; t->text[j] && r < t->rows; r++)
            free(t->text[j][r]);
        free(t->text[j]);
    }
    free(t->text);
    t->text = NULL;
}

int cli_data_select(cli_data *t, size_t nf, const char *const *names, char *msg, size_t cap)
{
    return cli_data_select_model(t, nf, names, NULL, msg, cap);
}

int cli_data_select_model(cli_data *t, size_t nf, const char *const *names, const trove_model *m,
                          char *msg, size_t cap)
{
    size_t *src = malloc((nf + 1) * sizeof(size_t));
    if (!src)
        return fail(msg, cap, CLI_FAIL, "out of memory");
    if (!(t->names && names)) {
        if (t->cols != nf) {
            free(src);
            return fail(msg, cap, CLI_FAIL, "%zu columns, the model takes %zu features", t->cols,
                        nf);
        }
        for (size_t j = 0; j < nf; j++)
            src[j] = j;
    } else {
        for (size_t j = 0; j < nf; j++) {
            size_t c = 0;
            while (c < t->cols && strcmp(t->names[c], names[j]))
                c++;
            if (c == t->cols) {
                free(src);
                return fail(msg, cap, CLI_FAIL, "no column named '%s' (a feature of the model)",
                            names[j]);
            }
            src[j] = c;
        }
    }
    for (size_t j = 0; m && j < nf; j++) {
        size_t c = src[j];
        if (!trove_model_input_is_used(m, j) && t->text && t->text[c]) {
            for (size_t r = 0; r < t->rows; r++) /* ignored by the model: any text will do */
                free(t->text[c][r]);
            free(t->text[c]);
            t->text[c] = NULL;
            continue;
        }
        if (!trove_model_input_is_text(m, j))
            continue;
        if (!t->text || !t->text[c]) {
            int rc = fail(msg, cap, CLI_FAIL, "feature %zu takes text, but column %s%s%s holds "
                          "numbers (or the input has no header row)", j, t->names ? "'" : "",
                          t->names ? t->names[c] : "", t->names ? "'" : "");
            free(src);
            return rc;
        }
        /* text -> its code in the model's vocabulary (-1: unknown, the model decides) */
        for (size_t r = 0; r < t->rows; r++) {
            const char *str = t->text[c][r] ? t->text[c][r] : "";
            trove_error err;
            if (trove_model_text_code(&t->data[r * t->cols + c], m, j, str, strlen(str), &err)) {
                int rc = fail(msg, cap, CLI_FAIL, "%s", err.message);
                free(src);
                return rc;
            }
        }
        for (size_t r = 0; r < t->rows; r++)
            free(t->text[c][r]);
        free(t->text[c]);
        t->text[c] = NULL;
    }
    for (size_t j = 0; j < nf; j++)
        if (t->text && t->text[src[j]]) {
            size_t c = src[j], r = 0;
            while (r + 1 < t->rows && !t->text[c][r])
                r++;
            int rc = fail(msg, cap, CLI_FAIL, "column %s%s%s is a feature but holds text "
                          "(row %zu: '%.40s')", t->names ? "'" : "",
                          t->names ? t->names[c] : "", t->names ? "'" : "", r + 1,
                          t->text[c][r] ? t->text[c][r] : "");
            free(src);
            return rc;
        }
    double *d = malloc((t->rows * nf + 1) * sizeof(double));
    if (!d) {
        free(src);
        return fail(msg, cap, CLI_FAIL, "out of memory");
    }
    for (size_t r = 0; r < t->rows; r++)
        for (size_t j = 0; j < nf; j++)
            d[r * nf + j] = t->data[r * t->cols + src[j]];
    free(src);
    free_text(t);
    free(t->data);
    for (size_t i = 0; t->names && i < t->cols; i++)
        free(t->names[i]);
    free(t->names);
    t->names = NULL;
    t->data = d;
    t->cols = nf;
    return CLI_OK;
}

/* ---- output -------------------------------------------------------------------------------- */

static void print_value(FILE *fp, const trove_value *v)
{
    const char *s;
    int64_t i;
    double d;
    int b;
    if (trove_value_get_string(v, &s, NULL) == TROVE_OK)
        fputs(s, fp);
    else if (trove_value_get_bool(v, &b) == TROVE_OK)
        fputs(b ? "True" : "False", fp);
    else if (trove_value_type_of(v) == TROVE_VALUE_INT && trove_value_get_int(v, &i) == TROVE_OK)
        fprintf(fp, "%lld", (long long)i);
    else if (trove_value_get_float(v, &d) == TROVE_OK)
        fprintf(fp, "%.17g", d);
}

static int classes_numeric(const trove_model *m)
{
    for (size_t i = 0; i < trove_model_n_classes(m); i++) {
        trove_value_type ty = trove_value_type_of(trove_model_class(m, i));
        if (ty == TROVE_VALUE_STRING)
            return 0;
    }
    return 1;
}

static int write_body(FILE *fp, int npy, const trove_model *m, const double *v, size_t rows,
                      size_t k, trove_model_op op, int labels)
{
    if (npy) {
        char hdr[128];
        int one_d = k == 1 && op != TROVE_MODEL_TRANSFORM;
        int n = one_d ? snprintf(hdr, sizeof hdr,
                                 "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu,), }",
                                 rows)
                      : snprintf(hdr, sizeof hdr,
                                 "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu, %zu), }",
                                 rows, k);
        size_t total = 10 + (size_t)n + 1, pad = (64 - total % 64) % 64;
        size_t hl = (size_t)n + pad + 1;
        unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 255),
                                 (unsigned char)(hl >> 8)};
        fwrite(pre, 1, 10, fp);
        fwrite(hdr, 1, (size_t)n, fp);
        for (size_t i = 0; i < pad; i++)
            fputc(' ', fp);
        fputc('\n', fp);
        fwrite(v, sizeof(double), rows * k, fp);
        return 0;
    }
    /* CSV header */
    for (size_t j = 0; j < k; j++) {
        if (j)
            fputc(',', fp);
        if (op == TROVE_MODEL_PROBA)
            print_value(fp, trove_model_class(m, j));
        else if (op == TROVE_MODEL_PREDICT)
            k == 1 ? fputs("prediction", fp) : fprintf(fp, "prediction_%zu", j);
        else if (op == TROVE_MODEL_DECISION)
            k == 1 ? fputs("decision", fp) : fprintf(fp, "decision_%zu", j);
        else
            fprintf(fp, "x%zu", j);
    }
    fputc('\n', fp);
    int numeric = classes_numeric(m);
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < k; j++) {
            if (j)
                fputc(',', fp);
            double x = v[r * k + j];
            if (labels && !numeric)
                print_value(fp, trove_model_class(m, (size_t)x));
            else if (labels && x == floor(x) && fabs(x) < 1e15)
                fprintf(fp, "%.0f", x);
            else
                fprintf(fp, "%.17g", x);
        }
        fputc('\n', fp);
    }
    return 0;
}

int cli_data_write(const char *path, const trove_model *m, const double *v, size_t rows,
                    size_t k, trove_model_op op, int labels, char *msg, size_t cap)
{
    size_t pl = path ? strlen(path) : 0;
    int npy = pl >= 4 && !strcmp(path + pl - 4, ".npy");
    if (npy && labels && !classes_numeric(m))
        return fail(msg, cap, CLI_USAGE, "string class labels cannot go to .npy: use CSV");
    if (!path) {
        write_body(stdout, 0, m, v, rows, k, op, labels);
        if (fflush(stdout) || ferror(stdout))
            return fail(msg, cap, CLI_IO, "write error");
        return CLI_OK;
    }
    char *tmp = malloc(pl + 16);
    if (!tmp)
        return fail(msg, cap, CLI_FAIL, "out of memory");
    snprintf(tmp, pl + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return fail(msg, cap, CLI_IO, "cannot create a temporary file: %s", strerror(e));
    }
    FILE *fp = fdopen(fd, "wb");
    if (!fp) {
        close(fd);
        unlink(tmp);
        free(tmp);
        return fail(msg, cap, CLI_IO, "fdopen failed");
    }
    fchmod(fd, 0644);
    write_body(fp, npy, m, v, rows, k, op, labels);
    int bad = fflush(fp) || ferror(fp) || fsync(fd);
    bad |= fclose(fp) != 0;
    if (bad || rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return fail(msg, cap, CLI_IO, "write failed: %s", strerror(e));
    }
    free(tmp);
    return CLI_OK;
}
