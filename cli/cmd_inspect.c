/* cmd_inspect.c: `trove inspect FILE [--json] [--no-digest]`: version, features, metadata tree,
 * tensor table and model digest of a file, for people or (--json) for programs. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_trust.h"

#define ARRAY_SHOWN 20      /* human view: items of a metadata array shown before "... more" */
#define STRING_SHOWN 400    /* human view: bytes of a metadata string shown */
#define INLINE_WIDTH 72     /* human view: widest array of scalars printed on one line */

static const char *usage_text =
    "usage: trove inspect FILE [--json] [--no-digest]\n"
    "\n"
    "Show what a trove file holds: its size, format version, feature bits, header size,\n"
    "model digest, metadata tree and a table of its tensors (name, dtype, shape, size,\n"
    "offset, stored size, compression). The file's structure and header checksum are\n"
    "validated; tensor checksums are not (use 'trove verify').\n"
    "\n"
    "The model digest is BLAKE2b-256 over the metadata and every tensor (docs/FORMAT.md):\n"
    "taken from the stored tensor digests when the file has them, else computed by reading\n"
    "every tensor byte.\n"
    "\n"
    "options:\n"
    "  --json        machine-readable JSON (object keys sorted; metadata keys in the file's\n"
    "                canonical order)\n"
    "  --no-digest   do not compute the digest (fast on huge files without stored digests)\n"
    CLI_KEYED_USAGE
    "\n"
    "exit codes: 0 ok, 1 malformed file, or the digest could not be computed (e.g. a damaged\n"
    "compressed tensor: everything else is still printed, the digest as unavailable/null),\n"
    "2 usage, 3 cannot read the file.\n";

static int is_scalar(const trove_value *v)
{
    trove_value_type t = trove_value_type_of(v);
    return t != TROVE_VALUE_ARRAY && t != TROVE_VALUE_MAP;
}

/* One scalar (or an empty container) as display text. */
static void put_scalar(FILE *out, const trove_value *v)
{
    char buf[64];
    int64_t i;
    uint64_t u;
    double d;
    int b;
    const char *s;
    const void *p;
    size_t n;
    switch (trove_value_type_of(v)) {
    case TROVE_VALUE_NULL: fputs("null", out); break;
    case TROVE_VALUE_BOOL:
        (void)trove_value_get_bool(v, &b);
        fputs(b ? "true" : "false", out);
        break;
    case TROVE_VALUE_INT: (void)trove_value_get_int(v, &i); fprintf(out, "%" PRId64, i); break;
    case TROVE_VALUE_UINT: (void)trove_value_get_uint(v, &u); fprintf(out, "%" PRIu64, u); break;
    case TROVE_VALUE_FLOAT:
        (void)trove_value_get_float(v, &d);
        fputs(cli_format_float(d, TROVE_FLOAT64, buf, sizeof buf), out);
        break;
    case TROVE_VALUE_STRING:
        (void)trove_value_get_string(v, &s, &n);
        fputc('"', out);
        if (n <= STRING_SHOWN) {
            cli_put_escaped(out, s, n);
            fputc('"', out);
        } else {
            size_t cut = STRING_SHOWN;
            while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
                cut--; /* do not split a UTF-8 sequence */
            cli_put_escaped(out, s, cut);
            fprintf(out, "\"... (%zu bytes in all)", n);
        }
        break;
    case TROVE_VALUE_BYTES:
        (void)trove_value_get_bytes(v, &p, &n);
        fprintf(out, "<%zu bytes", n);
        if (n) {
            char hex[2 * 16 + 1];
            fprintf(out, ": %s%s", cli_hex(p, n < 16 ? n : 16, hex), n > 16 ? "..." : "");
        }
        fputc('>', out);
        break;
    case TROVE_VALUE_ARRAY: fputs("[]", out); break;
    case TROVE_VALUE_MAP: fputs("{}", out); break;
    }
}

/* Render an array of scalars on one line into a malloc'd string: as many items as fit in
 * INLINE_WIDTH, then "...] (N items)". NULL when it holds a container or not even one item fits. */
