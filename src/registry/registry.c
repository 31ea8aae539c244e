/* registry.c: the public registry API: push (blobs first, then one transaction), pull (re-hash
 * every blob, verify the rebuilt file), log, aliases, rm, gc and fsck (docs/REGISTRY.md). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "format/layout.h"
#include "registry/blobstore.h"
#include "registry/catalog.h"
#include "registry/manifest.h"
#include "security/sigcheck.h"

#define DEFAULT_BUSY_MS 60000u
#define MAX_NAME 200

struct trove_registry {
    const trove_allocator *alloc;
    char *dir;
    trove__blobstore *bs;
    trove__catalog *cat;
    uint32_t flags, busy_ms, threads;
    unsigned out_mode;        /* mode of pulled files before the umask */
};

#define BS(r) ((r)->bs->ops)
#define CAT(r) ((r)->cat->ops)

/* ---- names, refs, small helpers ---------------------------------------------------------- */
static int valid_name(const char *s, const char *what, trove_error *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > MAX_NAME)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "%s must be 1 to %d characters", what, MAX_NAME);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-' && c != '/')
            return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                               "%s '%.200s': character '%c' not allowed (letters, digits, . _ - "
                               "and / only)", what, s, isprint(c) ? c : '?');
    }
    if (s[0] == '.' || s[0] == '/' || s[0] == '-')
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "%s '%.200s' must start with a letter, digit or _", what, s);
    return TROVE_OK;
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static char *dup_s(const trove_allocator *a, const char *s)
{
    return s ? trove__strndup(a, s, strlen(s)) : NULL;
}

static const char *default_author(void)
{
    const char *s = getenv("TROVE_AUTHOR");
    if (s && *s)
        return s;
    s = getenv("USER");
    if (s && *s)
        return s;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_name ? pw->pw_name : "unknown";
}

static int is_hex_prefix(const char *s)
{
    size_t n = strlen(s);
    if (n < 6 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Resolve a REF to one row (caller clears it). */
static int resolve_row(trove_registry *r, const char *ref, trove__vrow *out, trove_error *err)
{
    if (!ref || !*ref || strlen(ref) > 2 * MAX_NAME + 2)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "empty or overlong REF");
    char buf[2 * MAX_NAME + 4];
    snprintf(buf, sizeof buf, "%s", ref);
    char *at = strchr(buf, '@'), *colon = strrchr(buf, ':');
    if (at) {
        *at = '\0';
        int rc = valid_name(buf, "model name", err);
        if (!rc)
            rc = valid_name(at + 1, "alias", err);
        return rc ? rc : CAT(r)->get(r->cat, buf, 0, at + 1, out, err);
    }
    if (colon) {
        *colon = '\0';
        char *end;
        errno = 0;
        long long n = strtoll(colon + 1, &end, 10);
        if (!colon[1] || *end || n <= 0 || errno)
            return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                               "REF '%.200s': the version after ':' must be a positive number",
                               ref);
        int rc = valid_name(buf, "model name", err);
        return rc ? rc : CAT(r)->get(r->cat, buf, (int64_t)n, NULL, out, err);
    }
    int exists = 0, rc;
    if (valid_name(buf, "model name", NULL) == TROVE_OK) {
        if ((rc = CAT(r)->model_exists(r->cat, buf, &exists, err)))
            return rc;
        if (exists)
            return CAT(r)->get(r->cat, buf, 0, NULL, out, err);
    }
    if (!is_hex_prefix(buf))
        return trove__fail(err, TROVE_E_NOT_FOUND, TROVE_NO_OFFSET,
                           "no model '%.200s' in the registry (REF is NAME, NAME:VERSION, "
                           "NAME@ALIAS or a digest prefix of 6+ hex digits)", ref);
    for (char *p = buf; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    trove__vrow *rows = NULL;
    size_t n = 0;
    if ((rc = CAT(r)->find_digest(r->cat, buf, &rows, &n, err)))
        return rc;
    if (n == 0) {
        trove__free(r->alloc, rows);
        return trove__fail(err, TROVE_E_NOT_FOUND, TROVE_NO_OFFSET,
                           "no version whose digest starts with %s", buf);
    }
    for (size_t i = 1; i < n; i++)
        if (memcmp(rows[i].v.file_id, rows[0].v.file_id, 32) != 0) {
            rc = trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                             "digest prefix %s is ambiguous: %s:%lld and %s:%lld (give more "
                             "digits or NAME:VERSION)", buf, rows[0].v.model,
                             (long long)rows[0].v.number, rows[i].v.model,
                             (long long)rows[i].v.number);
            trove__free_rows(r->alloc, rows, n);
            return rc;
        }
    *out = rows[0];
    for (size_t i = 1; i < n; i++)
        trove__vrow_clear(r->alloc, &rows[i]);
    trove__free(r->alloc, rows);
    return TROVE_OK;
}

/* Move a row's public part into a fresh one-entry list. */
static int export_rows(trove_registry *r, trove__vrow *rows, size_t n, trove_version **out)
{
    trove_version *v = trove__calloc(r->alloc, n ? n : 1, sizeof *v);
    if (!v)
        return TROVE_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        v[i] = rows[i].v;
        memset(&rows[i].v, 0, sizeof rows[i].v);
        trove__free(r->alloc, rows[i].layout);
        rows[i].layout = NULL;
    }
    *out = v;
    return TROVE_OK;
}

static int give_row(trove_registry *r, trove__vrow *row, trove_version **out, trove_error *err)
{
    if (!out) {
        trove__vrow_clear(r->alloc, row);
        return TROVE_OK;
    }
    if (export_rows(r, row, 1, out) != TROVE_OK) {
        trove__vrow_clear(r->alloc, row);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    return TROVE_OK;
}

TROVE_API void trove_registry_versions_free(trove_registry *r, trove_version *v, size_t count)
{
    if (!v)
        return;
    const trove_allocator *a = r ? r->alloc : NULL;
    for (size_t i = 0; i < count; i++) {
        trove__vrow row = {0};
        row.v = v[i];
        trove__vrow_clear(a, &row);
    }
    trove__free(a, v);
}

TROVE_API void trove_registry_alias_moves_free(trove_registry *r, trove_alias_move *m,
                                               size_t count)
{
    if (!m)
        return;
    const trove_allocator *a = r ? r->alloc : NULL;
    for (size_t i = 0; i < count; i++) {
        trove__free(a, (char *)m[i].model);
        trove__free(a, (char *)m[i].alias);
        trove__free(a, (char *)m[i].who);
    }
    trove__free(a, m);
}

/* ---- row checksum ------------------------------------------------------------------------ */
static int put_text(trove_value *m, const char *k, const char *s)
{
    const trove_allocator *a = trove__reg_value_alloc(m);
    return trove_value_map_set(m, k, s ? trove_value_cstring(a, s) : trove_value_null(a));
}

int trove__vrow_checksum(const trove_allocator *a, const trove__vrow *row, uint8_t out[32],
                         trove_error *err)
{
    const trove_version *v = &row->v;
    trove_value *m = trove_value_map(a);
    if (!m)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    int rc = put_text(m, "model", v->model);
    rc |= trove_value_map_set(m, "number", trove_value_int(a, v->number));
    rc |= trove_value_map_set(m, "digest", trove_value_bytes(a, v->digest, 32));
    rc |= trove_value_map_set(m, "file_id", trove_value_bytes(a, v->file_id, 32));
    rc |= trove_value_map_set(m, "file_bytes", trove_value_uint(a, v->file_bytes));
    rc |= trove_value_map_set(m, "created", trove_value_int(a, v->created));
    rc |= put_text(m, "author", v->author);
    rc |= put_text(m, "message", v->message);
    rc |= put_text(m, "metrics", v->metrics_json);
    rc |= put_text(m, "params", v->params_json);
    rc |= put_text(m, "parent", v->parent);
    rc |= trove_value_map_set(m, "parent_digest", v->has_parent_digest
                                                      ? trove_value_bytes(a, v->parent_digest, 32)
                                                      : trove_value_null(a));
    rc |= put_text(m, "data_digest", v->data_digest);
    rc |= put_text(m, "signature", v->signature);
    const uint8_t *lay = row->layout ? row->layout : (const uint8_t *)"";
    rc |= trove_value_map_set(m, "layout", trove_value_bytes(a, lay, row->layout_len));
    uint8_t *enc = NULL;
    size_t len = 0;
    if (rc == TROVE_OK)
        rc = trove_value_encode(m, a, &enc, &len, err);
    trove_value_free(m);
    if (rc)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    static const char prefix[] = "trove-registry-row-v1";
    trove__blake2b_256(enc, len, prefix, sizeof prefix - 1, out);
    trove_free(a, enc);
    return TROVE_OK;
}

/* TROVE_OK when the stored checksum matches the row. */
static int check_row(const trove_allocator *a, const trove__vrow *row, trove_error *err)
{
    uint8_t c[32];
    if (row->malformed)
        return trove__fail(err, TROVE_E_CHECKSUM, TROVE_NO_OFFSET,
                           "catalog row of %s:%lld is damaged: a column has the wrong size or "
                           "type", row->v.model ? row->v.model : "?", (long long)row->v.number);
    int rc = trove__vrow_checksum(a, row, c, err);
    if (rc)
        return rc;
    if (memcmp(c, row->check, 32) != 0)
        return trove__fail(err, TROVE_E_CHECKSUM, TROVE_NO_OFFSET,
                           "catalog row of %s:%lld is damaged: its checksum does not match its "
                           "fields", row->v.model, (long long)row->v.number);
    return TROVE_OK;
}

/* ---- open / close ------------------------------------------------------------------------ */
TROVE_API int trove_registry_default_dir(char *buf, size_t cap, trove_error *err)
{
    const char *e = getenv("TROVE_REGISTRY");
    int n;
    if (e && *e)
        n = snprintf(buf, cap, "%s", e);
    else if ((e = getenv("XDG_DATA_HOME")) && *e)
        n = snprintf(buf, cap, "%s/trove/registry", e);
    else if ((e = getenv("HOME")) && *e)
        n = snprintf(buf, cap, "%s/.local/share/trove/registry", e);
    else
        return trove__fail(err, TROVE_E_NOT_FOUND, TROVE_NO_OFFSET,
                           "no registry directory: set TROVE_REGISTRY or HOME");
    if (n < 0 || (size_t)n >= cap)
        return trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "registry path too long");
    return TROVE_OK;
}

