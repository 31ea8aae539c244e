/* util.c: helpers shared by the CLI commands: exit codes, error reports, sizes, hex, escaping,
 * number formatting and aligned tables. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

int cli_exit_code(int status)
{
    switch (status) {
    case TROVE_OK: return CLI_OK;
    case TROVE_E_INVALID: return CLI_USAGE;
    case TROVE_E_IO: return CLI_IO;
    case TROVE_E_CHECKSUM: return CLI_CHECKSUM;
    case TROVE_E_SIGNATURE: return CLI_SIGNATURE;
    case TROVE_E_KEY:
    case TROVE_E_DECRYPT: return CLI_KEY;
    default: return CLI_FAIL;
    }
}

int cli_report(const char *cmd, const char *file, const trove_error *err)
{
    if (file)
        fprintf(stderr, "trove %s: %s: %s\n", cmd, file, err->message);
    else
        fprintf(stderr, "trove %s: %s\n", cmd, err->message);
    return cli_exit_code(err->code);
}

const char *cli_human_size(unsigned long long bytes, char *buf, size_t cap)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    if (bytes < 1024) {
        snprintf(buf, cap, "%llu B", bytes);
        return buf;
    }
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    snprintf(buf, cap, "%.1f %s", v, units[u]);
    return buf;
}

const char *cli_hex(const unsigned char *p, size_t n, char *buf)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = hx[p[i] >> 4];
        buf[2 * i + 1] = hx[p[i] & 15];
    }
    buf[2 * n] = '\0';
    return buf;
}

int cli_is_help(const char *arg)
{
    return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

/* ---- Shared by the container commands ------------------------------------------------- */

int cli_open(const char *cmd, const char *path, uint32_t flags, trove_file **out)
{
    trove_error err = {0};
    trove_open_options oo = TROVE_OPEN_OPTIONS_INIT;
    oo.flags = flags;
    *out = NULL;
    if (trove_open(out, path, &oo, &err) != TROVE_OK)
        return cli_report(cmd, path, &err);
    return CLI_OK;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "trove %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\ntry 'trove %s --help'\n", cmd);
    return CLI_USAGE;
}

