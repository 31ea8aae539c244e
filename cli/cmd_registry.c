/* cmd_registry.c: the registry commands: push, pull, models, log, alias, rm, gc, fsck, and
 * `trove diff REF REF` (refs are pulled to temporary files, then the file diff runs). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define MAX_KV 256

/* Options shared by the registry commands; positional arguments are collected in pos. */
typedef struct reg_args {
    const char *registry, *message, *alias, *parent, *author, *data, *out;
    const char *metrics[MAX_KV], *params[MAX_KV];
    size_t n_metrics, n_params;
    int json, force, del, history, quiet, rehash;
    trove_pubkey keys[16];      /* --pubkey, repeatable */
    size_t nkeys;
    const char *pos[8];
    int npos;
} reg_args;

static int usage_of(const char *cmd, const char *text, int to_err)
{
    fprintf(to_err ? stderr : stdout, "usage: trove %s\n%s", cmd, text);
    return to_err ? CLI_USAGE : CLI_OK;
}

static const char common_help[] =
    "\nThe registry is --registry DIR, else $TROVE_REGISTRY, else "
    "$XDG_DATA_HOME/trove/registry\n(default ~/.local/share/trove/registry). "
    "See docs/REGISTRY.md.\n";

/* Parse argv (argv[0] is the command). Returns -1 on success, else an exit code. */
static int parse(int argc, char **argv, reg_args *a, const char *synopsis, const char *help)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKE(field)                                                                                \
    do {                                                                                           \
        if (!next) {                                                                               \
            fprintf(stderr, "trove %s: %s needs a value\n", argv[0], s);                           \
            return CLI_USAGE;                                                                      \
        }                                                                                          \
        a->field = next;                                                                           \
        i++;                                                                                       \
    } while (0)
        if (cli_is_help(s)) {
            printf("usage: trove %s\n%s%s", synopsis, help, common_help);
            return CLI_OK;
        } else if (!strcmp(s, "--registry")) {
            TAKE(registry);
        } else if (!strcmp(s, "-m") || !strcmp(s, "--message")) {
            TAKE(message);
        } else if (!strcmp(s, "--alias")) {
            TAKE(alias);
        } else if (!strcmp(s, "--parent")) {
            TAKE(parent);
        } else if (!strcmp(s, "--author")) {
            TAKE(author);
        } else if (!strcmp(s, "--data-digest")) {
            TAKE(data);
        } else if (!strcmp(s, "-o") || !strcmp(s, "--output")) {
            TAKE(out);
        } else if (!strcmp(s, "--metric") || !strcmp(s, "--param")) {
            int metric = s[2] == 'm';
            if (!next) {
                fprintf(stderr, "trove %s: %s needs KEY=VALUE\n", argv[0], s);
                return CLI_USAGE;
            }
            size_t *n = metric ? &a->n_metrics : &a->n_params;
            if (*n == MAX_KV) {
                fprintf(stderr, "trove %s: too many %s options\n", argv[0], s);
                return CLI_USAGE;
            }
            (metric ? a->metrics : a->params)[(*n)++] = next;
            i++;
        } else if (!strcmp(s, "--json")) {
            a->json = 1;
        } else if (!strcmp(s, "--force") || !strcmp(s, "-f") || !strcmp(s, "--repair")) {
            a->force = 1;
        } else if (!strcmp(s, "--delete")) {
            a->del = 1;
        } else if (!strcmp(s, "--history")) {
            a->history = 1;
        } else if (!strcmp(s, "--rehash")) {
            a->rehash = 1;
        } else if (!strcmp(s, "--pubkey")) {
            trove_error err = {0};
            if (!next) {
                fprintf(stderr, "trove %s: --pubkey needs a public key file\n", argv[0]);
                return CLI_USAGE;
            }
            if (a->nkeys == sizeof a->keys / sizeof a->keys[0]) {
                fprintf(stderr, "trove %s: too many --pubkey options\n", argv[0]);
                return CLI_USAGE;
            }
            if (trove_pubkey_load(&a->keys[a->nkeys], next, &err) != TROVE_OK)
                return cli_report(argv[0], next, &err);
            a->nkeys++;
            i++;
        } else if (!strcmp(s, "-q") || !strcmp(s, "--quiet")) {
            a->quiet = 1;
        } else if (s[0] == '-' && s[1] != '\0') {
            fprintf(stderr, "trove %s: unknown option '%s'\n", argv[0], s);
            return usage_of(synopsis, "", 1);
        } else {
            if (a->npos == 8) {
                fprintf(stderr, "trove %s: too many arguments\n", argv[0]);
                return CLI_USAGE;
            }
            a->pos[a->npos++] = s;
        }