static int mkdirs(char *path, unsigned mode)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0777); /* parents: the user's umask decides */
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    if (mkdir(path, (mode_t)mode) != 0)
        return errno == EEXIST ? 0 : -1;
    chmod(path, (mode_t)mode);
    return 0;
}

TROVE_API void trove_registry_close(trove_registry *r)
{
    if (!r)
        return;
    if (r->cat)
        CAT(r)->close(r->cat);
    if (r->bs)
        BS(r)->close(r->bs);
    trove__free(r->alloc, r->dir);
    trove__free(r->alloc, r);
}

TROVE_API int trove_registry_open(trove_registry **out, const char *dir,
                                  const trove_registry_options *opts, trove_error *err)
{
    if (!out || !dir || !*dir)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_registry_open: NULL");
    *out = NULL;
    trove_registry_options o = TROVE_REGISTRY_OPTIONS_INIT;
    if (opts) {
        if (opts->size < sizeof o)
            return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "registry options: bad size");
        o = *opts;
    }
    const trove_allocator *a = trove__alloc_or_default(o.alloc);
    size_t n = strlen(dir);
    if (n > 3800)
        return trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "registry path too long");
    trove_registry *r = trove__calloc(a, 1, sizeof *r);
    if (!r)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    r->alloc = a;
    r->flags = o.flags;
    r->busy_ms = o.busy_timeout_ms ? o.busy_timeout_ms : DEFAULT_BUSY_MS;
    r->threads = o.threads ? o.threads : 2;
    r->out_mode = 0644;
    r->dir = trove__strndup(a, dir, n);
    if (!r->dir) {
        trove__free(a, r);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    while (n > 1 && r->dir[n - 1] == '/')
        r->dir[--n] = '\0';
    int rc;
    struct stat st;
    char db[4096];
    snprintf(db, sizeof db, "%s/catalog.db", r->dir);
    if (stat(db, &st) != 0) {
        if (!(o.flags & TROVE_REGISTRY_CREATE)) {
            rc = trove__fail(err, TROVE_E_NOT_FOUND, TROVE_NO_OFFSET,
                             "no registry at '%s' (push a model to create one)", r->dir);
            goto fail;
        }
        if (mkdirs(r->dir, (o.flags & TROVE_REGISTRY_SHARED) ? 02770 : 0700) != 0) {
            rc = trove__fail_errno(err, TROVE_E_IO, errno, "cannot create registry '%s'", r->dir);
            goto fail;
        }
    }
    if (stat(r->dir, &st) != 0) {
        rc = trove__fail_errno(err, TROVE_E_IO, errno, "cannot open registry '%s'", r->dir);
        goto fail;
    }
    /* Mode policy (docs/REGISTRY.md): a group-writable registry directory is shared. */
    int shared = (st.st_mode & 020) != 0;
    bool sync = !(o.flags & TROVE_REGISTRY_NO_SYNC);
    if ((rc = trove__blobstore_fs_open(&r->bs, a, r->dir, shared ? 0440 : 0400,
                                       shared ? 02770 : 0700, sync, err)))
        goto fail;
    if ((rc = trove__catalog_sqlite_open(&r->cat, a, db, (o.flags & TROVE_REGISTRY_CREATE) != 0,
                                         (o.flags & TROVE_REGISTRY_READONLY) != 0,
                                         shared ? 0660 : 0600, r->busy_ms, sync, err)))
        goto fail;
    *out = r;
    return TROVE_OK;
fail:
    trove_registry_close(r);
    return rc;
}

/* ---- push --------------------------------------------------------------------------------- */
typedef struct piece {
    const uint8_t *p;         /* bytes to store */
    size_t n;
    uint8_t *id;              /* where its digest goes */
    const uint8_t *xxh3;      /* the file's checksum of these bytes, or NULL (framing) */
    const char *tensor;       /* for messages */
    size_t chunk;
    uint64_t off;             /* file offset */
} piece;

/* Bytes read and hashed at a time by a push job: small enough to be hashed from the CPU's
 * cache right after the kernel copied them in. */
#define PUSH_STEP ((size_t)256 << 10)

typedef struct push_ctx {
    trove_registry *r;
    int fd;                   /* the pushed file */
    uint8_t *buf[TROVE__MAX_THREADS]; /* per thread: a chunk */
    piece *pieces;
    atomic_ullong stored_new;
} push_ctx;

static int push_job(void *ctx, size_t job, unsigned slot, trove_error *err)
{
    push_ctx *c = ctx;
    piece *pc = &c->pieces[job];
    if (!pc->tensor) { /* framing, already in memory */
        trove__leaf_digest(pc->p, pc->n, pc->id);
        int existed = 0;
        return BS(c->r)->put(c->r->bs, pc->id, pc->p, pc->n, &existed, err);
    }
    /* A tensor chunk: read into this thread's buffer (cheaper here than faulting the mapping)
     * a step at a time, each step hashed for the blob's name while it is still in the CPU's
     * cache, then checked against the file's own checksum: a damaged file is refused (its
     * version could never be pulled). */
    uint8_t *buf = c->buf[slot];
    trove__blake2b st;
    trove__blake2b_init(&st, 32);
    for (size_t o = 0; o < pc->n; o += PUSH_STEP) {
        size_t k = pc->n - o < PUSH_STEP ? pc->n - o : PUSH_STEP;
        int rc = trove__pread_all(c->fd, buf + o, k, pc->off + o, err, "the pushed file");
        if (rc)
            return rc == TROVE_E_CORRUPT ? trove__fail(err, TROVE_E_IO, pc->off + o,
                                                       "the pushed file shrank while it was "
                                                       "being stored")
                                         : rc;
        trove__blake2b_update(&st, buf + o, k);
    }
    trove__blake2b_final(&st, pc->id);
    if (pc->xxh3 && trove__xxh3(buf, pc->n) != trove__load_le64(pc->xxh3))
        return trove__fail(err, TROVE_E_CHECKSUM, pc->off,
                           "tensor '%s': checksum mismatch in chunk %zu (bytes %llu..%llu of the "
                           "file); nothing was registered", pc->tensor, pc->chunk,
                           (unsigned long long)pc->off, (unsigned long long)(pc->off + pc->n));
    int existed = 0;
    /* Stored from the buffer: the blob holds exactly the bytes that were hashed for its name,
     * whatever happens to the file meanwhile (which is still checked for changes once all are
     * done). Measured against copy_file_range from the file: 1.04-1.15 s vs 1.29-1.35 s for
     * the 1 GiB bench model, less CPU (the kernel's copy re-read the page cache). */
    int rc = BS(c->r)->put(c->r->bs, pc->id, buf, pc->n, &existed, err);
    if (!rc && !existed)
        atomic_fetch_add(&c->stored_new, (unsigned long long)pc->n);
    return rc;
}

