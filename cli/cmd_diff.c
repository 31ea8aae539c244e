/* cmd_diff.c: `trove diff A B [--json] [-q]`: differences between the metadata and the tensors
 * of two files: keys added, removed or changed (recursive paths), tensors only in one file, and
 * for common tensors dtype/shape changes, differing elements and the largest absolute change. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define VALUE_SHOWN 80 /* human view: characters of a changed metadata value shown */

static const char *usage_text =
    "usage: trove diff A B [--json] [-q] [--no-verify]\n"
    "\n"
    "Compare the models in files A and B: metadata keys added (+), removed (-) or changed (~),\n"
    "with paths like producer.version, list[2] or [\"odd.key\"]; tensors only in A (-) or\n"
    "only in B (+); and for tensors in both, dtype and shape changes and, when the shapes\n"
    "match, how many elements differ and the largest absolute difference (exact for\n"
    "integers; float elements differ when their bits differ; tensors of different dtypes are\n"
    "compared as float64). The layout (offsets, alignment, compression) is not compared:\n"
    "two files holding the same model are identical. The checksums of compared tensors are\n"
    "verified first.\n"
    "\n"
    "options:\n"
    "  --json        machine-readable JSON (keys sorted)\n"
    "  -q, --quiet   print nothing; only the exit code tells\n"
    "  --no-verify   skip the checksum verification of the compared tensors\n"
    "\n"
    "exit codes: 0 identical, 1 different, 2 usage, 3 cannot read a file, 4 a tensor's\n"
    "checksum does not match, 7 a file is malformed (not 1, which means \"different\").\n";

/* ---- Collected differences --------------------------------------------------------------- */

typedef struct meta_diff {
    char kind;               /* '+' added in B, '-' removed from A, '~' changed */
    char *path;              /* owned */
    const trove_value *a, *b; /* borrowed from the files */
} meta_diff;

typedef struct tensor_diff {
    char kind;               /* '+' only in B, '-' only in A, '~' changed */
    trove_tensor_info a, b;  /* a for '-' and '~', b for '+' and '~' */
    int compared;            /* values compared (same shape) */
    uint64_t ndiff;          /* elements that differ */
    uint64_t nan_mismatch;   /* elements NaN on one side only (not in max_abs) */
    int exact_int;           /* max_abs held in max_u (integers of the same dtype) */
    uint64_t max_u;
    double max_d;
} tensor_diff;

typedef struct diff_state {
    meta_diff *m;
    size_t nm, capm;
    tensor_diff *t;
    size_t nt, capt;
    size_t identical;        /* common tensors with equal values */
    int oom;
} diff_state;

static int push_meta(diff_state *s, char kind, const char *path, const trove_value *a,
                     const trove_value *b)
{
    if (s->nm == s->capm) {
        size_t ncap = s->capm ? 2 * s->capm : 16;
        meta_diff *n = realloc(s->m, ncap * sizeof *n);
        if (!n)
            return s->oom = -1;
        s->m = n;
        s->capm = ncap;
    }
    char *p = strdup(path);
    if (!p)
        return s->oom = -1;
    s->m[s->nm++] = (meta_diff){kind, p, a, b};
    return 0;
}

static tensor_diff *push_tensor(diff_state *s)
{
    if (s->nt == s->capt) {
        size_t ncap = s->capt ? 2 * s->capt : 16;
        tensor_diff *n = realloc(s->t, ncap * sizeof *n);
        if (!n) {
            s->oom = -1;
            return NULL;
        }
        s->t = n;
        s->capt = ncap;
    }
    tensor_diff *d = &s->t[s->nt++];
    memset(d, 0, sizeof *d);
    return d;
}

/* ---- Metadata ---------------------------------------------------------------------------- */