#undef TAKE
    }
    return -1;
}

static int open_registry(const char *cmd, const reg_args *a, unsigned flags, trove_registry **r)
{
    char dir[4096];
    trove_error err = {0};
    if (a->registry) {
        snprintf(dir, sizeof dir, "%s", a->registry);
    } else if (trove_registry_default_dir(dir, sizeof dir, &err) != TROVE_OK) {
        return cli_report(cmd, NULL, &err);
    }
    trove_registry_options o = TROVE_REGISTRY_OPTIONS_INIT;
    o.flags = flags;
    const char *ns = getenv("TROVE_REGISTRY_NO_SYNC");
    if (ns && !strcmp(ns, "1"))
        o.flags |= TROVE_REGISTRY_NO_SYNC;
    if (trove_registry_open(r, dir, &o, &err) != TROVE_OK)
        return cli_report(cmd, NULL, &err);
    return CLI_OK;
}

static void print_time(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm))
        strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm);
    else
        snprintf(buf, cap, "%lld", (long long)t);
}

static void json_str(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void json_version(FILE *out, const trove_version *v)
{
    char hx[65], ts[32];
    print_time(v->created, ts, sizeof ts);
    fprintf(out, "{\"model\": ");
    json_str(out, v->model);
    fprintf(out, ", \"version\": %lld, \"digest\": \"%s\"", (long long)v->number,
            cli_hex(v->digest, 32, hx));
    fprintf(out, ", \"file_bytes\": %llu, \"created\": %lld, \"created_utc\": \"%s\"",
            (unsigned long long)v->file_bytes, (long long)v->created, ts);
    fprintf(out, ", \"author\": ");
    json_str(out, v->author);
    fprintf(out, ", \"message\": ");
    json_str(out, v->message);
    fprintf(out, ", \"metrics\": %s, \"params\": %s", v->metrics_json ? v->metrics_json : "{}",
            v->params_json ? v->params_json : "{}");
    fprintf(out, ", \"parent\": ");
    json_str(out, v->parent);
    fprintf(out, ", \"parent_digest\": ");
    if (v->has_parent_digest)
        fprintf(out, "\"%s\"", cli_hex(v->parent_digest, 32, hx));
    else
        fputs("null", out);
    fprintf(out, ", \"training_data\": ");
    json_str(out, v->data_digest);
    fprintf(out, ", \"signature\": ");
    json_str(out, v->signature);
    fprintf(out, ", \"aliases\": [");
    if (v->aliases) {
        const char *p = v->aliases;
        int first = 1;
        while (*p) {
            const char *e = strchr(p, ',');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            fprintf(out, "%s\"%.*s\"", first ? "" : ", ", (int)n, p);
            first = 0;
            p += n + (e ? 1 : 0);
        }
    }
    fprintf(out, "]}");
}

/* ---- push ---------------------------------------------------------------------------------- */
int cli_cmd_push(int argc, char **argv)
{
    static const char syn[] = "push FILE NAME [-m MESSAGE] [--alias ALIAS] [--parent REF] "
                              "[--metric K=V]... [--param K=V]... [--author WHO] "
                              "[--data-digest D] [--pubkey NAME.pub]... [--registry DIR] "
                              "[--json]\n";
    static const char help[] =
        "\nRegister FILE as the next version of model NAME (created when new). Pushing bytes\n"
        "that are already a version of NAME registers nothing and reports that version.\n"
        "Metrics and parameters come from the file's metadata (\"metrics\", \"params\") and "
        "--metric/--param.\n"
        "Embedded signatures that carry their public key are checked against the content (a\n"
        "bad one is refused, exit 5) and recorded; --pubkey K (repeatable) requires a valid\n"
        "signature by a trusted key: exits 8 unsigned, 9 unknown signer, 5 bad signature.\n";
    reg_args a;
    int rc = parse(argc, argv, &a, syn, help);
    if (rc >= 0)
        return rc;
    if (a.npos != 2)
        return usage_of(syn, "", 1);
    trove_registry *r = NULL;
    if ((rc = open_registry("push", &a, TROVE_REGISTRY_CREATE, &r)) != CLI_OK)
        return rc;
    trove_push_options po = TROVE_PUSH_OPTIONS_INIT;
    po.message = a.message;
    po.alias = a.alias;
    po.parent = a.parent;
    po.author = a.author;
    po.data_digest = a.data;
    po.metrics = a.metrics;
    po.n_metrics = a.n_metrics;
    po.params = a.params;
    po.n_params = a.n_params;
    po.trusted = a.keys;
    po.ntrusted = a.nkeys;
    trove_verify_result res;
    memset(&res, 0, sizeof res);
    po.sig_result = &res;
    trove_version *v = NULL;
    trove_error err = {0};
    int prc = trove_registry_push(r, a.pos[0], a.pos[1], &po, &v, &err);
    if (prc != TROVE_OK) {
        cli_report("push", a.pos[0], &err);
        rc = a.nkeys ? cli_signature_exit(prc, &res) : cli_exit_code(prc);
    } else {
        char hx[65], sz[32];
        if (a.json) {
            json_version(stdout, v);
            putchar('\n');
        } else {
            printf("%s:%lld  %s  %s%s%s\n", v->model, (long long)v->number,
                   cli_hex(v->digest, 32, hx),
                   cli_human_size(v->file_bytes, sz, sizeof sz), v->aliases ? "  @" : "",
                   v->aliases ? v->aliases : "");
        }
        rc = CLI_OK;
    }
    trove_registry_versions_free(r, v, 1);
    trove_registry_close(r);
    return rc;
}

/* ---- pull ---------------------------------------------------------------------------------- */
int cli_cmd_pull(int argc, char **argv)
{
    static const char syn[] =
        "pull REF -o FILE [--rehash] [--pubkey NAME.pub ...] [--registry DIR]\n";
    static const char help[] =
        "\nWrite version REF (NAME, NAME:VERSION, NAME@ALIAS or a digest prefix) to FILE,\n"
        "byte-identical to the pushed file. Every byte is checked against the file's own\n"
        "checksums, its header re-hashed and its model digest compared before FILE appears;\n"
        "a damaged registry exits 4 and writes nothing.\n"
        "--rehash     also re-hash every blob with BLAKE2b (catches a deliberate substitution\n"
        "             by someone who can write the blob store; about 3x the CPU)\n"
        "--pubkey K   require a valid signature by a trusted key (repeatable; implies\n"
        "             --rehash); exits 8 unsigned, 9 unknown signer, 5 bad signature\n";
    reg_args a;
    int rc = parse(argc, argv, &a, syn, help);
    if (rc >= 0)
        return rc;
    if (a.npos != 1 || !a.out)
        return usage_of(syn, "", 1);
    trove_registry *r = NULL;
    if ((rc = open_registry("pull", &a, a.rehash ? TROVE_REGISTRY_REHASH : 0, &r)) != CLI_OK)
        return rc;
    trove_version *v = NULL;
    trove_error err = {0};
    trove_verify_result res;
    memset(&res, 0, sizeof res);
    int prc = a.nkeys ? trove_registry_pull_trusted(r, a.pos[0], a.out, a.keys, a.nkeys, &res,
                                                    &v, &err)
                      : trove_registry_pull(r, a.pos[0], a.out, &v, &err);
    if (prc != TROVE_OK) {
        cli_report("pull", a.pos[0], &err);
        rc = a.nkeys ? cli_signature_exit(prc, &res) : cli_exit_code(prc);
    } else {
        char hx[65], kh[2 * TROVE_KEY_ID_BYTES + 1];
        if (!a.quiet)
            printf("%s:%lld  %s  -> %s%s%s\n", v->model, (long long)v->number,
                   cli_hex(v->digest, 32, hx), a.out, a.nkeys ? "  signed by trusted key " : "",
                   a.nkeys ? cli_hex(res.key_id, TROVE_KEY_ID_BYTES, kh) : "");
        rc = CLI_OK;
    }
    trove_registry_versions_free(r, v, 1);
    trove_registry_close(r);
    return rc;
}

/* The signature status recorded at push, in a column: "-" unsigned, "verified KEYID" (a
 * trusted key at push), "signed KEYID[+N]" (valid, signer not checked), "unchecked KEYID". */
static void signature_column(const char *st, char *buf, size_t cap)
{
    const char *id = NULL, *word = NULL;
    if (!st || !strcmp(st, "unsigned")) {
        snprintf(buf, cap, "-");
        return;
    }
    if (!strncmp(st, "verified at push: valid signature by trusted key ", 49)) {
        word = "verified";
        id = st + 49;
    } else if (!strncmp(st, "signed by key id ", 17)) {
        word = "unchecked";
        id = st + 17;
    } else if (!strncmp(st, "signed by ", 10)) {
        word = "signed";
        id = st + 10;
    }
    if (!word) {
        snprintf(buf, cap, "%.24s", st);
        return;
    }
    size_t n = strspn(id, "0123456789abcdef");
    snprintf(buf, cap, "%s %.*s%s", word, (int)(n > 16 ? 16 : n), id,
             id[n] == ',' ? "+" : "");
}

/* ---- models / log -------------------------------------------------------------------------- */
int cli_cmd_models(int argc, char **argv)
{
    static const char syn[] = "models [--json] [--registry DIR]\n";
    reg_args a;
    int rc = parse(argc, argv, &a, syn, "\nList the models of the registry with their latest "
                                         "version.\n");
    if (rc >= 0)
        return rc;
    if (a.npos != 0)
        return usage_of(syn, "", 1);
    trove_registry *r = NULL;
    if ((rc = open_registry("models", &a, TROVE_REGISTRY_READONLY, &r)) != CLI_OK)
        return rc;
    trove_version *v = NULL;
    size_t n = 0, nc = 0;
    int64_t *counts = NULL;
    trove_error err = {0};
    if (trove_registry_log(r, NULL, &v, &n, &err) != TROVE_OK ||
        trove_registry_version_counts(r, &counts, &nc, &err) != TROVE_OK) {
        rc = cli_report("models", NULL, &err);
        goto out;
    }
    if (a.json) {
        printf("[");
        for (size_t i = 0; i < n; i++) {
            printf("%s{\"versions\": %lld, \"latest\": ", i ? ",\n " : "",
                   (long long)(i < nc ? counts[i] : 0));
            json_version(stdout, &v[i]);
            printf("}");
        }
        printf("]\n");
    } else {
        printf("%-24s %8s %7s  %-12s %10s  %-19s  %s\n", "MODEL", "VERSIONS", "LATEST", "DIGEST",
               "SIZE", "UPDATED (UTC)", "ALIASES");
        for (size_t i = 0; i < n; i++) {
            char hx[65], sz[32], ts[32];
            print_time(v[i].created, ts, sizeof ts);
            cli_hex(v[i].digest, 32, hx);
            printf("%-24s %8lld %7lld  %-12.12s %10s  %-19s", v[i].model,
                   (long long)(i < nc ? counts[i] : 0), (long long)v[i].number, hx,
                   cli_human_size(v[i].file_bytes, sz, sizeof sz), ts);
            /* every alias of the model as alias=VERSION */
            trove_version *all = NULL;
            size_t na = 0;
            const char *sep = "  ";
            if (trove_registry_log(r, v[i].model, &all, &na, NULL) == TROVE_OK) {
                for (size_t k = 0; k < na; k++) {
                    const char *p = all[k].aliases;
                    while (p && *p) {
                        const char *e = strchr(p, ',');
                        int len = (int)(e ? (size_t)(e - p) : strlen(p));
                        printf("%s%.*s=%lld", sep, len, p, (long long)all[k].number);
                        sep = ",";
                        p = e ? e + 1 : NULL;
                    }
                }
            }
            trove_registry_versions_free(r, all, na);
            putchar('\n');
        }
    }
    rc = CLI_OK;
out:
    trove_free(NULL, counts);
    trove_registry_versions_free(r, v, n);
    trove_registry_close(r);
    return rc;
}

int cli_cmd_log(int argc, char **argv)
{
    static const char syn[] = "log NAME [--json] [--registry DIR]\n";
    reg_args a;
    int rc = parse(argc, argv, &a, syn,
                   "\nThe history of model NAME: every version, oldest first, with its digest, "
                   "author,\naliases, parent, metrics and message; then every alias move.\n");
    if (rc >= 0)
        return rc;
    if (a.npos != 1)
        return usage_of(syn, "", 1);
    trove_registry *r = NULL;
    if ((rc = open_registry("log", &a, TROVE_REGISTRY_READONLY, &r)) != CLI_OK)
        return rc;
    trove_version *v = NULL;
    trove_alias_move *m = NULL;
    size_t n = 0, nm = 0;
    trove_error err = {0};
    if (trove_registry_log(r, a.pos[0], &v, &n, &err) != TROVE_OK ||
        trove_registry_alias_history(r, a.pos[0], &m, &nm, &err) != TROVE_OK) {
        rc = cli_report("log", a.pos[0], &err);
        goto out;
    }
    if (a.json) {
        printf("{\"model\": ");
        json_str(stdout, a.pos[0]);
        printf(", \"versions\": [");
        for (size_t i = 0; i < n; i++) {
            printf(i ? ",\n  " : "\n  ");
            json_version(stdout, &v[i]);
        }
        printf("],\n \"alias_moves\": [");
        for (size_t i = 0; i < nm; i++) {
            printf("%s{\"alias\": ", i ? ",\n  " : "\n  ");
            json_str(stdout, m[i].alias);
            printf(", \"from\": ");
            if (m[i].from) printf("%lld", (long long)m[i].from); else printf("null");
            printf(", \"to\": ");
            if (m[i].to) printf("%lld", (long long)m[i].to); else printf("null");
            printf(", \"who\": ");
            json_str(stdout, m[i].who);
            printf(", \"at\": %lld}", (long long)m[i].at);
        }
        printf("]}\n");
    } else {
        printf("%7s  %-19s  %-12s  %-12s %10s  %-14s %-14s %-26s %s\n", "VERSION",
               "CREATED (UTC)", "AUTHOR", "DIGEST", "SIZE", "ALIASES", "PARENT", "SIGNATURE",
               "MESSAGE / METRICS");
        for (size_t i = 0; i < n; i++) {
            char hx[65], sz[32], ts[32], par[32];
            print_time(v[i].created, ts, sizeof ts);
            cli_hex(v[i].digest, 32, hx);
            if (v[i].parent)
                snprintf(par, sizeof par, "%s", v[i].parent);
            else if (v[i].has_parent_digest)
                snprintf(par, sizeof par, "%.12s", cli_hex(v[i].parent_digest, 32, hx + 0) );
            else
                snprintf(par, sizeof par, "-");
            cli_hex(v[i].digest, 32, hx);
            char sig[40];
            signature_column(v[i].signature, sig, sizeof sig);
            printf("%7lld  %-19s  %-12.12s  %-12.12s %10s  %-14s %-14.14s %-26s %s",
                   (long long)v[i].number, ts, v[i].author ? v[i].author : "", hx,
                   cli_human_size(v[i].file_bytes, sz, sizeof sz),
                   v[i].aliases ? v[i].aliases : "-", par, sig,
                   v[i].message ? v[i].message : "");
            if (v[i].metrics_json && strcmp(v[i].metrics_json, "{}") != 0)
                printf("  %s", v[i].metrics_json);
            putchar('\n');
        }
        if (nm) {
            printf("\nalias moves:\n");
            for (size_t i = 0; i < nm; i++) {
                char ts[32], from[24], to[24];
                print_time(m[i].at, ts, sizeof ts);
                snprintf(from, sizeof from, m[i].from ? "%lld" : "(new)", (long long)m[i].from);
                snprintf(to, sizeof to, m[i].to ? "%lld" : "(deleted)", (long long)m[i].to);
                printf("  %s  %-12s %s -> %s  by %s\n", ts, m[i].alias, from, to,
                       m[i].who ? m[i].who : "?");
            }
        }
    }
    rc = CLI_OK;
out:
    trove_registry_alias_moves_free(r, m, nm);
    trove_registry_versions_free(r, v, n);
    trove_registry_close(r);
    return rc;
}

/* ---- alias / rm ---------------------------------------------------------------------------- */
int cli_cmd_alias(int argc, char **argv)
{
    static const char syn[] = "alias NAME ALIAS VERSION | alias NAME ALIAS --delete | "
                              "alias NAME --history [--registry DIR]\n";
    reg_args a;
    int rc = parse(argc, argv, &a, syn,
                   "\nPoint ALIAS (e.g. prod, staging) of model NAME at VERSION; every move is "
                   "recorded\n(who, when, from which version), so a rollback is one command.\n");
    if (rc >= 0)
        return rc;
    trove_registry *r = NULL;
    trove_error err = {0};
    if (a.history || a.npos == 1) {
        if (a.npos != 1)
            return usage_of(syn, "", 1);
        if ((rc = open_registry("alias", &a, TROVE_REGISTRY_READONLY, &r)) != CLI_OK)
            return rc;
        trove_alias_move *m = NULL;
        size_t nm = 0;
        if (trove_registry_alias_history(r, a.pos[0], &m, &nm, &err) != TROVE_OK) {
            rc = cli_report("alias", a.pos[0], &err);
        } else {
            for (size_t i = 0; i < nm; i++) {
                char ts[32];
                print_time(m[i].at, ts, sizeof ts);
                printf("%s  %s@%s  %lld -> %lld  by %s\n", ts, m[i].model, m[i].alias,
                       (long long)m[i].from, (long long)m[i].to, m[i].who ? m[i].who : "?");
            }
            rc = CLI_OK;
        }
        trove_registry_alias_moves_free(r, m, nm);
        trove_registry_close(r);
        return rc;
    }
    long long num = 0;
    if (a.del ? a.npos != 2 : a.npos != 3)
        return usage_of(syn, "", 1);
    if (!a.del) {
        char *end;
        errno = 0;
        num = strtoll(a.pos[2], &end, 10);
        if (*end || num <= 0 || errno) {
            fprintf(stderr, "trove alias: VERSION must be a positive number, not '%s'\n",
                    a.pos[2]);
            return CLI_USAGE;
        }
    }
    if ((rc = open_registry("alias", &a, 0, &r)) != CLI_OK)
        return rc;
    if (trove_registry_alias(r, a.pos[0], a.pos[1], num, a.author, &err) != TROVE_OK)
        rc = cli_report("alias", NULL, &err);
    else if (a.del)
        printf("%s@%s deleted\n", a.pos[0], a.pos[1]);
    else
        printf("%s@%s -> %s:%lld\n", a.pos[0], a.pos[1], a.pos[0], num);
    trove_registry_close(r);
    return rc;
}

int cli_cmd_rm(int argc, char **argv)
{
    static const char syn[] = "rm REF [--force] [--registry DIR]\n";
    reg_args a;
    int rc = parse(argc, argv, &a, syn,
                   "\nRemove version REF from the registry (its storage is freed by 'trove gc').\n"
                   "Refused while an alias points at it, unless --force (which deletes those "
                   "aliases).\n");
    if (rc >= 0)
        return rc;
    if (a.npos != 1)
        return usage_of(syn, "", 1);
    trove_registry *r = NULL;
    if ((rc = open_registry("rm", &a, 0, &r)) != CLI_OK)
        return rc;
    trove_error err = {0};
    if (trove_registry_rm(r, a.pos[0], a.force ? TROVE_RM_FORCE : 0, &err) != TROVE_OK)
        rc = cli_report("rm", a.pos[0], &err);
    else
        printf("removed %s\n", a.pos[0]);
    trove_registry_close(r);
    return rc;
}

/* ---- gc / fsck ----------------------------------------------------------------------------- */
static void print_stats(const trove_registry_stats *s)
{
    char a[32], b[32];
    printf("%llu versions, %s as files; %llu blobs, %s on disk", (unsigned long long)s->versions,
           cli_human_size(s->logical_bytes, a, sizeof a), (unsigned long long)s->blobs,
           cli_human_size(s->blob_bytes, b, sizeof b));
    if (s->logical_bytes && s->blob_bytes)
        printf(" (%.2fx dedup)", (double)s->logical_bytes / (double)s->blob_bytes);
    putchar('\n');
}

int cli_cmd_gc(int argc, char **argv)
{
    static const char syn[] = "gc [--registry DIR]\n";
    reg_args a;
    int rc = parse(argc, argv, &a, syn,
                   "\nRemove blobs that no version uses and temporary files of killed pushes.\n"
                   "Safe while others push and pull: it takes the registry's exclusive lock.\n");
    if (rc >= 0)
        return rc;
    if (a.npos != 0)
        return usage_of(syn, "", 1);
    trove_registry *r = NULL;
    if ((rc = open_registry("gc", &a, 0, &r)) != CLI_OK)
        return rc;
    trove_error err = {0};
    trove_registry_stats st;
    if (trove_registry_gc(r, &st, &err) != TROVE_OK) {
        rc = cli_report("gc", NULL, &err);
    } else {
        char b[32];
        printf("removed %llu files (%s); ", (unsigned long long)st.removed_blobs,
               cli_human_size(st.removed_bytes, b, sizeof b));
        print_stats(&st);
    }
    trove_registry_close(r);
    return rc;
}

typedef struct fsck_out {
    int quiet;
} fsck_out;

static void fsck_line(void *ctx, int damaged, const char *msg)
{
    const fsck_out *o = ctx;
    if (damaged)
        printf("DAMAGED: %s\n", msg);
    else if (!o->quiet)
        printf("%s\n", msg);
}

int cli_cmd_fsck(int argc, char **argv)
{
    static const char syn[] = "fsck [--quiet] [--repair] [--registry DIR]\n";
    reg_args a;
    int rc = parse(argc, argv, &a, syn,
                   "\nCheck the catalog (integrity, every version row's checksum and layout) and "
                   "re-hash\nevery blob. Prints each problem; exit 0 when none, 4 when something "
                   "is damaged.\n--repair removes damaged blobs, so that pushing a file that "
                   "holds them restores them.\n");
    if (rc >= 0)
        return rc;
    if (a.npos != 0)
        return usage_of(syn, "", 1);
    trove_registry *r = NULL;
    if ((rc = open_registry("fsck", &a, a.force ? 0 : TROVE_REGISTRY_READONLY, &r)) != CLI_OK)
        return rc;
    trove_error err = {0};
    trove_registry_stats st;
    fsck_out fo = {a.quiet};
    int s = trove_registry_fsck(r, a.force ? TROVE_FSCK_REPAIR : 0, fsck_line, &fo, &st, &err);
    if (s == TROVE_OK) {
        printf("fsck: ok; ");
        print_stats(&st);
    } else {
        rc = cli_report("fsck", NULL, &err);
    }
    trove_registry_close(r);
    return rc;
}

/* ---- diff REF REF -------------------------------------------------------------------------- */
int cli_cmd_diff_refs(int argc, char **argv)
{
    const char *registry = NULL;
    char *nargv[64];
    char tmps[2][64];
    int ntmp = 0, nargc = 0, rc = CLI_OK;
    trove_registry *r = NULL;
    if (argc > 60)
        return cli_cmd_diff(argc, argv);
    for (int i = 0; i < argc; i++) {
        if (i > 0 && !strcmp(argv[i], "--registry") && i + 1 < argc) {
            registry = argv[++i];
            continue;
        }
        nargv[nargc++] = argv[i];
    }
    nargv[nargc] = NULL;
    for (int i = 1; i < nargc; i++) {
        const char *s = nargv[i];
        if (s[0] == '-' || access(s, F_OK) == 0 || ntmp == 2)
            continue;
        if (!r) {
            reg_args a;
            memset(&a, 0, sizeof a);
            a.registry = registry;
            if (open_registry("diff", &a, TROVE_REGISTRY_READONLY, &r) != CLI_OK) {
                r = NULL;
                break; /* not a registry ref: the file diff reports the missing file */
            }
        }
        trove_version *v = NULL;
        trove_error err = {0};
        int st = trove_registry_resolve(r, s, &v, &err);
        if (st == TROVE_E_NOT_FOUND && !strchr(s, ':') && !strchr(s, '@'))
            continue; /* not a model: the file diff reports the missing file */
        if (st != TROVE_OK) {
            rc = cli_report("diff", s, &err);
            goto out;
        }
        trove_registry_versions_free(r, v, 1);
        const char *td = getenv("TMPDIR");
        snprintf(tmps[ntmp], sizeof tmps[ntmp], "%.40s/trove-diff-XXXXXX", td && *td ? td : "/tmp");
        int fd = mkstemp(tmps[ntmp]);
        if (fd < 0) {
            fprintf(stderr, "trove diff: cannot create a temporary file: %s\n", strerror(errno));
            rc = CLI_IO;
            goto out;
        }
        close(fd);
        ntmp++;
        if (trove_registry_pull(r, s, tmps[ntmp - 1], NULL, &err) != TROVE_OK) {
            rc = cli_report("diff", s, &err);
            goto out;
        }
        nargv[i] = tmps[ntmp - 1];
    }
    trove_registry_close(r);
    r = NULL;
    rc = cli_cmd_diff(nargc, nargv);
out:
    trove_registry_close(r);
    for (int i = 0; i < ntmp; i++)
        unlink(tmps[i]);
    return rc;
}