/* The signature status of a file being pushed, over its digest: with trusted keys in o, a
 * valid signature by one of them is required (as trove_verify_signatures); in any case every
 * embedded signature that carries its public key must verify. Caller owns *out. */
static int push_signatures(trove_registry *r, const trove_file *f, const trove_push_options *o,
                           const uint8_t digest[32], const char **out, trove_error *err)
{
    char sum[600], text[700], hx[2 * TROVE_KEY_ID_BYTES + 1];
    trove_verify_result local, *res = o->sig_result ? o->sig_result : &local;
    int rc;
    if (o->ntrusted && (rc = trove__check_signatures(f, digest, o->trusted, o->ntrusted, res,
                                                     err)) != TROVE_OK)
        return rc;
    if ((rc = trove__signature_summary(f, digest, sum, sizeof sum, err)) != TROVE_OK)
        return rc;
    if (o->ntrusted) {
        trove__hex(res->key_id, TROVE_KEY_ID_BYTES, hx);
        snprintf(text, sizeof text, "verified at push: valid signature by trusted key %s; %s",
                 hx, sum);
    } else
        snprintf(text, sizeof text, "%s", sum);
    if (!(*out = dup_s(r->alloc, text)))
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    return TROVE_OK;
}

/* "k=v" strings into map m (numbers become numbers). */
static int add_kv(trove_value *m, const char *const *kv, size_t n, const char *what,
                  trove_error *err)
{
    const trove_allocator *a = trove__reg_value_alloc(m);
    for (size_t i = 0; i < n; i++) {
        const char *eq = kv[i] ? strchr(kv[i], '=') : NULL;
        if (!eq || eq == kv[i])
            return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                               "%s '%.200s' is not KEY=VALUE", what, kv[i] ? kv[i] : "(null)");
        const char *val = eq + 1;
        char *end;
        errno = 0;
        long long iv = strtoll(val, &end, 10);
        trove_value *item;
        if (*val && !*end && !errno) {
            item = trove_value_int(a, iv);
        } else {
            double d = strtod(val, &end);
            item = (*val && !*end && d == d && d - d == 0) ? trove_value_float(a, d)
                                                           : trove_value_cstring(a, val);
        }
        if (!item)
            return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                               "%s '%.200s': value is not valid UTF-8", what, kv[i]);
        if (trove_value_map_take(m, kv[i], (size_t)(eq - kv[i]), item) != TROVE_OK)
            return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                               "%s '%.200s': bad key", what, kv[i]);
    }
    return TROVE_OK;
}

/* JSON object of metadata map `key` merged with kv; caller frees. */
static int kv_json(const trove_allocator *a, const trove_value *meta, const char *key,
                   const char *const *kv, size_t n, const char *what, char **out,
                   trove_error *err)
{
    const trove_value *src = trove_value_get(meta, key);
    trove_value *m = trove_value_map(a);
    if (m && trove_value_type_of(src) == TROVE_VALUE_MAP) {
        for (size_t i = 0; i < trove_value_count(src); i++) {
            const char *k;
            size_t kl;
            const trove_value *item;
            trove_value *copy = NULL;
            if (trove_value_map_entry(src, i, &k, &kl, &item) != TROVE_OK ||
                !(copy = trove__reg_clone(a, item)) ||
                trove_value_map_take(m, k, kl, copy) != TROVE_OK) {
                trove_value_free(m);
                m = NULL;
                break;
            }
        }
    }
    if (!m)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    int rc = add_kv(m, kv, n, what, err);
    size_t len;
    if (!rc)
        rc = trove_value_to_json(m, a, 0, out, &len, err);
    trove_value_free(m);
    return rc;
}

/* A digest given as 32 bytes or 64 hex digits in metadata. */
static int meta_digest(const trove_value *v, uint8_t out[32])
{
    const void *p;
    size_t n;
    const char *s;
    if (trove_value_get_bytes(v, &p, &n) == TROVE_OK && n == 32) {
        memcpy(out, p, 32);
        return 1;
    }
    if (trove_value_get_string(v, &s, &n) == TROVE_OK && n == 64) {
        for (size_t i = 0; i < 64; i++) {
            int c = tolower((unsigned char)s[i]);
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0)
                return 0;
            out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] | d : d << 4);
        }
        return 1;
    }
    return 0;
}

static void put_le64(uint8_t **p, uint64_t v)
{
    trove__store_le64(*p, v);
    *p += 8;
}
static void put_le32(uint8_t **p, uint32_t v)
{
    trove__store_le32(*p, v);
    *p += 4;
}