const char *cli_shape(uint32_t rank, const uint64_t *shape, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    n += (size_t)snprintf(buf, cap, "[");
    for (uint32_t i = 0; i < rank && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%llu", i ? ", " : "",
                              (unsigned long long)shape[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
    return buf;
}

const char *cli_feature_names(const char *kind, uint64_t bits, char *buf, size_t cap)
{
    static const struct {
        const char *kind;
        uint64_t bit;
        const char *name;
    } known[] = {
        {"compat", TROVE_COMPAT_SIGNED, "signed"},
        {"compat", TROVE_COMPAT_DIGESTS, "digests"},
        {"incompat", TROVE_INCOMPAT_ZSTD, "zstd"},
        {"incompat", TROVE_INCOMPAT_ENCRYPTED, "encrypted"},
    };
    size_t n = 0;
    buf[0] = '\0';
    if (!bits) {
        snprintf(buf, cap, "none");
        return buf;
    }
    for (unsigned b = 0; b < 64 && n < cap; b++) {
        uint64_t bit = UINT64_C(1) << b;
        if (!(bits & bit))
            continue;
        const char *name = NULL;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            if (known[k].bit == bit && !strcmp(known[k].kind, kind))
                name = known[k].name;
        if (name)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", name);
        else
            n += (size_t)snprintf(buf + n, cap - n, "%sbit%u", n ? ", " : "", b);
    }
    return buf;
}

/* Length of the UTF-8 sequence at s (at most n bytes) and its code point; invalid bytes are
 * taken one at a time with cp = byte | 0x80000000 so that they get escaped. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || len > n) {
        *cp = c | 0x80000000u;
        return 1;
    }
    uint32_t v = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *cp = c | 0x80000000u;
            return 1;
        }
        v = v << 6 | (s[i] & 0x3f);
    }
    *cp = v;
    return len;
}

static int needs_escape(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069) || (cp & 0x80000000u);
}

void cli_put_escaped(FILE *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = utf8_next(p + i, n - i, &cp);
        if (!needs_escape(cp))
            fwrite(p + i, 1, len, out);
        else if (cp == '\n')
            fputs("\\n", out);
        else if (cp == '\t')
            fputs("\\t", out);
        else if (cp == '\r')
            fputs("\\r", out);
        else if (cp < 0x80 || (cp & 0x80000000u))
            fprintf(out, "\\x%02x", (unsigned)(cp & 0xff));
        else
            fprintf(out, "\\u%04x", (unsigned)cp);
        i += len;
    }
}

char *cli_escaped(const char *s, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return NULL;
    cli_put_escaped(m, s, n);
    if (fclose(m) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

void cli_put_json_string(FILE *out, const char *s, size_t n)
{
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(out, "\\u%04x", c);
            else
                fputc(c, out);
        }
    }
    fputc('"', out);
}

size_t cli_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

float cli_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float f;
    if (exp == 0) {
        f = ldexpf((float)man, -24); /* zero or subnormal */
        return sign ? -f : f;
    }
    uint32_t bits = exp == 0x1f ? sign | 0x7f800000u | man << 13
                                : sign | (exp + 112) << 23 | man << 13;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float cli_bfloat16_to_float(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Round a float to the nearest float16 / bfloat16 (ties to even), back as float: used to find
 * the shortest text that identifies a 16-bit value. */
static float round_bfloat16(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    if ((bits & 0x7f800000u) != 0x7f800000u)
        bits += 0x7fffu + ((bits >> 16) & 1);
    return cli_bfloat16_to_float((uint16_t)(bits >> 16));
}

static float round_half(float f)
{
    float a = fabsf(f);
    if (a >= 65520.0f)
        return f > 0 ? INFINITY : -INFINITY;
    if (a < ldexpf(1.0f, -14)) { /* subnormal range: multiples of 2^-24 */
        float q = nearbyintf(f * ldexpf(1.0f, 24));
        return q * ldexpf(1.0f, -24);
    }
    int e;
    frexpf(a, &e); /* a = m * 2^e, m in [0.5, 1): 11 significant bits */
    float scale = ldexpf(1.0f, 11 - e);
    return nearbyintf(f * scale) / scale;
}

const char *cli_format_float(double v, trove_dtype dtype, char *buf, size_t cap)
{
    if (isnan(v)) {
        snprintf(buf, cap, "nan");
        return buf;
    }
    if (isinf(v)) {
        snprintf(buf, cap, v > 0 ? "inf" : "-inf");
        return buf;
    }
    int maxp = dtype == TROVE_FLOAT64 ? 17 : 9;
    for (int p = 1; p <= maxp; p++) {
        snprintf(buf, cap, "%.*g", p, v);
        double r = strtod(buf, NULL);
        int same;
        switch (dtype) {
        case TROVE_FLOAT64: same = r == v; break;
        case TROVE_FLOAT16: same = round_half((float)r) == (float)v; break;
        case TROVE_BFLOAT16: same = round_bfloat16((float)r) == (float)v; break;
        default: same = (float)r == (float)v; break;
        }
        if (same) {
            /* positional like Python's repr when the exponent is in [-4, 16): "65504.0" */
            const char *e = strchr(buf, 'e');
            int exp = e ? atoi(e + 1) : 0;
            if (e && exp >= -4 && exp < 16)
                snprintf(buf, cap, "%.*f", p - 1 - exp > 0 ? p - 1 - exp : 0, v);
            break;
        }
    }
    if (!strpbrk(buf, ".e") && strlen(buf) + 3 <= cap)
        strcat(buf, ".0");
    return buf;
}

double cli_element_double(trove_dtype dtype, const void *data, uint64_t i)
{
    const unsigned char *p = (const unsigned char *)data + i * trove_dtype_size(dtype);
    union {
        uint8_t u8;
        int8_t i8;
        uint16_t u16;
        int16_t i16;
        uint32_t u32;
        int32_t i32;
        uint64_t u64;
        int64_t i64;
        float f32;
        double f64;
    } u;
    memcpy(&u, p, trove_dtype_size(dtype));
    switch (dtype) {
    case TROVE_BOOL: return u.u8 ? 1.0 : 0.0;
    case TROVE_INT8: return u.i8;
    case TROVE_INT16: return u.i16;
    case TROVE_INT32: return u.i32;
    case TROVE_INT64: return (double)u.i64;
    case TROVE_UINT8: return u.u8;
    case TROVE_UINT16: return u.u16;
    case TROVE_UINT32: return u.u32;
    case TROVE_UINT64: return (double)u.u64;
    case TROVE_FLOAT16: return cli_half_to_float(u.u16);
    case TROVE_BFLOAT16: return cli_bfloat16_to_float(u.u16);
    case TROVE_FLOAT32: return u.f32;
    case TROVE_FLOAT64: return u.f64;
    default: return NAN;
    }
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- Aligned tables ------------------------------------------------------------------- */

struct cli_table {
    size_t ncols, nrows, cap;
    char align[16];
    char **cells; /* nrows * ncols */
};

cli_table *cli_table_new(size_t ncols, const char *align)
{
    if (ncols == 0 || ncols > 16)
        return NULL;
    cli_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = ncols;
    for (size_t i = 0; i < ncols; i++)
        t->align[i] = align && i < strlen(align) ? align[i] : 'l';
    return t;
}

int cli_table_add(cli_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 16;
        char **nc = realloc(t->cells, ncap * t->ncols * sizeof *nc);
        if (!nc)
            return -1;
        t->cells = nc;
        t->cap = ncap;
    }
    char **row = t->cells + t->nrows * t->ncols;
    for (size_t c = 0; c < t->ncols; c++) {
        row[c] = strdup(cells[c] ? cells[c] : "");
        if (!row[c]) {
            while (c--)
                free(row[c]);
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

void cli_table_print(const cli_table *t, FILE *out, int indent)
{
    size_t width[16] = {0};
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = cli_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        fprintf(out, "%*s", indent, "");
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            size_t pad = width[c] - cli_width(s);
            int last = c + 1 == t->ncols;
            if (c)
                fputs("  ", out);
            if (t->align[c] == 'r')
                fprintf(out, "%*s", (int)pad, "");
            fputs(s, out);
            if (t->align[c] != 'r' && !last)
                fprintf(out, "%*s", (int)pad, "");
        }
        fputc('\n', out);
    }
}

void cli_table_free(cli_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}