static char *inline_array(const trove_value *v)
{
    size_t n = trove_value_count(v);
    for (size_t i = 0; i < n; i++)
        if (!is_scalar(trove_value_at(v, i)))
            return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return NULL;
    fputc('[', m);
    size_t shown = 0;
    for (; shown < n; shown++) {
        long mark = ftell(m);
        if (shown)
            fputs(", ", m);
        put_scalar(m, trove_value_at(v, shown));
        fflush(m);
        if (cli_width(buf) + 1 > INLINE_WIDTH) {
            fseek(m, mark, SEEK_SET);
            break;
        }
    }
    if (shown == n)
        fputc(']', m);
    else
        fprintf(m, "%s...] (%zu items)", shown ? ", " : "", n);
    long end = ftell(m);
    if (fclose(m) != 0) {
        free(buf);
        return NULL;
    }
    buf[end] = '\0'; /* drop what a rewind left after the end */
    if (shown == 0 && n > 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Map entries sorted by key (bytewise) for display. Caller frees. */
typedef struct entry {
    const char *key;
    size_t keylen;
    const trove_value *item;
} entry;

static int cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

static entry *sorted_entries(const trove_value *map, size_t *count)
{
    size_t n = trove_value_count(map);
    *count = n;
    entry *e = calloc(n ? n : 1, sizeof *e);
    if (!e)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (trove_value_map_entry(map, i, &e[i].key, &e[i].keylen, &e[i].item) != TROVE_OK)
            e[i].key = "", e[i].keylen = 0, e[i].item = NULL;
    qsort(e, n, sizeof *e, cmp_entry);
    return e;
}

/* Metadata as an indented tree, YAML-like: "key: value", nested maps indented by two, array
 * items as "- item" (a map item starts on the dash's line). `hang`: the first line's indent
 * was already printed (after "- "). Returns -1 on allocation failure. */
static int put_tree(FILE *out, const trove_value *v, int depth, int hang);

/* The value after "key:": a scalar or an inline array on the same line, else a block below. */
static int put_value(FILE *out, const trove_value *v, int depth)
{
    char *line;
    if (is_scalar(v) || trove_value_count(v) == 0) {
        fputc(' ', out);
        put_scalar(out, v);
        fputc('\n', out);
        return 0;
    }
    if (trove_value_type_of(v) == TROVE_VALUE_ARRAY && (line = inline_array(v)) != NULL) {
        fprintf(out, " %s\n", line);
        free(line);
        return 0;
    }
    fputc('\n', out);
    return put_tree(out, v, depth + 1, 0);
}

static int put_tree(FILE *out, const trove_value *v, int depth, int hang)
{
    if (trove_value_type_of(v) == TROVE_VALUE_MAP) {
        size_t n;
        entry *e = sorted_entries(v, &n);
        if (!e)
            return -1;
        for (size_t i = 0; i < n; i++) {
            if (i || !hang)
                fprintf(out, "%*s", 2 * depth, "");
            cli_put_escaped(out, e[i].key, e[i].keylen);
            fputc(':', out);
            if (put_value(out, e[i].item, depth) != 0) {
                free(e);
                return -1;
            }
        }
        free(e);
        return 0;
    }
    size_t n = trove_value_count(v);
    size_t shown = n > ARRAY_SHOWN ? ARRAY_SHOWN : n;
    for (size_t i = 0; i < shown; i++) {
        const trove_value *item = trove_value_at(v, i);
        char *line = NULL;
        if (i || !hang)
            fprintf(out, "%*s", 2 * depth, "");
        fputs("- ", out);
        if (is_scalar(item) || trove_value_count(item) == 0) {
            put_scalar(out, item);
            fputc('\n', out);
        } else if (trove_value_type_of(item) == TROVE_VALUE_ARRAY &&
                   (line = inline_array(item)) != NULL) {
            fprintf(out, "%s\n", line);
            free(line);
        } else if (put_tree(out, item, depth + 1, 1) != 0) {
            return -1;
        }
    }
    if (shown < n)
        fprintf(out, "%*s... (%zu more items, %zu in all)\n", 2 * depth, "", n - shown, n);
    return 0;
}

/* The digest as hex into hex (65 bytes); *source says how it was obtained. */
static int digest_of(trove_file *f, const char *path, char *hex, const char **source)
{
    uint64_t compat, ro, incompat;
    trove_file_features(f, &compat, &ro, &incompat);
    unsigned flags = (compat & TROVE_COMPAT_DIGESTS) ? TROVE_DIGEST_TRUST_STORED : 0;
    uint8_t d[TROVE_DIGEST_BYTES];
    trove_error err = {0};
    if (trove_file_digest(f, flags, 0, d, &err) != TROVE_OK) {
        int code = cli_report("inspect", path, &err);
        return code == CLI_OK ? CLI_FAIL : code;
    }
    cli_hex(d, sizeof d, hex);
    *source = flags ? "stored" : "computed";
    return CLI_OK;
}

static void put_feature_json(FILE *out, const char *kind, uint64_t bits)
{
    char names[512];
    cli_feature_names(kind, bits, names, sizeof names);
    fprintf(out, "    \"%s\": [", kind);
    if (bits) {
        /* names is "a, b, bit7": emit each as a JSON string */
        char *save = NULL;
        int first = 1;
        for (char *tok = strtok_r(names, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
            fprintf(out, "%s\"%s\"", first ? "" : ", ", tok);
            first = 0;
        }
    }
    fputs("]", out);
}

/* The embedded signature entries, as they claim (checking them is trove verify's job). The
 * entries are hostile input: any field of the wrong type or size is shown as missing. */
typedef struct sig_view {
    char key_id[2 * 64 + 1];
    int has_public_key, has_time;
    int64_t time;
    const char *alg, *comment;
    size_t comment_len;
} sig_view;

static void sig_view_of(const trove_value *e, sig_view *v)
{
    memset(v, 0, sizeof *v);
    const void *p;
    size_t n;
    if (trove_value_get_bytes(trove_value_get(e, "key_id"), &p, &n) == TROVE_OK && n <= 64)
        cli_hex(p, n, v->key_id);
    if (trove_value_get_string(trove_value_get(e, "alg"), &v->alg, NULL) != TROVE_OK)
        v->alg = NULL;
    v->has_public_key = trove_value_get_bytes(trove_value_get(e, "public_key"), &p, &n) ==
                            TROVE_OK && n == TROVE_PUBLIC_KEY_BYTES;
    const trove_value *sm = trove_value_get(e, "signed");
    v->has_time = trove_value_get_int(trove_value_get(sm, "time"), &v->time) == TROVE_OK;
    if (trove_value_get_string(trove_value_get(sm, "comment"), &v->comment, &v->comment_len) !=
        TROVE_OK)
        v->comment = NULL;
}

static const trove_value *signature_list(trove_file *f)
{
    const trove_value *s = trove_value_get(trove_file_header(f), "signatures");
    return trove_value_type_of(s) == TROVE_VALUE_ARRAY ? s : NULL;
}

static void put_signatures_json(FILE *out, trove_file *f)
{
    const trove_value *list = signature_list(f);
    fputs(",\n  \"signatures\": [", out);
    for (size_t i = 0; i < trove_value_count(list); i++) {
        sig_view v;
        sig_view_of(trove_value_at(list, i), &v);
        fprintf(out, "%s\n    {\"alg\": ", i ? "," : "");
        if (v.alg)
            cli_put_json_string(out, v.alg, strlen(v.alg));
        else
            fputs("null", out);
        fputs(", \"comment\": ", out);
        if (v.comment)
            cli_put_json_string(out, v.comment, v.comment_len);
        else
            fputs("null", out);
        fprintf(out, ", \"key_id\": \"%s\", \"public_key_embedded\": %s, \"time\": ", v.key_id,
                v.has_public_key ? "true" : "false");
        if (v.has_time)
            fprintf(out, "%" PRId64 "}", v.time);
        else
            fputs("null}", out);
    }
    fputs(trove_value_count(list) ? "\n  ]" : "]", out);
}

static void put_signatures_human(FILE *out, trove_file *f)
{
    const trove_value *list = signature_list(f);
    size_t n = trove_value_count(list);
    if (!n)
        return;
    fprintf(out, "signatures: %zu (as claimed; check them with trove verify --pubkey KEY.pub)\n",
            n);
    for (size_t i = 0; i < n; i++) {
        sig_view v;
        sig_view_of(trove_value_at(list, i), &v);
        char when[64] = "no time";
        time_t tt = (time_t)v.time;
        struct tm tmv;
        if (v.has_time && gmtime_r(&tt, &tmv))
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tmv);
        fprintf(out, "  key %s  %s  %s%s", v.key_id[0] ? v.key_id : "(no key id)",
                v.alg ? v.alg : "(no algorithm)", when,
                v.has_public_key ? "  public key embedded" : "");
        if (v.comment) {
            fputs("  \"", out);
            cli_put_escaped(out, v.comment, v.comment_len);
            fputc('"', out);
        }
        fputc('\n', out);
    }
}

static int inspect_json(trove_file *f, const char *path, int want_digest)
{
    char hex[2 * TROVE_DIGEST_BYTES + 1];
    const char *source = NULL;
    int code = CLI_OK;
    if (want_digest)
        code = digest_of(f, path, hex, &source); /* on failure: reported, "digest": null */

    char *meta = NULL;
    size_t metalen = 0;
    trove_error err = {0};
    if (trove_value_to_json(trove_file_metadata(f), NULL, 2, &meta, &metalen, &err) != TROVE_OK)
        return cli_report("inspect", path, &err);

    uint32_t major, minor;
    uint64_t compat, ro, incompat;
    trove_file_version(f, &major, &minor);
    trove_file_features(f, &compat, &ro, &incompat);
    const void *hp;
    size_t hlen;
    trove_file_header_bytes(f, &hp, &hlen);

    FILE *out = stdout;
    fputs("{\n  \"digest\": ", out);
    if (source)
        fprintf(out, "\"%s\",\n  \"digest_source\": \"%s\",\n", hex, source);
    else
        fputs("null,\n  \"digest_source\": null,\n", out);
    fputs("  \"features\": {\n", out);
    put_feature_json(out, "compat", compat);
    fputs(",\n", out);
    put_feature_json(out, "incompat", incompat);
    fputs(",\n", out);
    put_feature_json(out, "ro_compat", ro);
    fprintf(out, "\n  },\n  \"file\": ");
    cli_put_json_string(out, path, strlen(path));
    fprintf(out, ",\n  \"header_bytes\": %zu,\n  \"metadata\": ", hlen);
    /* re-indent the metadata JSON by two spaces: it contains no raw newline in strings */
    for (size_t i = 0; i < metalen; i++) {
        fputc(meta[i], out);
        if (meta[i] == '\n')
            fputs("  ", out);
    }
    free(meta);
    put_signatures_json(out, f);
    fprintf(out, ",\n  \"size\": %" PRIu64 ",\n  \"tensors\": [", trove_file_size(f));
    size_t n = trove_file_tensor_count(f);
    for (size_t i = 0; i < n; i++) {
        trove_tensor_info ti;
        if (trove_file_tensor_info(f, i, &ti) != TROVE_OK)
            continue;
        fprintf(out, "%s\n    {\"alignment\": %" PRIu32 ", \"compressed\": %s, \"dtype\": \"%s\", "
                     "\"name\": ",
                i ? "," : "", ti.alignment, ti.compressed ? "true" : "false",
                trove_dtype_name(ti.dtype));
        cli_put_json_string(out, ti.name, ti.name_len);
        fprintf(out, ", \"nbytes\": %" PRIu64 ", \"offset\": %" PRIu64 ", \"shape\": [", ti.nbytes,
                ti.offset);
        for (uint32_t r = 0; r < ti.rank; r++)
            fprintf(out, "%s%" PRIu64, r ? ", " : "", ti.shape[r]);
        fprintf(out, "], \"stored_bytes\": %" PRIu64 "}", ti.stored_bytes);
    }
    fprintf(out, "%s],\n  \"version\": \"%" PRIu32 ".%" PRIu32 "\"\n}\n", n ? "\n  " : "", major,
            minor);
    return code;
}

static int inspect_human(trove_file *f, const char *path, int want_digest)
{
    FILE *out = stdout;
    char h1[32], h2[32], buf[512];
    uint32_t major, minor;
    uint64_t compat, ro, incompat;
    trove_file_version(f, &major, &minor);
    trove_file_features(f, &compat, &ro, &incompat);
    const void *hp;
    size_t hlen;
    trove_file_header_bytes(f, &hp, &hlen);
    uint64_t size = trove_file_size(f);

    fputs("file:      ", out);
    cli_put_escaped(out, path, strlen(path));
    fprintf(out, "\nsize:      %s (%" PRIu64 " bytes)\n", cli_human_size(size, h1, sizeof h1),
            size);
    fprintf(out, "format:    %" PRIu32 ".%" PRIu32 "\n", major, minor);
    fprintf(out, "features:  compat: %s", cli_feature_names("compat", compat, buf, sizeof buf));
    fprintf(out, "; ro_compat: %s", cli_feature_names("ro_compat", ro, buf, sizeof buf));
    fprintf(out, "; incompat: %s\n", cli_feature_names("incompat", incompat, buf, sizeof buf));
    fprintf(out, "header:    %s\n", cli_human_size(hlen, h1, sizeof h1));
    fflush(out);

    int code = CLI_OK;
    if (want_digest) {
        char hex[2 * TROVE_DIGEST_BYTES + 1];
        const char *source = NULL;
        code = digest_of(f, path, hex, &source);
        if (code == CLI_OK)
            fprintf(out, "digest:    %s (BLAKE2b-256, %s)\n", hex,
                    !strcmp(source, "stored") ? "from the stored tensor digests"
                                              : "computed from the tensor bytes");
        else
            fprintf(out, "digest:    unavailable (see the error above)\n");
    }

    const trove_value *meta = trove_file_metadata(f);
    if (trove_value_count(meta) == 0) {
        fputs("metadata:  {}\n", out);
    } else {
        fputs("metadata:\n", out);
        if (put_tree(out, meta, 1, 0) != 0) {
            fprintf(stderr, "trove inspect: out of memory\n");
            return CLI_FAIL;
        }
    }

    size_t n = trove_file_tensor_count(f);
    uint64_t logical = 0, stored = 0;
    cli_table *t = cli_table_new(7, "lllrrrl");
    if (!t) {
        fprintf(stderr, "trove inspect: out of memory\n");
        return CLI_FAIL;
    }
    const char *head[7] = {"NAME", "DTYPE", "SHAPE", "SIZE", "OFFSET", "STORED", "COMPRESSED"};
    int oom = cli_table_add(t, head);
    for (size_t i = 0; i < n && !oom; i++) {
        trove_tensor_info ti;
        if (trove_file_tensor_info(f, i, &ti) != TROVE_OK)
            continue;
        logical += ti.nbytes;
        stored += ti.stored_bytes;
        char shape[256], sz[32], off[32], st[32], comp[32];
        char *name = cli_escaped(ti.name, ti.name_len);
        if (!name) {
            oom = 1;
            break;
        }
        cli_shape(ti.rank, ti.shape, shape, sizeof shape);
        cli_human_size(ti.nbytes, sz, sizeof sz);
        snprintf(off, sizeof off, "%" PRIu64, ti.offset);
        cli_human_size(ti.stored_bytes, st, sizeof st);
        if (!ti.compressed)
            snprintf(comp, sizeof comp, "no");
        else if (ti.nbytes)
            snprintf(comp, sizeof comp, "zstd %.0f%%", 100.0 * (double)ti.stored_bytes /
                                                           (double)ti.nbytes);
        else
            snprintf(comp, sizeof comp, "zstd");
        const char *row[7] = {name, trove_dtype_name(ti.dtype), shape, sz, off, st, comp};
        oom = cli_table_add(t, row);
        free(name);
    }
    if (oom) {
        cli_table_free(t);
        fprintf(stderr, "trove inspect: out of memory\n");
        return CLI_FAIL;
    }
    put_signatures_human(out, f);
    fprintf(out, "tensors:   %zu (%s, %s stored)\n", n, cli_human_size(logical, h1, sizeof h1),
            cli_human_size(stored, h2, sizeof h2));
    if (n)
        cli_table_print(t, out, 2);
    cli_table_free(t);
    return code;
}

int cli_cmd_inspect(int argc, char **argv)
{
    cli_secret_args sa = {0};
    int so;
    const char *path = NULL;
    int json = 0, digest = 1, opts_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && cli_is_help(a)) {
            fputs(usage_text, stdout);
            return CLI_OK;
        } else if (!opts_done && !strcmp(a, "--json")) {
            json = 1;
        } else if (!opts_done && !strcmp(a, "--no-digest")) {
            digest = 0;
        } else if (!opts_done && !strcmp(a, "--")) {
            opts_done = 1;
        } else if (!opts_done && (so = cli_secret_option(argc, argv, &i, &sa)) != 0) {
            if (so < 0)
                return CLI_USAGE;
        } else if (!opts_done && a[0] == '-' && a[1]) {
            return cli_usage_error("inspect", "unknown option '%s'", a);
        } else if (path) {
            return cli_usage_error("inspect", "one FILE only ('%s' is extra)", a);
        } else {
            path = a;
        }
    }
    if (!path)
        return cli_usage_error("inspect", "missing FILE");
    if (!cli_secret_given(&sa) && trove_is_encrypted(path)) /* public facts only */
        return cli_inspect_encrypted(path, json);
    trove_file *f;
    int code = cli_open_keyed("inspect", path, 0, &sa, &f);
    if (code != CLI_OK)
        return code;
    code = json ? inspect_json(f, path, digest) : inspect_human(f, path, digest);
    trove_close(f);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "trove inspect: cannot write the output\n");
        return CLI_IO;
    }
    return code;
}