TROVE_API int trove_registry_push(trove_registry *r, const char *path, const char *name,
                                  const trove_push_options *opts, trove_version **out,
                                  trove_error *err)
{
    if (out)
        *out = NULL;
    if (!r || !path)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_registry_push: NULL");
    trove_push_options o = TROVE_PUSH_OPTIONS_INIT;
    if (opts) { /* an older, shorter struct leaves the newer fields at their defaults */
        if (opts->size < offsetof(trove_push_options, trusted) || opts->size > sizeof o)
            return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "push options: bad size");
        memcpy(&o, opts, opts->size);
    }
    int rc = valid_name(name, "model name", err);
    if (!rc && o.alias)
        rc = valid_name(o.alias, "alias", err);
    if (rc)
        return rc;
    const trove_allocator *a = r->alloc;
    int fd = -1, locked = 0, in_txn = 0;
    void *map = MAP_FAILED;
    uint64_t size = 0;
    trove_file *f = NULL;
    piece *pieces = NULL;
    uint8_t *frame = NULL, *layout = NULL, *tdig = NULL, *uniq = NULL;
    trove__vrow row = {0}, parent = {0};
    trove_tensor_info *ti = NULL;
    const uint8_t **xx = NULL;   /* per tensor: the file's 4 MiB chunk checksums, or NULL */
    size_t nt = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot open '%s'", path);
    /* The file must not change while it is pushed (hashed by one read, stored by another):
     * its size and times are compared again before anything is committed, as tar does. */
    struct stat st0;
    if (fstat(fd, &st0) != 0) {
        rc = trove__fail_errno(err, TROVE_E_IO, errno, "cannot stat '%s'", path);
        goto out;
    }
    trove_open_options oo = TROVE_OPEN_OPTIONS_INIT;
    oo.alloc = a;
    if ((rc = trove_open_fd(&f, fd, &oo, err)))
        goto out;
    size = trove_file_size(f);
    /* Mapped for the framing and padding only: tensor chunks are read with pread. */
    map = mmap(NULL, size ? (size_t)size : 1, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        rc = trove__fail_errno(err, TROVE_E_IO, errno, "cannot map '%s'", path);
        goto out;
    }
    madvise(map, (size_t)size, MADV_SEQUENTIAL);
    const uint8_t *base = map;

    /* Plan: tensors in file order, the gaps between them are the framing stream. */
    nt = trove_file_tensor_count(f);
    ti = trove__calloc(a, nt ? nt : 1, sizeof *ti);
    tdig = trove__malloc(a, (nt ? nt : 1) * 32);
    if (!ti || !tdig)
        goto nomem;
    uint64_t cursor = 0, frame_bytes = 0;
    size_t nchunks = 0;
    for (size_t i = 0; i < nt; i++) {
        if ((rc = trove_file_tensor_info(f, i, &ti[i]))) {
            rc = trove__fail(err, TROVE_E_CORRUPT, TROVE_NO_OFFSET, "tensor %zu unreadable", i);
            goto out;
        }
        if (ti[i].offset < cursor || ti[i].offset + ti[i].stored_bytes > size) {
            rc = trove__fail(err, TROVE_E_CORRUPT, ti[i].offset,
                             "tensor '%s' is out of file order", ti[i].name);
            goto out;
        }
        frame_bytes += ti[i].offset - cursor;
        cursor = ti[i].offset + ti[i].stored_bytes;
        nchunks += trove__nchunks(ti[i].stored_bytes, TROVE__CHUNK_BYTES);
    }
    /* Verification (as trove_file_verify, in one pass with the hashing): padding must be zero;
     * tensors checksummed in 4 MiB chunks are checked by the jobs, others here. */
    const trove_value *htens = trove_value_get(trove_file_header(f), "tensors");
    xx = trove__calloc(a, nt ? nt : 1, sizeof *xx);
    if (!xx)
        goto nomem;
    uint64_t pad_from = TROVE__PREAMBLE_BYTES;
    for (size_t i = 0; i < nt && !rc; i++) {
        for (uint64_t at = pad_from; at < ti[i].offset; at++)
            if (base[at] != 0) {
                rc = trove__fail(err, TROVE_E_CHECKSUM, at, "padding byte before tensor '%s' at "
                                 "offset %llu is not zero", ti[i].name, (unsigned long long)at);
                break;
            }
        pad_from = ti[i].offset + ti[i].stored_bytes;
        const trove_value *e = trove_value_at(htens, i);
        int64_t chunk = 0;
        const void *sums = NULL;
        size_t slen = 0;
        size_t nc = trove__nchunks(ti[i].stored_bytes, TROVE__CHUNK_BYTES);
        if (trove_value_get_int(trove_value_get(e, "chunk"), &chunk) == TROVE_OK &&
            (uint64_t)chunk == TROVE__CHUNK_BYTES &&
            trove_value_get_bytes(trove_value_get(e, "xxh3"), &sums, &slen) == TROVE_OK &&
            slen == 8 * nc)
            xx[i] = sums;
        else if (!rc)
            rc = trove_file_verify_tensor(f, i, err);
    }
    if (rc)
        goto out;
    frame_bytes += size - cursor;
    size_t nframe = trove__nchunks(frame_bytes, TROVE__CHUNK_BYTES);
    frame = trove__malloc(a, frame_bytes ? (size_t)frame_bytes : 1);
    size_t layout_len = 40 + nframe * 32 + nt * 24 + nchunks * 32 + 8;
    layout = trove__malloc(a, layout_len);
    pieces = trove__calloc(a, nframe + nchunks + 1, sizeof *pieces);
    if (!frame || !layout || !pieces)
        goto nomem;
    /* The framing stream. */
    cursor = 0;
    uint64_t fpos = 0;
    for (size_t i = 0; i <= nt; i++) {
        uint64_t end = i < nt ? ti[i].offset : size;
        memcpy(frame + fpos, base + cursor, (size_t)(end - cursor));
        fpos += end - cursor;
        if (i < nt)
            cursor = ti[i].offset + ti[i].stored_bytes;
    }
    /* The layout, with room for ids that the jobs fill in. */
    uint8_t *w = layout;
    memcpy(w, "TRVMAN01", 8);
    w += 8;
    put_le64(&w, size);
    put_le64(&w, frame_bytes);
    put_le32(&w, (uint32_t)TROVE__CHUNK_BYTES);
    put_le32(&w, (uint32_t)nframe);
    put_le32(&w, (uint32_t)nt);
    put_le32(&w, 0);
    size_t np = 0;
    for (size_t k = 0; k < nframe; k++, w += 32) {
        uint64_t off = (uint64_t)k * TROVE__CHUNK_BYTES;
        uint64_t n = frame_bytes - off < TROVE__CHUNK_BYTES ? frame_bytes - off
                                                            : TROVE__CHUNK_BYTES;
        pieces[np++] = (piece){frame + off, (size_t)n, w, NULL, NULL, 0, 0};
    }
    cursor = 0;
    uint8_t **leaf_at = trove__calloc(a, nt ? nt : 1, sizeof *leaf_at);
    if (!leaf_at)
        goto nomem;
    for (size_t i = 0; i < nt; i++) {
        put_le64(&w, ti[i].offset - cursor);
        put_le64(&w, ti[i].stored_bytes);
        put_le32(&w, ti[i].compressed ? 1u : 0u);
        put_le32(&w, 0);
        leaf_at[i] = w;
        size_t nc = trove__nchunks(ti[i].stored_bytes, TROVE__CHUNK_BYTES);
        for (size_t k = 0; k < nc; k++, w += 32) {
            uint64_t off = (uint64_t)k * TROVE__CHUNK_BYTES;
            uint64_t n = ti[i].stored_bytes - off < TROVE__CHUNK_BYTES ? ti[i].stored_bytes - off
                                                                       : TROVE__CHUNK_BYTES;
            pieces[np++] = (piece){base + ti[i].offset + off, (size_t)n, w,
                                   xx[i] ? xx[i] + 8 * k : NULL, ti[i].name, k,
                                   ti[i].offset + off};
        }
        cursor = ti[i].offset + ti[i].stored_bytes;
    }
    put_le64(&w, size - cursor);

    /* Blobs first, under the shared lock so that gc cannot remove what we reuse. */
    if ((rc = BS(r)->lock(r->bs, 0, r->busy_ms, err))) {
        trove__free(a, leaf_at);
        goto out;
    }
    locked = 1;
    push_ctx pc = {.r = r, .fd = fd, .pieces = pieces};
    atomic_init(&pc.stored_new, 0);
    unsigned threads = r->threads > TROVE__MAX_THREADS ? TROVE__MAX_THREADS : r->threads;
    for (unsigned t = 0; t < threads && !rc; t++)
        if (!(pc.buf[t] = trove__malloc_io(a, (size_t)TROVE__CHUNK_BYTES)))
            rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    if (!rc)
        rc = trove__run_jobs(threads, np, push_job, &pc, err);
    for (unsigned t = 0; t < threads; t++)
        trove__free_aligned(a, pc.buf[t]);
    /* Tensor digests: the chunk ids of an uncompressed tensor are its 4 MiB leaves. */
    for (size_t i = 0; i < nt && !rc; i++) {
        if (!ti[i].compressed && trove__host_is_le())
            trove__tensor_digest_from_leaves(ti[i].nbytes, leaf_at[i],
                                             trove__nchunks(ti[i].stored_bytes, TROVE__CHUNK_BYTES),
                                             tdig + 32 * i);
        else
            rc = trove_file_tensor_digest(f, i, tdig + 32 * i, err);
    }
    trove__free(a, leaf_at);
    if (!rc)
        rc = trove__model_digest_from_tensors(a, f, tdig, row.v.digest, err);
    if (!rc) {
        struct stat st1;
        if (fstat(fd, &st1) != 0)
            rc = trove__fail_errno(err, TROVE_E_IO, errno, "cannot stat '%s'", path);
        else if (st1.st_size != st0.st_size || st1.st_mtim.tv_sec != st0.st_mtim.tv_sec ||
                 st1.st_mtim.tv_nsec != st0.st_mtim.tv_nsec ||
                 st1.st_ctim.tv_sec != st0.st_ctim.tv_sec ||
                 st1.st_ctim.tv_nsec != st0.st_ctim.tv_nsec)
            rc = trove__fail(err, TROVE_E_STATE, TROVE_NO_OFFSET,
                             "'%s' changed while it was being pushed; nothing was registered "
                             "(push it again once it is complete)", path);
    }
    /* Signatures, over the digest just computed from every byte, before any blob is in place:
     * a refused file leaves nothing behind. */
    if (!rc)
        rc = push_signatures(r, f, &o, row.v.digest, &row.v.signature, err);
    if (!rc)
        rc = BS(r)->sync(r->bs, err);
    else
        BS(r)->discard(r->bs);
    if (rc)
        goto out;

    /* The row. */
    static const char lprefix[] = "trove-layout-v1";
    trove__blake2b_256(layout, layout_len, lprefix, sizeof lprefix - 1, row.v.file_id);
    row.layout = layout;
    row.layout_len = layout_len;
    layout = NULL;
    row.v.file_bytes = size;
    row.v.created = now_s();
    const trove_value *meta = trove_file_metadata(f);
    row.v.model = dup_s(a, name);
    row.v.author = dup_s(a, o.author ? o.author : default_author());
    row.v.message = dup_s(a, o.message ? o.message : "");
    if (!row.v.model || !row.v.author || !row.v.message)
        goto nomem;
    char *js = NULL;
    if ((rc = kv_json(a, meta, "metrics", o.metrics, o.n_metrics, "metric", &js, err)))
        goto out;
    row.v.metrics_json = dup_s(a, js);
    trove_free(a, js);
    js = NULL;
    if ((rc = kv_json(a, meta, "params", o.params, o.n_params, "parameter", &js, err)))
        goto out;
    row.v.params_json = dup_s(a, js);
    trove_free(a, js);
    if (!row.v.metrics_json || !row.v.params_json)
        goto nomem;
    const trove_value *lin = trove_value_get(meta, "lineage");
    int want_data = 0; /* a training-data digest was given (then a NULL copy means no memory) */
    if (o.data_digest) {
        want_data = 1;
        row.v.data_digest = dup_s(a, o.data_digest);
    } else {
        const trove_value *d = trove_value_get(lin, "training_data");
        const char *s;
        uint8_t dd[32];
        char hx[65];
        if (trove_value_get_string(d, &s, NULL) == TROVE_OK) {
            want_data = 1;
            row.v.data_digest = dup_s(a, s);
        } else if (meta_digest(d, dd)) { /* other types are ignored */
            want_data = 1;
            trove__hex(dd, 32, hx);
            row.v.data_digest = dup_s(a, hx);
        }
    }
    if (want_data && !row.v.data_digest)
        goto nomem;

    /* Distinct blob ids for the reference table. */
    uniq = trove__malloc(a, (np ? np : 1) * 32);
    if (!uniq)
        goto nomem;
    for (size_t k = 0; k < np; k++)
        memcpy(uniq + 32 * k, pieces[k].id, 32);

    /* One transaction records the version. */
    if ((rc = CAT(r)->begin(r->cat, err)))
        goto out;
    in_txn = 1;
    trove__vrow existing = {0};
    rc = CAT(r)->find_file(r->cat, name, row.v.file_id, &existing, err);
    if (rc == TROVE_OK) {
        trove__vrow_clear(a, &row);
        row = existing;
    } else if (rc == TROVE_E_NOT_FOUND) {
        if (o.parent) {
            if ((rc = resolve_row(r, o.parent, &parent, err)))
                goto out;
            char ref[2 * MAX_NAME + 32];
            snprintf(ref, sizeof ref, "%s:%lld", parent.v.model, (long long)parent.v.number);
            row.v.parent = dup_s(a, ref);
            if (!row.v.parent)
                goto nomem;
            row.v.has_parent_digest = 1;
            memcpy(row.v.parent_digest, parent.v.digest, 32);
        } else if (meta_digest(trove_value_get(lin, "parent"), row.v.parent_digest)) {
            row.v.has_parent_digest = 1;
        }
        if ((rc = CAT(r)->insert(r->cat, &row, uniq, np, err)))
            goto out;
    } else {
        goto out;
    }
    if (o.alias && (rc = CAT(r)->set_alias(r->cat, name, o.alias, row.v.number,
                                           o.author ? o.author : default_author(), now_s(), err)))
        goto out;
    if ((rc = CAT(r)->commit(r->cat, err)))
        goto out;
    in_txn = 0;
    if (o.alias) {
        trove__free(a, (char *)row.v.aliases);
        row.v.aliases = NULL;
        trove__vrow fresh = {0};
        if (CAT(r)->get(r->cat, name, row.v.number, NULL, &fresh, NULL) == TROVE_OK) {
            trove__vrow_clear(a, &row);
            row = fresh;
        }
    }
    rc = give_row(r, &row, out, err);
    goto out;