static int simple_key(const char *k, size_t n)
{
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* path + ".key" or path + "[\"key\"]" into a malloc'd string */
static char *child_key(const char *path, const char *k, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return NULL;
    fputs(path, m);
    if (simple_key(k, n)) {
        if (*path)
            fputc('.', m);
        fwrite(k, 1, n, m);
    } else {
        fputc('[', m);
        cli_put_json_string(m, k, n);
        fputc(']', m);
    }
    if (fclose(m) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int keycmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

typedef struct kv {
    const char *key;
    size_t n;
    const trove_value *v;
} kv;

static int cmp_kv(const void *x, const void *y)
{
    const kv *a = x, *b = y;
    return keycmp(a->key, a->n, b->key, b->n);
}

static kv *sorted_map(const trove_value *m, size_t *n)
{
    *n = trove_value_count(m);
    kv *e = calloc(*n ? *n : 1, sizeof *e);
    if (!e)
        return NULL;
    for (size_t i = 0; i < *n; i++)
        if (trove_value_map_entry(m, i, &e[i].key, &e[i].n, &e[i].v) != TROVE_OK)
            e[i] = (kv){"", 0, NULL};
    qsort(e, *n, sizeof *e, cmp_kv);
    return e;
}

static void diff_values(diff_state *s, const char *path, const trove_value *a,
                        const trove_value *b)
{
    if (s->oom)
        return;
    trove_value_type ta = trove_value_type_of(a), tb = trove_value_type_of(b);
    if (ta == TROVE_VALUE_MAP && tb == TROVE_VALUE_MAP) {
        size_t na, nb;
        kv *ea = sorted_map(a, &na), *eb = sorted_map(b, &nb);
        size_t i = 0, j = 0;
        if (!ea || !eb)
            s->oom = -1;
        while (!s->oom && (i < na || j < nb)) {
            int c = i == na ? 1 : j == nb ? -1 : keycmp(ea[i].key, ea[i].n, eb[j].key, eb[j].n);
            const kv *e = c <= 0 ? &ea[i] : &eb[j];
            char *p = child_key(path, e->key, e->n);
            if (!p) {
                s->oom = -1;
                break;
            }
            if (c < 0)
                push_meta(s, '-', p, ea[i++].v, NULL);
            else if (c > 0)
                push_meta(s, '+', p, NULL, eb[j++].v);
            else
                diff_values(s, p, ea[i++].v, eb[j++].v);
            free(p);
        }
        free(ea);
        free(eb);
        return;
    }
    if (ta == TROVE_VALUE_ARRAY && tb == TROVE_VALUE_ARRAY &&
        trove_value_count(a) == trove_value_count(b) && !trove_value_equal(a, b)) {
        size_t n = trove_value_count(a);
        size_t plen = strlen(path);
        char *p = malloc(plen + 32);
        if (!p) {
            s->oom = -1;
            return;
        }
        for (size_t i = 0; i < n && !s->oom; i++) {
            snprintf(p, plen + 32, "%s[%zu]", path, i);
            diff_values(s, p, trove_value_at(a, i), trove_value_at(b, i));
        }
        free(p);
        return;
    }
    if (!trove_value_equal(a, b))
        push_meta(s, '~', path, a, b);
}

/* ---- Tensors ----------------------------------------------------------------------------- */

typedef struct named {
    const char *name;
    size_t n;
    size_t index;
} named;

static int cmp_named(const void *x, const void *y)
{
    const named *a = x, *b = y;
    return keycmp(a->name, a->n, b->name, b->n);
}

static named *sorted_tensors(const trove_file *f, size_t *n)
{
    *n = trove_file_tensor_count(f);
    named *v = calloc(*n ? *n : 1, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < *n; i++) {
        trove_tensor_info ti;
        if (trove_file_tensor_info(f, i, &ti) != TROVE_OK)
            ti.name = "", ti.name_len = 0;
        v[i] = (named){ti.name, ti.name_len, i};
    }
    qsort(v, *n, sizeof *v, cmp_named);
    return v;
}

static int is_signed_int(trove_dtype d)
{
    return d == TROVE_INT8 || d == TROVE_INT16 || d == TROVE_INT32 || d == TROVE_INT64;
}

static int is_unsigned_int(trove_dtype d)
{
    return d == TROVE_BOOL || d == TROVE_UINT8 || d == TROVE_UINT16 || d == TROVE_UINT32 ||
           d == TROVE_UINT64;
}

static int64_t read_signed(trove_dtype d, const unsigned char *p)
{
    switch (d) {
    case TROVE_INT8: { int8_t v; memcpy(&v, p, 1); return v; }
    case TROVE_INT16: { int16_t v; memcpy(&v, p, 2); return v; }
    case TROVE_INT32: { int32_t v; memcpy(&v, p, 4); return v; }
    default: { int64_t v; memcpy(&v, p, 8); return v; }
    }
}

static uint64_t read_unsigned(trove_dtype d, const unsigned char *p)
{
    switch (d) {
    case TROVE_BOOL: return p[0] != 0;
    case TROVE_UINT8: return p[0];
    case TROVE_UINT16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case TROVE_UINT32: { uint32_t v; memcpy(&v, p, 4); return v; }
    default: { uint64_t v; memcpy(&v, p, 8); return v; }
    }
}

static void compare_values(tensor_diff *d, const void *da, const void *db)
{
    trove_dtype ta = d->a.dtype, tb = d->b.dtype;
    uint64_t count = d->a.count;
    d->compared = 1;
    if (ta == tb) {
        size_t es = trove_dtype_size(ta);
        if (memcmp(da, db, d->a.nbytes) == 0)
            return;
        d->exact_int = is_signed_int(ta) || is_unsigned_int(ta);
        for (uint64_t i = 0; i < count; i++) {
            const unsigned char *pa = (const unsigned char *)da + i * es;
            const unsigned char *pb = (const unsigned char *)db + i * es;
            if (memcmp(pa, pb, es) == 0)
                continue;
            d->ndiff++;
            if (is_signed_int(ta)) {
                int64_t x = read_signed(ta, pa), y = read_signed(ta, pb);
                uint64_t u = x > y ? (uint64_t)x - (uint64_t)y : (uint64_t)y - (uint64_t)x;
                if (u > d->max_u)
                    d->max_u = u;
            } else if (is_unsigned_int(ta)) {
                uint64_t x = read_unsigned(ta, pa), y = read_unsigned(ta, pb);
                uint64_t u = x > y ? x - y : y - x;
                if (u > d->max_u)
                    d->max_u = u;
            } else {
                double x = cli_element_double(ta, da, i), y = cli_element_double(tb, db, i);
                if (isnan(x) != isnan(y))
                    d->nan_mismatch++;
                else if (!isnan(x) && fabs(x - y) > d->max_d)
                    d->max_d = fabs(x - y);
            }
        }
        return;
    }
    for (uint64_t i = 0; i < count; i++) {
        double x = cli_element_double(ta, da, i), y = cli_element_double(tb, db, i);
        if (x == y || (isnan(x) && isnan(y)))
            continue;
        d->ndiff++;
        if (isnan(x) || isnan(y))
            d->nan_mismatch++;
        else if (fabs(x - y) > d->max_d)
            d->max_d = fabs(x - y);
    }
}

static int same_shape(const trove_tensor_info *a, const trove_tensor_info *b)
{
    if (a->rank != b->rank)
        return 0;
    for (uint32_t r = 0; r < a->rank; r++)
        if (a->shape[r] != b->shape[r])
            return 0;
    return 1;
}

/* Returns an exit code (CLI_OK when the comparison could be made). */
static int tensor_data(const trove_file *f, const char *path, size_t i, int verify,
                       const void **data)
{
    trove_error err = {0};
    if ((verify && trove_file_verify_tensor(f, i, &err) != TROVE_OK) ||
        trove_file_tensor_data(f, i, data, &err) != TROVE_OK) {
        int code = cli_report("diff", path, &err);
        return code == CLI_CHECKSUM || code == CLI_IO ? code : CLI_DIFF_ERROR;
    }
    return CLI_OK;
}

static int diff_tensors(diff_state *s, const trove_file *fa, const char *pa, const trove_file *fb,
                        const char *pb, int verify)
{
    size_t na, nb;
    named *va = sorted_tensors(fa, &na), *vb = sorted_tensors(fb, &nb);
    int code = CLI_OK;
    if (!va || !vb)
        s->oom = -1;
    size_t i = 0, j = 0;
    while (!s->oom && code == CLI_OK && (i < na || j < nb)) {
        int c = i == na ? 1 : j == nb ? -1 : keycmp(va[i].name, va[i].n, vb[j].name, vb[j].n);
        tensor_diff d;
        memset(&d, 0, sizeof d);
        if (c <= 0)
            (void)trove_file_tensor_info(fa, va[i].index, &d.a);
        if (c >= 0)
            (void)trove_file_tensor_info(fb, vb[j].index, &d.b);
        if (c != 0) {
            d.kind = c < 0 ? '-' : '+';
        } else if (same_shape(&d.a, &d.b)) {
            const void *da, *db;
            code = tensor_data(fa, pa, va[i].index, verify, &da);
            if (code == CLI_OK)
                code = tensor_data(fb, pb, vb[j].index, verify, &db);
            if (code == CLI_OK) {
                compare_values(&d, da, db);
                d.kind = d.a.dtype != d.b.dtype || d.ndiff ? '~' : 0;
            }
        } else {
            d.kind = '~';
        }
        if (code == CLI_OK && d.kind) {
            tensor_diff *slot = push_tensor(s);
            if (slot)
                *slot = d;
        } else if (code == CLI_OK) {
            s->identical++;
        }
        if (c <= 0)
            i++;
        if (c >= 0)
            j++;
    }
    free(va);
    free(vb);
    return code;
}

/* ---- Output ------------------------------------------------------------------------------ */

static void put_value_short(FILE *out, const trove_value *v)
{
    char *json = NULL;
    size_t len = 0;
    if (trove_value_to_json(v, NULL, 0, &json, &len, NULL) != TROVE_OK) {
        fputs("?", out);
        return;
    }
    if (len > VALUE_SHOWN) {
        size_t cut = VALUE_SHOWN;
        while (cut > 0 && ((unsigned char)json[cut] & 0xc0) == 0x80)
            cut--;
        cli_put_escaped(out, json, cut);
        fprintf(out, "... (%zu chars)", len);
    } else {
        cli_put_escaped(out, json, len);
    }
    free(json);
}

static void put_value_json(FILE *out, const trove_value *v)
{
    char *json = NULL;
    if (trove_value_to_json(v, NULL, 0, &json, NULL, NULL) != TROVE_OK) {
        fputs("null", out);
        return;
    }
    fputs(json, out);
    free(json);
}

static void put_tensor_brief(FILE *out, const trove_tensor_info *ti)
{
    char shape[256];
    fprintf(out, "%s %s", trove_dtype_name(ti->dtype), cli_shape(ti->rank, ti->shape, shape,
                                                                 sizeof shape));
}

static void put_max(FILE *out, const tensor_diff *d)
{
    char buf[64];
    if (d->exact_int)
        fprintf(out, "%" PRIu64, d->max_u);
    else
        fputs(cli_format_float(d->max_d, TROVE_FLOAT64, buf, sizeof buf), out);
}

static void print_human(FILE *out, const diff_state *s, const char *pa, const char *pb)
{
    if (!s->nm && !s->nt) {
        fprintf(out, "identical: same metadata, %zu tensors with the same values\n",
                s->identical);
        return;
    }
    fputs("--- ", out);
    cli_put_escaped(out, pa, strlen(pa));
    fputs("\n+++ ", out);
    cli_put_escaped(out, pb, strlen(pb));
    fputc('\n', out);
    if (s->nm) {
        fprintf(out, "metadata: %zu difference%s\n", s->nm, s->nm == 1 ? "" : "s");
        for (size_t i = 0; i < s->nm; i++) {
            const meta_diff *m = &s->m[i];
            fprintf(out, "  %c ", m->kind);
            cli_put_escaped(out, m->path, strlen(m->path));
            fputs(": ", out);
            if (m->kind == '~') {
                put_value_short(out, m->a);
                fputs(" -> ", out);
                put_value_short(out, m->b);
            } else {
                put_value_short(out, m->kind == '-' ? m->a : m->b);
            }
            fputc('\n', out);
        }
    }
    if (s->nt) {
        fprintf(out, "tensors: %zu difference%s, %zu identical\n", s->nt, s->nt == 1 ? "" : "s",
                s->identical);
        for (size_t i = 0; i < s->nt; i++) {
            const tensor_diff *d = &s->t[i];
            const trove_tensor_info *ti = d->kind == '+' ? &d->b : &d->a;
            fprintf(out, "  %c ", d->kind);
            cli_put_escaped(out, ti->name, ti->name_len);
            fputs(": ", out);
            if (d->kind != '~') {
                fputs(d->kind == '-' ? "only in A (" : "only in B (", out);
                put_tensor_brief(out, ti);
                fputs(")\n", out);
                continue;
            }
            const char *sep = "";
            if (d->a.dtype != d->b.dtype) {
                fprintf(out, "dtype %s -> %s", trove_dtype_name(d->a.dtype),
                        trove_dtype_name(d->b.dtype));
                sep = "; ";
            }
            if (!same_shape(&d->a, &d->b)) {
                char s1[256], s2[256];
                fprintf(out, "%sshape %s -> %s", sep,
                        cli_shape(d->a.rank, d->a.shape, s1, sizeof s1),
                        cli_shape(d->b.rank, d->b.shape, s2, sizeof s2));
            } else if (d->ndiff) {
                fprintf(out, "%s%" PRIu64 " of %" PRIu64 " elements differ", sep, d->ndiff,
                        d->a.count);
                if (d->ndiff > d->nan_mismatch) {
                    fputs(", max abs diff ", out);
                    put_max(out, d);
                }
                if (d->nan_mismatch)
                    fprintf(out, ", %" PRIu64 " NaN on one side only", d->nan_mismatch);
            } else {
                fprintf(out, "%sequal values", sep);
            }
            fputc('\n', out);
        }
    } else {
        fprintf(out, "tensors: %zu identical\n", s->identical);
    }
}

static void put_shape_json(FILE *out, const trove_tensor_info *ti)
{
    fputc('[', out);
    for (uint32_t r = 0; r < ti->rank; r++)
        fprintf(out, "%s%" PRIu64, r ? ", " : "", ti->shape[r]);
    fputc(']', out);
}

static void put_meta_list_json(FILE *out, const diff_state *s, char kind)
{
    int first = 1;
    fputc('[', out);
    for (size_t i = 0; i < s->nm; i++) {
        const meta_diff *m = &s->m[i];
        if (m->kind != kind)
            continue;
        fputs(first ? "\n      {" : ",\n      {", out);
        first = 0;
        if (kind == '~') {
            fputs("\"a\": ", out);
            put_value_json(out, m->a);
            fputs(", \"b\": ", out);
            put_value_json(out, m->b);
            fputs(", ", out);
        }
        fputs("\"path\": ", out);
        cli_put_json_string(out, m->path, strlen(m->path));
        if (kind != '~') {
            fputs(", \"value\": ", out);
            put_value_json(out, kind == '-' ? m->a : m->b);
        }
        fputc('}', out);
    }
    fputs(first ? "]" : "\n    ]", out);
}

static void put_only_json(FILE *out, const diff_state *s, char kind)
{
    int first = 1;
    fputc('[', out);
    for (size_t i = 0; i < s->nt; i++) {
        const tensor_diff *d = &s->t[i];
        if (d->kind != kind)
            continue;
        const trove_tensor_info *ti = kind == '-' ? &d->a : &d->b;
        fprintf(out, "%s{\"dtype\": \"%s\", \"name\": ", first ? "\n      " : ",\n      ",
                trove_dtype_name(ti->dtype));
        first = 0;
        cli_put_json_string(out, ti->name, ti->name_len);
        fputs(", \"shape\": ", out);
        put_shape_json(out, ti);
        fputc('}', out);
    }
    fputs(first ? "]" : "\n    ]", out);
}

static void print_json(FILE *out, const diff_state *s)
{
    fprintf(out, "{\n  \"identical\": %s,\n  \"metadata\": {\n    \"added\": ",
            s->nm || s->nt ? "false" : "true");
    put_meta_list_json(out, s, '+');
    fputs(",\n    \"changed\": ", out);
    put_meta_list_json(out, s, '~');
    fputs(",\n    \"removed\": ", out);
    put_meta_list_json(out, s, '-');
    fputs("\n  },\n  \"tensors\": {\n    \"changed\": [", out);
    int first = 1;
    for (size_t i = 0; i < s->nt; i++) {
        const tensor_diff *d = &s->t[i];
        if (d->kind != '~')
            continue;
        fprintf(out, "%s{\"a_dtype\": \"%s\", \"a_shape\": ", first ? "\n      " : ",\n      ",
                trove_dtype_name(d->a.dtype));
        first = 0;
        put_shape_json(out, &d->a);
        fprintf(out, ", \"b_dtype\": \"%s\", \"b_shape\": ", trove_dtype_name(d->b.dtype));
        put_shape_json(out, &d->b);
        if (d->compared) {
            fprintf(out, ", \"differing_elements\": %" PRIu64 ", \"max_abs_diff\": ", d->ndiff);
            put_max(out, d);
            fprintf(out, ", \"name\": ");
            cli_put_json_string(out, d->a.name, d->a.name_len);
            fprintf(out, ", \"nan_mismatches\": %" PRIu64 "}", d->nan_mismatch);
        } else {
            fputs(", \"differing_elements\": null, \"max_abs_diff\": null, \"name\": ", out);
            cli_put_json_string(out, d->a.name, d->a.name_len);
            fputs(", \"nan_mismatches\": null}", out);
        }
    }
    fputs(first ? "]" : "\n    ]", out);
    fprintf(out, ",\n    \"identical\": %zu,\n    \"only_in_a\": ", s->identical);
    put_only_json(out, s, '-');
    fputs(",\n    \"only_in_b\": ", out);
    put_only_json(out, s, '+');
    fputs("\n  }\n}\n", out);
}

/* ---- Command ----------------------------------------------------------------------------- */

static int open_for_diff(const char *path, trove_file **f)
{
    int code = cli_open("diff", path, 0, f);
    return code == CLI_OK || code == CLI_IO || code == CLI_CHECKSUM ? code : CLI_DIFF_ERROR;
}

int cli_cmd_diff(int argc, char **argv)
{
    const char *pa = NULL, *pb = NULL;
    int json = 0, quiet = 0, verify = 1, opts_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && cli_is_help(a)) {
            fputs(usage_text, stdout);
            return CLI_OK;
        } else if (!opts_done && !strcmp(a, "--json")) {
            json = 1;
        } else if (!opts_done && (!strcmp(a, "-q") || !strcmp(a, "--quiet"))) {
            quiet = 1;
        } else if (!opts_done && !strcmp(a, "--no-verify")) {
            verify = 0;
        } else if (!opts_done && !strcmp(a, "--")) {
            opts_done = 1;
        } else if (!opts_done && a[0] == '-' && a[1]) {
            return cli_usage_error("diff", "unknown option '%s'", a);
        } else if (!pa) {
            pa = a;
        } else if (!pb) {
            pb = a;
        } else {
            return cli_usage_error("diff", "too many arguments ('%s')", a);
        }
    }
    if (!pa || !pb)
        return cli_usage_error("diff", "need two files, A and B");

    trove_file *fa = NULL, *fb = NULL;
    diff_state s;
    memset(&s, 0, sizeof s);
    int code = open_for_diff(pa, &fa);
    if (code == CLI_OK)
        code = open_for_diff(pb, &fb);
    if (code == CLI_OK) {
        diff_values(&s, "", trove_file_metadata(fa), trove_file_metadata(fb));
        code = diff_tensors(&s, fa, pa, fb, pb, verify);
    }
    if (code == CLI_OK && s.oom) {
        fprintf(stderr, "trove diff: out of memory\n");
        code = CLI_DIFF_ERROR;
    }
    if (code == CLI_OK) {
        if (json && !quiet)
            print_json(stdout, &s);
        else if (!quiet)
            print_human(stdout, &s, pa, pb);
        code = s.nm || s.nt ? CLI_FAIL : CLI_OK;
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "trove diff: cannot write the output\n");
            code = CLI_IO;
        }
    }
    for (size_t i = 0; i < s.nm; i++)
        free(s.m[i].path);
    free(s.m);
    free(s.t);
    trove_close(fa);
    trove_close(fb);
    return code;
}