nomem:
    rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
out:
    if (in_txn)
        CAT(r)->rollback(r->cat);
    if (locked)
        BS(r)->unlock(r->bs);
    trove__vrow_clear(a, &row);
    trove__vrow_clear(a, &parent);
    if (map != MAP_FAILED)
        munmap(map, size ? (size_t)size : 1);
    trove_close(f);
    if (fd >= 0)
        close(fd);
    trove__free(a, ti);
    trove__free(a, (void *)xx);
    trove__free(a, tdig);
    trove__free(a, pieces);
    trove__free(a, frame);
    trove__free(a, layout);
    trove__free(a, uniq);
    return rc;
}

/* ---- resolve / pull ---------------------------------------------------------------------- */
TROVE_API int trove_registry_resolve(trove_registry *r, const char *ref, trove_version **out,
                                     trove_error *err)
{
    if (!r || !out)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_registry_resolve: NULL");
    trove__vrow row;
    int rc = resolve_row(r, ref, &row, err);
    return rc ? rc : give_row(r, &row, out, err);
}

typedef struct pull_job {
    uint64_t off;             /* file offset */
    size_t n;
    const uint8_t *id;
    const uint8_t *xxh3;      /* the file's checksum of this chunk (from its header), or NULL */
    const char *tensor;       /* for messages */
    size_t chunk;
} pull_job;

typedef struct pull_ctx {
    trove_registry *r;
    pull_job *jobs;
    int fd;
    int verify;               /* re-hash each blob (BLAKE2b) as it is read: --rehash */
    int sync;
    trove__flusher *flush;    /* durable: the output drains to the disk while it is written */
    uint8_t *buf[TROVE__MAX_THREADS];
} pull_ctx;

/* One tensor chunk: the blob is copied into place (in the kernel where it can), then the copy,
 * as it sits in the output file, is checked against the file's own checksum (and re-hashed
 * against the blob's name with --rehash): what is checked is what is served. */
static int pull_one(void *ctx, size_t job, unsigned slot, trove_error *err)
{
    pull_ctx *c = ctx;
    pull_job *j = &c->jobs[job];
    int rc = BS(c->r)->copy_to(c->r->bs, j->id, j->n, c->fd, j->off, err);
    if (rc)
        return rc;
    if (j->n && (j->xxh3 || c->verify)) {
        /* Read the copy back into this thread's warm buffer (cheaper here than faulting a
         * fresh mapping of the output) and check it there. */
        uint8_t *b = c->buf[slot];
        if ((rc = trove__pread_all(c->fd, b, j->n, j->off, err, "the pulled file")))
            return rc;
        char hx[65];
        trove__hex(j->id, 32, hx);
        if (c->verify) {
            uint8_t d[32];
            trove__leaf_digest(b, j->n, d);
            if (memcmp(d, j->id, 32) != 0)
                return trove__fail(err, TROVE_E_CHECKSUM, TROVE_NO_OFFSET,
                                   "blob %s is damaged: its bytes do not hash to its name", hx);
        }
        /* The file's own checksum of these bytes (the one pass of trove_file_verify, done
         * here): by default it is the check of the blob. */
        if (j->xxh3 && trove__xxh3(b, j->n) != trove__load_le64(j->xxh3))
            return trove__fail(err, TROVE_E_CHECKSUM, j->off,
                               "blob %s is damaged: it does not match the checksum of chunk %zu "
                               "of tensor '%s'", hx, j->chunk, j->tensor);
    }
    /* Writeback starts now (on the flusher's thread), so the final fsync has little left. */
    if (c->sync)
        trove__flusher_note(c->flush, c->fd, j->off, j->n);
    return TROVE_OK;
}

/* Pull; with nkeys > 0 the rebuilt file's signatures are checked against keys (over a digest
 * re-hashed from every blob) before it is renamed into place. */
static int pull_impl(trove_registry *r, const char *ref, const char *path,
                     const trove_pubkey *keys, size_t nkeys, trove_verify_result *res,
                     trove_version **out, trove_error *err)
{
    if (out)
        *out = NULL;
    if (!r || !ref || !path || (nkeys && !keys))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_registry_pull: NULL");
    const trove_allocator *a = r->alloc;
    trove__vrow row = {0};
    trove__manifest m = {0};
    int have_m = 0, fd = -1, locked = 0;
    char *tmp = NULL;
    uint8_t *frame = NULL, *tdig = NULL, *verify_each = NULL;
    pull_job *pj = NULL;
    pull_ctx pc = {.r = r, .fd = -1, .verify = nkeys || (r->flags & TROVE_REGISTRY_REHASH)};
    pc.sync = !(r->flags & TROVE_REGISTRY_NO_SYNC);
    trove_file *f = NULL;
    bool sync = !(r->flags & TROVE_REGISTRY_NO_SYNC);

    int rc = BS(r)->lock(r->bs, 0, r->busy_ms, err);
    if (rc)
        return rc;
    locked = 1;
    if ((rc = resolve_row(r, ref, &row, err)) || (rc = check_row(a, &row, err)))
        goto out;
    if ((rc = trove__manifest_parse(a, row.layout, row.layout_len, &m, err)))
        goto out;
    have_m = 1;
    if (m.file_bytes != row.v.file_bytes) {
        rc = trove__fail(err, TROVE_E_CORRUPT, TROVE_NO_OFFSET,
                         "%s:%lld: layout and row disagree on the file size", row.v.model,
                         (long long)row.v.number);
        goto out;
    }
    /* Framing: read and verify every chunk. */
    frame = trove__malloc(a, m.frame_bytes ? (size_t)m.frame_bytes : 1);
    if (!frame)
        goto nomem;
    for (size_t k = 0; k < m.nframe; k++) {
        uint64_t off = (uint64_t)k * m.chunk;
        uint64_t n = m.frame_bytes - off < m.chunk ? m.frame_bytes - off : m.chunk;
        if ((rc = BS(r)->get(r->bs, m.frame_ids + 32 * k, frame + off, (size_t)n, 1, err)))
            goto out;
    }
    if ((rc = trove__tmpfile_near(a, path, r->out_mode, &fd, &tmp, err)))
        goto out;
    size_t njobs = 0;
    for (size_t i = 0; i < m.nseg; i++)
        njobs += m.segs[i].nchunks;
    pj = trove__calloc(a, njobs ? njobs : 1, sizeof *pj);
    if (!pj)
        goto nomem;
    uint64_t pos = 0, fpos = 0;
    size_t jn = 0;
    for (size_t i = 0; i <= m.nseg; i++) {
        uint64_t gap = i < m.nseg ? m.segs[i].gap : m.tail_gap;
        if (gap && (rc = trove__write_all(fd, frame + fpos, (size_t)gap, err, "the pulled file")))
            goto out;
        fpos += gap;
        pos += gap;
        if (i == m.nseg)
            break;
        const trove__mseg *s = &m.segs[i];
        for (size_t k = 0; k < s->nchunks; k++) {
            uint64_t off = (uint64_t)k * m.chunk;
            uint64_t n = s->stored - off < m.chunk ? s->stored - off : m.chunk;
            pj[jn++] = (pull_job){pos + off, (size_t)n, s->ids + 32 * k, NULL, NULL, k};
        }
        pos += s->stored;
        if (lseek(fd, (off_t)pos, SEEK_SET) < 0) {
            rc = trove__fail_errno(err, TROVE_E_IO, errno, "cannot seek in '%s'", tmp);
            goto out;
        }
    }
    /* The framing is in place (the tensors are still holes): open the file now, so that its
     * validated header gives each chunk's checksum to the jobs. */
    trove_open_options oo = TROVE_OPEN_OPTIONS_INIT;
    oo.alloc = a;
    if ((rc = trove_open_fd(&f, fd, &oo, err)))
        goto damaged;
    size_t nt = trove_file_tensor_count(f);
    if (nt != m.nseg || trove_file_size(f) != m.file_bytes) {
        rc = trove__fail(err, TROVE_E_CORRUPT, TROVE_NO_OFFSET, "rebuilt file does not match "
                         "its layout (%zu tensors, layout has %zu)", nt, m.nseg);
        goto damaged;
    }
    verify_each = trove__calloc(a, nt ? nt : 1, 1);
    if (!verify_each)
        goto nomem;
    const trove_value *htens = trove_value_get(trove_file_header(f), "tensors");
    size_t jk = 0;
    pos = 0;
    for (size_t i = 0; i < nt; i++) {
        trove_tensor_info ti;
        pos += m.segs[i].gap;
        if ((rc = trove_file_tensor_info(f, i, &ti)))
            goto damaged;
        if (ti.offset != pos || ti.stored_bytes != m.segs[i].stored) {
            rc = trove__fail(err, TROVE_E_CORRUPT, TROVE_NO_OFFSET,
                             "rebuilt tensor '%s' does not match its layout", ti.name);
            goto damaged;
        }
        pos += m.segs[i].stored;
        const trove_value *e = trove_value_at(htens, i);
        int64_t chunk = 0;
        const void *sums = NULL;
        size_t slen = 0;
        int have = trove_value_get_int(trove_value_get(e, "chunk"), &chunk) == TROVE_OK &&
                   (uint64_t)chunk == m.chunk &&
                   trove_value_get_bytes(trove_value_get(e, "xxh3"), &sums, &slen) == TROVE_OK &&
                   slen == 8 * m.segs[i].nchunks;
        verify_each[i] = (uint8_t)!have; /* other chunk sizes: trove_file_verify_tensor below */
        for (size_t k = 0; k < m.segs[i].nchunks; k++, jk++) {
            pj[jk].xxh3 = have ? (const uint8_t *)sums + 8 * k : NULL;
            pj[jk].tensor = ti.name;
        }
    }
    unsigned threads = r->threads > TROVE__MAX_THREADS ? TROVE__MAX_THREADS : r->threads;
    for (unsigned t = 0; t < threads; t++)
        if (!(pc.buf[t] = trove__malloc_io(a, (size_t)m.chunk)))
            goto nomem;
    pc.jobs = pj;
    pc.fd = fd;
    trove__flusher flush;
    trove__flusher_init(&flush, sync ? TROVE__FLUSH_EVERY : 0);
    pc.flush = &flush;
    rc = trove__run_jobs(threads, jn, pull_one, &pc, err);
    trove__flusher_destroy(&flush);
    if (rc)
        goto out;
    if (sync && fsync(fd) != 0) {
        rc = trove__fail_errno(err, TROVE_E_IO, errno, "cannot fsync '%s'", tmp);
        goto out;
    }
    /* Verify on the way out: every checksum (above, or here for other chunk sizes; padding and
     * header are framing, re-hashed with BLAKE2b), and the model digest. */
    for (size_t i = 0; i < nt; i++)
        if (verify_each[i] && (rc = trove_file_verify_tensor(f, i, err)))
            goto damaged;
    tdig = trove__malloc(a, (nt ? nt : 1) * 32);
    if (!tdig)
        goto nomem;
    for (size_t i = 0; i < nt; i++) {
        trove_tensor_info ti;
        if ((rc = trove_file_tensor_info(f, i, &ti)))
            goto damaged;
        if (!ti.compressed && trove__host_is_le())
            trove__tensor_digest_from_leaves(ti.nbytes, m.segs[i].ids, m.segs[i].nchunks,
                                             tdig + 32 * i);
        else if ((rc = trove_file_tensor_digest(f, i, tdig + 32 * i, err)))
            goto damaged;
    }
    uint8_t dig[32];
    if ((rc = trove__model_digest_from_tensors(a, f, tdig, dig, err)))
        goto out;
    if (memcmp(dig, row.v.digest, 32) != 0) {
        rc = trove__fail(err, TROVE_E_CHECKSUM, TROVE_NO_OFFSET,
                         "%s:%lld: the rebuilt file's model digest differs from the registered "
                         "one", row.v.model, (long long)row.v.number);
        goto out;
    }
    if (nkeys) {
        trove_verify_result local;
        if ((rc = trove__check_signatures(f, dig, keys, nkeys, res ? res : &local, err)))
            goto out;
    }
    trove_close(f);
    f = NULL;
    if ((rc = trove__commit_tmpfile(fd, tmp, path, sync, err)))
        goto out;
    trove__free(a, tmp);
    tmp = NULL;
    rc = give_row(r, &row, out, err);
    goto out;
damaged:
    if (rc != TROVE_E_NOMEM && rc != TROVE_E_IO) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err ? err->message : "");
        rc = trove__fail(err, rc == TROVE_E_CHECKSUM ? rc : TROVE_E_CORRUPT, TROVE_NO_OFFSET,
                         "%s:%lld rebuilt badly: %s", row.v.model, (long long)row.v.number, msg);
    }
    goto out;
nomem:
    rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
out:
    trove_close(f);
    if (fd >= 0)
        close(fd);
    if (tmp) {
        unlink(tmp);
        trove__free(a, tmp);
    }
    if (locked)
        BS(r)->unlock(r->bs);
    for (unsigned t = 0; t < TROVE__MAX_THREADS; t++)
        trove__free_aligned(a, pc.buf[t]);
    if (have_m)
        trove__manifest_free(a, &m);
    trove__vrow_clear(a, &row);
    trove__free(a, frame);
    trove__free(a, pj);
    trove__free(a, tdig);
    trove__free(a, verify_each);
    return rc;
}

TROVE_API int trove_registry_pull(trove_registry *r, const char *ref, const char *path,
                                  trove_version **out, trove_error *err)
{
    return pull_impl(r, ref, path, NULL, 0, NULL, out, err);
}

TROVE_API int trove_registry_pull_trusted(trove_registry *r, const char *ref, const char *path,
                                          const trove_pubkey *keys, size_t nkeys,
                                          trove_verify_result *res, trove_version **out,
                                          trove_error *err)
{
    if (!keys || !nkeys)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "trove_registry_pull_trusted: no trusted key");
    return pull_impl(r, ref, path, keys, nkeys, res, out, err);
}

/* ---- log, models, aliases, rm ------------------------------------------------------------- */
TROVE_API int trove_registry_log(trove_registry *r, const char *name, trove_version **out,
                                 size_t *count, trove_error *err)
{
    if (!r || !out || !count)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_registry_log: NULL");
    int rc;
    if (name && (rc = valid_name(name, "model name", err)))
        return rc;
    trove__vrow *rows = NULL;
    size_t n = 0;
    if ((rc = CAT(r)->list(r->cat, name, &rows, &n, err)))
        return rc;
    if (name && n == 0) {
        trove__free(r->alloc, rows);
        return trove__fail(err, TROVE_E_NOT_FOUND, TROVE_NO_OFFSET,
                           "no model '%.200s' in the registry", name);
    }
    if (export_rows(r, rows, n, out) != TROVE_OK) {
        trove__free_rows(r->alloc, rows, n);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    trove__free(r->alloc, rows);
    *count = n;
    return TROVE_OK;
}

TROVE_API int trove_registry_version_counts(trove_registry *r, int64_t **counts, size_t *n,
                                            trove_error *err)
{
    if (!r || !counts || !n)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "NULL argument");
    return CAT(r)->counts(r->cat, counts, n, err);
}

TROVE_API int trove_registry_alias(trove_registry *r, const char *name, const char *alias,
                                   int64_t number, const char *who, trove_error *err)
{
    if (!r)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_registry_alias: NULL");
    int rc = valid_name(name, "model name", err);
    if (!rc)
        rc = valid_name(alias, "alias", err);
    if (rc)
        return rc;
    if (number < 0)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "version must be positive");
    int all_digits = 1;
    for (const char *p = alias; *p; p++)
        all_digits &= isdigit((unsigned char)*p) != 0;
    if (all_digits)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "alias '%s' is a number: aliases need a letter", alias);
    if ((rc = CAT(r)->begin(r->cat, err)))
        return rc;
    rc = CAT(r)->set_alias(r->cat, name, alias, number, who ? who : default_author(), now_s(),
                           err);
    if (!rc)
        rc = CAT(r)->commit(r->cat, err);
    if (rc)
        CAT(r)->rollback(r->cat);
    return rc;
}

TROVE_API int trove_registry_alias_history(trove_registry *r, const char *name,
                                           trove_alias_move **out, size_t *count,
                                           trove_error *err)
{
    if (!r || !out || !count)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "NULL argument");
    return CAT(r)->alias_history(r->cat, name, out, count, err);
}

TROVE_API int trove_registry_rm(trove_registry *r, const char *ref, unsigned flags,
                                trove_error *err)
{
    if (!r)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_registry_rm: NULL");
    int rc = CAT(r)->begin(r->cat, err);
    if (rc)
        return rc;
    trove__vrow row = {0};
    rc = resolve_row(r, ref, &row, err);
    if (!rc)
        rc = CAT(r)->remove(r->cat, row.id, (flags & TROVE_RM_FORCE) != 0, default_author(),
                            now_s(), err);
    if (!rc)
        rc = CAT(r)->commit(r->cat, err);
    if (rc)
        CAT(r)->rollback(r->cat);
    trove__vrow_clear(r->alloc, &row);
    return rc;
}

/* ---- gc, stat, fsck ----------------------------------------------------------------------- */
static int id_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

typedef struct gc_ctx {
    trove_registry *r;
    const uint8_t *refs;
    size_t nrefs;
    int remove;
    trove_registry_stats *st;
    trove_error *err;
} gc_ctx;

static int gc_entry(void *ctx, int kind, const uint8_t *id, const char *name, uint64_t size)
{
    gc_ctx *g = ctx;
    int keep = kind == TROVE__ENTRY_OTHER ||
               (kind == TROVE__ENTRY_BLOB && g->nrefs &&
                bsearch(id, g->refs, g->nrefs, 32, id_cmp));
    if (keep || !g->remove) {
        if (kind == TROVE__ENTRY_BLOB) {
            g->st->blobs++;
            g->st->blob_bytes += size;
        }
        return TROVE_OK;
    }
    int rc = BS(g->r)->remove(g->r->bs, kind == TROVE__ENTRY_BLOB ? id : NULL, name, g->err);
    if (!rc) {
        g->st->removed_blobs++;
        g->st->removed_bytes += size;
    }
    return rc;
}

static int scan_store(trove_registry *r, int remove, trove_registry_stats *st, trove_error *err)
{
    uint8_t *refs = NULL;
    size_t n = 0;
    int rc = CAT(r)->referenced(r->cat, &refs, &n, err);
    if (rc)
        return rc;
    gc_ctx g = {r, refs, n, remove, st, err};
    rc = BS(r)->list(r->bs, gc_entry, &g, err);
    if (!rc && remove)
        rc = BS(r)->sync(r->bs, err);
    trove__free(r->alloc, refs);
    if (!rc)
        rc = CAT(r)->totals(r->cat, &st->versions, &st->logical_bytes, err);
    return rc;
}

TROVE_API int trove_registry_gc(trove_registry *r, trove_registry_stats *stats, trove_error *err)
{
    if (!r)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_registry_gc: NULL");
    trove_registry_stats st = {0};
    int rc = BS(r)->lock(r->bs, 1, r->busy_ms, err);
    if (rc)
        return rc;
    rc = scan_store(r, 1, &st, err);
    BS(r)->unlock(r->bs);
    if (stats)
        *stats = st;
    return rc;
}

TROVE_API int trove_registry_stat(trove_registry *r, trove_registry_stats *stats,
                                  trove_error *err)
{
    if (!r || !stats)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_registry_stat: NULL");
    memset(stats, 0, sizeof *stats);
    return scan_store(r, 0, stats, err);
}

/* fsck state: every blob the layouts need, with its size and first user. */
typedef struct need {
    uint8_t id[32];
    uint64_t size;
    size_t row;               /* index of a version that uses it */
    int bad;
} need;

static int need_cmp(const void *a, const void *b)
{
    return memcmp(((const need *)a)->id, ((const need *)b)->id, 32);
}

typedef struct fsck_ctx {
    trove_registry *r;
    trove_fsck_report_fn report;
    void *ctx;
    uint64_t damaged;
    need *needs;
    size_t nneeds;
    trove__vrow *rows;
    uint8_t *buf[8];
    int repair;
    pthread_mutex_t lock;
} fsck_ctx;

static void say(fsck_ctx *c, int damaged, const char *fmt, ...) TROVE_PRINTF(3, 4);
static void say(fsck_ctx *c, int damaged, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&c->lock);
    if (damaged)
        c->damaged++;
    if (c->report)
        c->report(c->ctx, damaged, msg);
    pthread_mutex_unlock(&c->lock);
}

static int catalog_report(void *ctx, const char *message)
{
    fsck_ctx *c = ctx;
    if (c->report)
        c->report(c->ctx, 1, message);
    return 0;
}

static int fsck_blob(void *ctx, size_t job, unsigned slot, trove_error *err)
{
    fsck_ctx *c = ctx;
    need *nd = &c->needs[job];
    trove_error e = {0};
    int rc = BS(c->r)->get(c->r->bs, nd->id, c->buf[slot], (size_t)nd->size, 1, &e);
    if (rc == TROVE_E_NOMEM) {
        if (err)
            *err = e;
        return rc;
    }
    if (rc == TROVE_E_NOT_FOUND || rc == TROVE_E_CHECKSUM) {
        const trove__vrow *u = &c->rows[nd->row];
        nd->bad = 1;
        say(c, 1, "%s (needed by %s:%lld)", e.message, u->v.model, (long long)u->v.number);
        if (c->repair && rc == TROVE_E_CHECKSUM) {
            trove_error re = {0};
            char hx[65];
            trove__hex(nd->id, 32, hx);
            if (BS(c->r)->remove(c->r->bs, nd->id, NULL, &re) == TROVE_OK)
                say(c, 0, "repair: removed damaged blob %s; push a file holding it (e.g. the "
                    "original of %s:%lld) to restore it", hx, u->v.model,
                    (long long)u->v.number);
            else
                say(c, 1, "repair: %s", re.message);
        }
        return TROVE_OK;
    }
    if (rc)
        say(c, 1, "%s", e.message);
    return TROVE_OK;
}

typedef struct list_ctx {
    fsck_ctx *f;
} list_ctx;

static int fsck_entry(void *ctx, int kind, const uint8_t *id, const char *name, uint64_t size)
{
    fsck_ctx *c = ctx;
    if (kind == TROVE__ENTRY_TEMP) {
        say(c, 0, "note: stale temporary file blobs/%s (%llu bytes; gc removes it)", name,
            (unsigned long long)size);
    } else if (kind == TROVE__ENTRY_OTHER) {
        say(c, 0, "note: unexpected entry blobs/%s", name);
    } else {
        need key;
        memcpy(key.id, id, 32);
        if (!c->nneeds || !bsearch(&key, c->needs, c->nneeds, sizeof key, need_cmp))
            say(c, 0, "note: blob %s is not used by any version (gc removes it)", name);
    }
    return TROVE_OK;
}

TROVE_API int trove_registry_fsck(trove_registry *r, unsigned flags, trove_fsck_report_fn report,
                                  void *ctx, trove_registry_stats *stats, trove_error *err)
{
    if (!r)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_registry_fsck: NULL");
    const trove_allocator *a = r->alloc;
    fsck_ctx c = {.r = r, .report = report, .ctx = ctx};
    c.repair = (flags & TROVE_FSCK_REPAIR) != 0;
    pthread_mutex_init(&c.lock, NULL);
    trove__vrow *rows = NULL;
    size_t nrows = 0, cap = 0;
    uint8_t *vb = NULL;
    trove_registry_stats st = {0};
    int rc = BS(r)->lock(r->bs, 0, r->busy_ms, err);
    if (rc) {
        pthread_mutex_destroy(&c.lock);
        return rc;
    }
    uint64_t problems = 0;
    if ((rc = CAT(r)->integrity(r->cat, catalog_report, &c, &problems, err)))
        goto out;
    c.damaged += problems;
    if ((rc = CAT(r)->all(r->cat, &rows, &nrows, err)))
        goto out;
    c.rows = rows;
    for (size_t i = 0; i < nrows; i++) {
        trove__vrow *row = &rows[i];
        trove_error e = {0};
        int cs = check_row(a, row, &e);
        if (cs == TROVE_E_NOMEM)
            goto nomem;
        if (cs != TROVE_OK) {
            say(&c, 1, "%s", e.message);
            continue;
        }
        trove__manifest m;
        cs = trove__manifest_parse(a, row->layout, row->layout_len, &m, &e);
        if (cs == TROVE_E_NOMEM)
            goto nomem;
        if (cs != TROVE_OK) {
            say(&c, 1, "%s:%lld: %s", row->v.model, (long long)row->v.number, e.message);
            continue;
        }
        /* Every blob of the layout, with its size. */
        size_t first = c.nneeds, total = m.nframe;
        for (size_t s = 0; s < m.nseg; s++)
            total += m.segs[s].nchunks;
        if (c.nneeds + total > cap) {
            size_t ncap = (c.nneeds + total) * 2;
            need *nn = trove__realloc(a, c.needs, ncap * sizeof *nn);
            if (!nn) {
                trove__manifest_free(a, &m);
                goto nomem;
            }
            c.needs = nn;
            cap = ncap;
        }
        for (size_t k = 0; k < m.nframe; k++) {
            uint64_t off = (uint64_t)k * m.chunk;
            need *nd = &c.needs[c.nneeds++];
            memcpy(nd->id, m.frame_ids + 32 * k, 32);
            nd->size = m.frame_bytes - off < m.chunk ? m.frame_bytes - off : m.chunk;
            nd->row = i;
            nd->bad = 0;
        }
        for (size_t s = 0; s < m.nseg; s++)
            for (size_t k = 0; k < m.segs[s].nchunks; k++) {
                uint64_t off = (uint64_t)k * m.chunk;
                need *nd = &c.needs[c.nneeds++];
                memcpy(nd->id, m.segs[s].ids + 32 * k, 32);
                nd->size = m.segs[s].stored - off < m.chunk ? m.segs[s].stored - off : m.chunk;
                nd->row = i;
                nd->bad = 0;
            }
        trove__manifest_free(a, &m);
        /* The reference table must list exactly the layout's blobs, or gc would remove one. */
        size_t nvb = 0;
        if ((rc = CAT(r)->version_blobs(r->cat, row->id, &vb, &nvb, err)))
            goto out;
        size_t nmine = c.nneeds - first;
        uint8_t *mine = trove__malloc(a, (nmine ? nmine : 1) * 32);
        if (!mine)
            goto nomem;
        for (size_t k = 0; k < nmine; k++)
            memcpy(mine + 32 * k, c.needs[first + k].id, 32);
        qsort(mine, nmine, 32, id_cmp);
        size_t u = 0;
        for (size_t k = 0; k < nmine; k++)
            if (u == 0 || memcmp(mine + 32 * (u - 1), mine + 32 * k, 32) != 0)
                memmove(mine + 32 * u++, mine + 32 * k, 32);
        if (u != nvb || (u && memcmp(mine, vb, 32 * u) != 0))
            say(&c, 1, "%s:%lld: the catalog's blob references (%zu) do not match its layout "
                "(%zu blobs)", row->v.model, (long long)row->v.number, nvb, u);
        trove__free(a, mine);
        trove__free(a, vb);
        vb = NULL;
    }
    /* Each needed blob once: sort, drop duplicates, re-hash on all threads. */
    if (c.nneeds > 1)
        qsort(c.needs, c.nneeds, sizeof *c.needs, need_cmp);
    size_t u = 0;
    for (size_t k = 0; k < c.nneeds; k++)
        if (u == 0 || memcmp(c.needs[u - 1].id, c.needs[k].id, 32) != 0)
            c.needs[u++] = c.needs[k];
    c.nneeds = u;
    unsigned threads = r->threads > 8 ? 8 : r->threads;
    for (unsigned t = 0; t < threads; t++)
        if (!(c.buf[t] = trove__malloc_io(a, (size_t)TROVE__CHUNK_BYTES)))
            goto nomem;
    if ((rc = trove__run_jobs(threads, c.nneeds, fsck_blob, &c, err)))
        goto out;
    if ((rc = BS(r)->list(r->bs, fsck_entry, &c, err)))
        goto out;
    if ((rc = scan_store(r, 0, &st, err)))
        goto out;
    st.damaged = c.damaged;
    rc = c.damaged ? trove__fail(err, TROVE_E_CHECKSUM, TROVE_NO_OFFSET,
                                 "fsck: %llu problem%s found", (unsigned long long)c.damaged,
                                 c.damaged == 1 ? "" : "s")
                   : TROVE_OK;
    goto out;
nomem:
    rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
out:
    BS(r)->unlock(r->bs);
    if (stats)
        *stats = st;
    for (unsigned t = 0; t < 8; t++)
        trove__free_aligned(a, c.buf[t]);
    trove__free(a, c.needs);
    trove__free(a, vb);
    trove__free_rows(a, rows, nrows);
    pthread_mutex_destroy(&c.lock);
    return rc;
}
