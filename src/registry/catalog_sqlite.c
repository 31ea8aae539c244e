/* catalog_sqlite.c: the registry catalog on SQLite: WAL mode, busy timeout, BEGIN IMMEDIATE
 * write transactions, one checksum per version row (docs/REGISTRY.md "Catalog"). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "registry/catalog.h"

#define SCHEMA_VERSION 1

typedef struct sq_catalog {
    trove__catalog base;
    const trove_allocator *alloc;
    sqlite3 *db;
} sq_catalog;

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS trove_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS models(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    "  created INTEGER NOT NULL, last_number INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS versions(id INTEGER PRIMARY KEY,"
    "  model_id INTEGER NOT NULL REFERENCES models(id), number INTEGER NOT NULL,"
    "  digest BLOB NOT NULL, file_id BLOB NOT NULL, file_bytes INTEGER NOT NULL,"
    "  created INTEGER NOT NULL, author TEXT, message TEXT, metrics TEXT, params TEXT,"
    "  parent TEXT, parent_digest BLOB, data_digest TEXT, signature TEXT,"
    "  layout BLOB NOT NULL, row_check BLOB NOT NULL, UNIQUE(model_id, number));"
    "CREATE INDEX IF NOT EXISTS versions_digest ON versions(digest);"
    "CREATE TABLE IF NOT EXISTS version_blobs(version_id INTEGER NOT NULL, blob BLOB NOT NULL,"
    "  PRIMARY KEY(version_id, blob)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS version_blobs_blob ON version_blobs(blob);"
    "CREATE TABLE IF NOT EXISTS aliases(model_id INTEGER NOT NULL, name TEXT NOT NULL,"
    "  version_id INTEGER NOT NULL, PRIMARY KEY(model_id, name));"
    "CREATE TABLE IF NOT EXISTS alias_log(id INTEGER PRIMARY KEY, model_id INTEGER NOT NULL,"
    "  alias TEXT NOT NULL, from_number INTEGER, to_number INTEGER, who TEXT,"
    "  at INTEGER NOT NULL);";

static int sqfail(sq_catalog *c, trove_error *err, int src, const char *what)
{
    int code = TROVE_E_IO;
    int prim = src & 0xff;
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
        code = TROVE_E_BUSY;
    else if (prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB)
        code = TROVE_E_CORRUPT;
    else if (prim == SQLITE_NOMEM)
        code = TROVE_E_NOMEM;
    else if (prim == SQLITE_CONSTRAINT)
        code = TROVE_E_EXISTS;
    return trove__fail(err, code, TROVE_NO_OFFSET, "catalog: %s: %s", what,
                       c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(src));
}

static int exec(sq_catalog *c, const char *sql, trove_error *err)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? TROVE_OK : sqfail(c, err, rc, sql);
}

static int prep(sq_catalog *c, const char *sql, sqlite3_stmt **st, trove_error *err)
{
    int rc = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? TROVE_OK : sqfail(c, err, rc, "prepare");
}

static char *dupcol(const trove_allocator *a, sqlite3_stmt *st, int col, int *nomem)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    const unsigned char *s = sqlite3_column_text(st, col);
    int n = sqlite3_column_bytes(st, col);
    char *d = trove__strndup(a, s ? (const char *)s : "", (size_t)(n > 0 ? n : 0));
    if (!d)
        *nomem = 1;
    return d;
}

static void fixed_blob(sqlite3_stmt *st, int col, uint8_t *out, size_t n, int *malformed)
{
    const void *p = sqlite3_column_blob(st, col);
    int len = sqlite3_column_bytes(st, col);
    memset(out, 0, n);
    if (sqlite3_column_type(st, col) != SQLITE_BLOB || (size_t)len != n || !p) {
        *malformed = 1;
        return;
    }
    memcpy(out, p, n);
}

void trove__vrow_clear(const trove_allocator *a, trove__vrow *r)
{
    if (!r)
        return;
    trove__free(a, (char *)r->v.model);
    trove__free(a, (char *)r->v.author);
    trove__free(a, (char *)r->v.message);
    trove__free(a, (char *)r->v.metrics_json);
    trove__free(a, (char *)r->v.params_json);
    trove__free(a, (char *)r->v.parent);
    trove__free(a, (char *)r->v.data_digest);
    trove__free(a, (char *)r->v.signature);
    trove__free(a, (char *)r->v.aliases);
    trove__free(a, r->layout);
    memset(r, 0, sizeof *r);
}

void trove__free_rows(const trove_allocator *a, trove__vrow *rows, size_t n)
{
    if (!rows)
        return;
    for (size_t i = 0; i < n; i++)
        trove__vrow_clear(a, &rows[i]);
    trove__free(a, rows);
}

#define ROW_COLS                                                                                   \
    "v.id, m.name, v.number, v.digest, v.file_id, v.file_bytes, v.created, v.author, v.message, " \
    "v.metrics, v.params, v.parent, v.parent_digest, v.data_digest, v.signature, v.layout, "      \
    "v.row_check, (SELECT group_concat(a.name, ',') FROM (SELECT name FROM aliases "              \
    "WHERE version_id = v.id ORDER BY name) a) "                                                  \
    "FROM versions v JOIN models m ON m.id = v.model_id "

static int read_row(sq_catalog *c, sqlite3_stmt *st, trove__vrow *r, trove_error *err)
{
    const trove_allocator *a = c->alloc;
    int nomem = 0;
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    r->v.model = dupcol(a, st, 1, &nomem);
    r->v.number = sqlite3_column_int64(st, 2);
    fixed_blob(st, 3, r->v.digest, 32, &r->malformed);
    fixed_blob(st, 4, r->v.file_id, 32, &r->malformed);
    sqlite3_int64 fb = sqlite3_column_int64(st, 5);
    r->v.file_bytes = fb < 0 ? 0 : (uint64_t)fb;
    r->v.created = sqlite3_column_int64(st, 6);
    r->v.author = dupcol(a, st, 7, &nomem);
    r->v.message = dupcol(a, st, 8, &nomem);
    r->v.metrics_json = dupcol(a, st, 9, &nomem);
    r->v.params_json = dupcol(a, st, 10, &nomem);
    r->v.parent = dupcol(a, st, 11, &nomem);
    if (sqlite3_column_type(st, 12) != SQLITE_NULL) {
        r->v.has_parent_digest = 1;
        fixed_blob(st, 12, r->v.parent_digest, 32, &r->malformed);
    }
    r->v.data_digest = dupcol(a, st, 13, &nomem);
    r->v.signature = dupcol(a, st, 14, &nomem);
    const void *lp = sqlite3_column_blob(st, 15);
    int ll = sqlite3_column_bytes(st, 15);
    if (ll > 0 && lp) {
        r->layout = trove__malloc(a, (size_t)ll);
        if (r->layout) {
            memcpy(r->layout, lp, (size_t)ll);
            r->layout_len = (size_t)ll;
        } else {
            nomem = 1;
        }
    }
    fixed_blob(st, 16, r->check, 32, &r->malformed);
    r->v.aliases = dupcol(a, st, 17, &nomem);
    if (!r->v.model && !nomem)
        r->malformed = 1;
    if (nomem) {
        trove__vrow_clear(a, r);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    return TROVE_OK;
}

/* Run st, collecting every row. */
static int collect(sq_catalog *c, sqlite3_stmt *st, trove__vrow **out, size_t *n,
                   trove_error *err)
{
    trove__vrow *rows = NULL;
    size_t cnt = 0, cap = 0;
    int rc = TROVE_OK, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            trove__vrow *nr = trove__realloc(c->alloc, rows, ncap * sizeof *nr);
            if (!nr) {
                rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
                goto out;
            }
            rows = nr;
            cap = ncap;
        }
        if ((rc = read_row(c, st, &rows[cnt], err)) != TROVE_OK)
            goto out;
        cnt++;
    }
    if (s != SQLITE_DONE)
        rc = sqfail(c, err, s, "reading versions");
out:
    sqlite3_finalize(st);
    if (rc) {
        trove__free_rows(c->alloc, rows, cnt);
        return rc;
    }
    *out = rows;
    *n = cnt;
    return TROVE_OK;
}

static int one(sq_catalog *c, sqlite3_stmt *st, trove__vrow *out, const char *what,
               trove_error *err)
{
    trove__vrow *rows = NULL;
    size_t n = 0;
    int rc = collect(c, st, &rows, &n, err);
    if (rc)
        return rc;
    if (n == 0) {
        trove__free(c->alloc, rows);
        return trove__fail(err, TROVE_E_NOT_FOUND, TROVE_NO_OFFSET, "%s", what);
    }
    *out = rows[0];
    for (size_t i = 1; i < n; i++)
        trove__vrow_clear(c->alloc, &rows[i]);
    trove__free(c->alloc, rows);
    return TROVE_OK;
}

static int sq_begin(trove__catalog *cc, trove_error *err)
{
    return exec((sq_catalog *)cc, "BEGIN IMMEDIATE", err);
}
static int sq_commit(trove__catalog *cc, trove_error *err)
{
    return exec((sq_catalog *)cc, "COMMIT", err);
}
static void sq_rollback(trove__catalog *cc)
{
    sq_catalog *c = (sq_catalog *)cc;
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_get(trove__catalog *cc, const char *model, int64_t number, const char *alias,
                  trove__vrow *out, trove_error *err)
{
    sq_catalog *c = (sq_catalog *)cc;
    sqlite3_stmt *st;
    const char *sql =
        alias ? "SELECT " ROW_COLS "JOIN aliases al ON al.version_id = v.id AND al.model_id = "
                "m.id WHERE m.name = ?1 AND al.name = ?2"
        : number ? "SELECT " ROW_COLS "WHERE m.name = ?1 AND v.number = ?3"
                 : "SELECT " ROW_COLS "WHERE m.name = ?1 ORDER BY v.number DESC LIMIT 1";
    int rc = prep(c, sql, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
    if (alias)
        sqlite3_bind_text(st, 2, alias, -1, SQLITE_STATIC);
    else if (number)
        sqlite3_bind_int64(st, 3, number);
    char what[600];
    if (alias)
        snprintf(what, sizeof what, "no alias '%.200s' of model '%.200s'", alias, model);
    else if (number)
        snprintf(what, sizeof what, "no version %lld of model '%.200s'", (long long)number, model);
    else
        snprintf(what, sizeof what, "no model '%.200s' in the registry", model);
    return one(c, st, out, what, err);
}

static int sq_find_digest(trove__catalog *cc, const char *hex, trove__vrow **out, size_t *n,
                          trove_error *err)
{
    sq_catalog *c = (sq_catalog *)cc;
    sqlite3_stmt *st;
    int rc = prep(c, "SELECT " ROW_COLS "WHERE lower(hex(v.digest)) LIKE ?1 || '%' "
                  "ORDER BY m.name, v.number", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
    return collect(c, st, out, n, err);
}

static int sq_find_file(trove__catalog *cc, const char *model, const uint8_t id[32],
                        trove__vrow *out, trove_error *err)
{
    sq_catalog *c = (sq_catalog *)cc;
    sqlite3_stmt *st;
    int rc = prep(c, "SELECT " ROW_COLS "WHERE m.name = ?1 AND v.file_id = ?2 "
                  "ORDER BY v.number LIMIT 1", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, id, 32, SQLITE_STATIC);
    return one(c, st, out, "no such file", err);
}

static int scalar(sq_catalog *c, const char *sql, const char *text, int64_t *out,
                  trove_error *err)
{
    sqlite3_stmt *st;
    int rc = prep(c, sql, &st, err);
    if (rc)
        return rc;
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else if (s == SQLITE_DONE)
        rc = TROVE_E_NOT_FOUND;
    else
        rc = sqfail(c, err, s, "query");
    sqlite3_finalize(st);
    return rc;
}

static int sq_model_exists(trove__catalog *cc, const char *model, int *exists, trove_error *err)
{
    int64_t id;
    int rc = scalar((sq_catalog *)cc, "SELECT id FROM models WHERE name = ?1", model, &id, err);
    *exists = rc == TROVE_OK;
    return rc == TROVE_E_NOT_FOUND ? TROVE_OK : rc;
}

static int step_done(sq_catalog *c, sqlite3_stmt *st, const char *what, trove_error *err)
{
    int s = sqlite3_step(st);
    sqlite3_finalize(st);
    return s == SQLITE_DONE ? TROVE_OK : sqfail(c, err, s, what);
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static int sq_insert(trove__catalog *cc, trove__vrow *row, const uint8_t *ids, size_t nblobs,
                     trove_error *err)
{
    sq_catalog *c = (sq_catalog *)cc;
    sqlite3_stmt *st;
    int64_t model_id;
    int rc = scalar(c, "SELECT id FROM models WHERE name = ?1", row->v.model, &model_id, err);
    if (rc == TROVE_E_NOT_FOUND) {
        if ((rc = prep(c, "INSERT INTO models(name, created) VALUES(?1, ?2)", &st, err)))
            return rc;
        sqlite3_bind_text(st, 1, row->v.model, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, row->v.created);
        if ((rc = step_done(c, st, "adding the model", err)))
            return rc;
        model_id = sqlite3_last_insert_rowid(c->db);
    } else if (rc) {
        return rc;
    }
    /* Numbers are never reused, even after rm of the latest version: NAME:N names one file. */
    int64_t next = 0;
    if ((rc = scalar(c, "SELECT max(last_number, coalesce((SELECT max(number) FROM versions "
                     "WHERE model_id = models.id), 0)) + 1 FROM models WHERE name = ?1",
                     row->v.model, &next, err)))
        return rc;
    if ((rc = prep(c, "UPDATE models SET last_number = ?2 WHERE id = ?1", &st, err)))
        return rc;
    sqlite3_bind_int64(st, 1, model_id);
    sqlite3_bind_int64(st, 2, next);
    if ((rc = step_done(c, st, "numbering the version", err)))
        return rc;
    row->v.number = next;
    if ((rc = trove__vrow_checksum(c->alloc, row, row->check, err)))
        return rc;
    if ((rc = prep(c, "INSERT INTO versions(model_id, number, digest, file_id, file_bytes, "
                   "created, author, message, metrics, params, parent, parent_digest, "
                   "data_digest, signature, layout, row_check) VALUES(?1, ?2, ?3, ?4, ?5, ?6, "
                   "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)", &st, err)))
        return rc;
    sqlite3_bind_int64(st, 1, model_id);
    sqlite3_bind_int64(st, 2, next);
    sqlite3_bind_blob(st, 3, row->v.digest, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, row->v.file_id, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)row->v.file_bytes);
    sqlite3_bind_int64(st, 6, row->v.created);
    bind_opt_text(st, 7, row->v.author);
    bind_opt_text(st, 8, row->v.message);
    bind_opt_text(st, 9, row->v.metrics_json);
    bind_opt_text(st, 10, row->v.params_json);
    bind_opt_text(st, 11, row->v.parent);
    if (row->v.has_parent_digest)
        sqlite3_bind_blob(st, 12, row->v.parent_digest, 32, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 12);
    bind_opt_text(st, 13, row->v.data_digest);
    bind_opt_text(st, 14, row->v.signature);
    sqlite3_bind_blob64(st, 15, row->layout, row->layout_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 16, row->check, 32, SQLITE_STATIC);
    if ((rc = step_done(c, st, "adding the version", err)))
        return rc;
    row->id = sqlite3_last_insert_rowid(c->db);
    if ((rc = prep(c, "INSERT OR IGNORE INTO version_blobs(version_id, blob) VALUES(?1, ?2)",
                   &st, err)))
        return rc;
    for (size_t i = 0; i < nblobs; i++) {
        sqlite3_bind_int64(st, 1, row->id);
        sqlite3_bind_blob(st, 2, ids + 32 * i, 32, SQLITE_STATIC);
        int s = sqlite3_step(st);
        if (s != SQLITE_DONE) {
            rc = sqfail(c, err, s, "recording the version's blobs");
            break;
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

static int sq_list(trove__catalog *cc, const char *model, trove__vrow **out, size_t *n,
                   trove_error *err)
{
    sq_catalog *c = (sq_catalog *)cc;
    sqlite3_stmt *st;
    int rc = prep(c, model ? "SELECT " ROW_COLS "WHERE m.name = ?1 ORDER BY v.number"
                           : "SELECT " ROW_COLS "WHERE v.number = (SELECT max(number) FROM "
                             "versions WHERE model_id = m.id) ORDER BY m.name", &st, err);
    if (rc)
        return rc;
    if (model)
        sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
    return collect(c, st, out, n, err);
}

static int sq_counts(trove__catalog *cc, int64_t **out, size_t *n, trove_error *err)
{
    sq_catalog *c = (sq_catalog *)cc;
    sqlite3_stmt *st;
    int rc = prep(c, "SELECT count(*) FROM versions v JOIN models m ON m.id = v.model_id "
                  "GROUP BY m.name ORDER BY m.name", &st, err);
    if (rc)
        return rc;
    int64_t *v = NULL;
    size_t cnt = 0, cap = 0;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            int64_t *nv = trove__realloc(c->alloc, v, ncap * sizeof *nv);
            if (!nv) {
                rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[cnt++] = sqlite3_column_int64(st, 0);
    }
    if (!rc && s != SQLITE_DONE)
        rc = sqfail(c, err, s, "counting versions");
    sqlite3_finalize(st);
    if (rc) {
        trove__free(c->alloc, v);
        return rc;
    }
    *out = v;
    *n = cnt;
    return TROVE_OK;
}

static int sq_set_alias(trove__catalog *cc, const char *model, const char *alias,
                        int64_t number, const char *who, int64_t at, trove_error *err)
{
    sq_catalog *c = (sq_catalog *)cc;
    int64_t model_id, version_id = 0, from = 0;
    int rc = scalar(c, "SELECT id FROM models WHERE name = ?1", model, &model_id, err);
    if (rc == TROVE_E_NOT_FOUND)
        return trove__fail(err, TROVE_E_NOT_FOUND, TROVE_NO_OFFSET,
                           "no model '%.200s' in the registry", model);
    if (rc)
        return rc;
    sqlite3_stmt *st;
    if (number > 0) {
        if ((rc = prep(c, "SELECT id FROM versions WHERE model_id = ?1 AND number = ?2", &st,
                       err)))
            return rc;
        sqlite3_bind_int64(st, 1, model_id);
        sqlite3_bind_int64(st, 2, number);
        int s = sqlite3_step(st);
        if (s == SQLITE_ROW)
            version_id = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        if (s != SQLITE_ROW)
            return s == SQLITE_DONE
                       ? trove__fail(err, TROVE_E_NOT_FOUND, TROVE_NO_OFFSET,
                                     "no version %lld of model '%.200s'", (long long)number, model)
                       : sqfail(c, err, s, "finding the version");
    }
    if ((rc = prep(c, "SELECT v.number FROM aliases a JOIN versions v ON v.id = a.version_id "
                   "WHERE a.model_id = ?1 AND a.name = ?2", &st, err)))
        return rc;
    sqlite3_bind_int64(st, 1, model_id);
    sqlite3_bind_text(st, 2, alias, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        from = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        return sqfail(c, err, s, "reading the alias");
    if (number == 0 && from == 0)
        return trove__fail(err, TROVE_E_NOT_FOUND, TROVE_NO_OFFSET,
                           "no alias '%.200s' of model '%.200s'", alias, model);
    if (number > 0)
        rc = prep(c, "INSERT INTO aliases(model_id, name, version_id) VALUES(?1, ?2, ?3) "
                  "ON CONFLICT(model_id, name) DO UPDATE SET version_id = excluded.version_id",
                  &st, err);
    else
        rc = prep(c, "DELETE FROM aliases WHERE model_id = ?1 AND name = ?2", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, model_id);
    sqlite3_bind_text(st, 2, alias, -1, SQLITE_STATIC);
    if (number > 0)
        sqlite3_bind_int64(st, 3, version_id);
    if ((rc = step_done(c, st, "moving the alias", err)))
        return rc;
    if ((rc = prep(c, "INSERT INTO alias_log(model_id, alias, from_number, to_number, who, at) "
                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6)", &st, err)))
        return rc;
    sqlite3_bind_int64(st, 1, model_id);
    sqlite3_bind_text(st, 2, alias, -1, SQLITE_STATIC);
    if (from)
        sqlite3_bind_int64(st, 3, from);
    else
        sqlite3_bind_null(st, 3);
    if (number > 0)
        sqlite3_bind_int64(st, 4, number);
    else
        sqlite3_bind_null(st, 4);
    bind_opt_text(st, 5, who);
    sqlite3_bind_int64(st, 6, at);
    return step_done(c, st, "logging the alias move", err);
}

static int sq_alias_history(trove__catalog *cc, const char *model, trove_alias_move **out,
                            size_t *n, trove_error *err)
{
    sq_catalog *c = (sq_catalog *)cc;
    const trove_allocator *a = c->alloc;
    sqlite3_stmt *st;
    int rc = prep(c, model ? "SELECT m.name, l.alias, l.from_number, l.to_number, l.who, l.at "
                             "FROM alias_log l JOIN models m ON m.id = l.model_id "
                             "WHERE m.name = ?1 ORDER BY l.id"
                           : "SELECT m.name, l.alias, l.from_number, l.to_number, l.who, l.at "
                             "FROM alias_log l JOIN models m ON m.id = l.model_id ORDER BY l.id",
                  &st, err);
    if (rc)
        return rc;
    if (model)
        sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
    trove_alias_move *v = NULL;
    size_t cnt = 0, cap = 0;
    int s, nomem = 0;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            trove_alias_move *nv = trove__realloc(a, v, ncap * sizeof *nv);
            if (!nv) {
                nomem = 1;
                break;
            }
            v = nv;
            cap = ncap;
        }
        trove_alias_move *m = &v[cnt++];
        m->model = dupcol(a, st, 0, &nomem);
        m->alias = dupcol(a, st, 1, &nomem);
        m->from = sqlite3_column_int64(st, 2);
        m->to = sqlite3_column_int64(st, 3);
        m->who = dupcol(a, st, 4, &nomem);
        m->at = sqlite3_column_int64(st, 5);
        if (nomem)
            break;
    }
    if (nomem)
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    else if (s != SQLITE_DONE)
        rc = sqfail(c, err, s, "reading alias history");
    sqlite3_finalize(st);
    if (rc) {
        for (size_t i = 0; i < cnt; i++) {
            trove__free(a, (char *)v[i].model);
            trove__free(a, (char *)v[i].alias);
            trove__free(a, (char *)v[i].who);
        }
        trove__free(a, v);
        return rc;
    }
    *out = v;
    *n = cnt;
    return TROVE_OK;
}

static int sq_remove(trove__catalog *cc, int64_t id, int force, const char *who, int64_t at,
                     trove_error *err)
{
    sq_catalog *c = (sq_catalog *)cc;
    sqlite3_stmt *st;
    int rc = prep(c, "SELECT a.name, m.name, v.number FROM aliases a JOIN versions v ON "
                  "v.id = a.version_id JOIN models m ON m.id = v.model_id WHERE a.version_id = ?1 "
                  "ORDER BY a.name", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    char names[8][128];
    char model[256] = "";
    int64_t number = 0;
    size_t na = 0;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (na < 8)
            snprintf(names[na], sizeof names[na], "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(model, sizeof model, "%s", (const char *)sqlite3_column_text(st, 1));
        number = sqlite3_column_int64(st, 2);
        na++;
    }
    sqlite3_finalize(st);
    if (s != SQLITE_DONE)
        return sqfail(c, err, s, "reading aliases");
    if (na && !force)
        return trove__fail(err, TROVE_E_STATE, TROVE_NO_OFFSET,
                           "version %s:%lld is still the target of alias '%s'%s: move the alias "
                           "first or use --force", model, (long long)number, names[0],
                           na > 1 ? " (and others)" : "");
    for (size_t i = 0; i < na && i < 8; i++)
        if ((rc = sq_set_alias(cc, model, names[i], 0, who, at, err)))
            return rc;
    if ((rc = prep(c, "DELETE FROM aliases WHERE version_id = ?1", &st, err)))
        return rc;
    sqlite3_bind_int64(st, 1, id);
    if ((rc = step_done(c, st, "removing aliases", err)))
        return rc;
    if ((rc = prep(c, "DELETE FROM version_blobs WHERE version_id = ?1", &st, err)))
        return rc;
    sqlite3_bind_int64(st, 1, id);
    if ((rc = step_done(c, st, "removing the version's blobs", err)))
        return rc;
    if ((rc = prep(c, "DELETE FROM versions WHERE id = ?1", &st, err)))
        return rc;
    sqlite3_bind_int64(st, 1, id);
    return step_done(c, st, "removing the version", err);
}

static int id_list(sq_catalog *c, sqlite3_stmt *st, uint8_t **ids, size_t *n, trove_error *err)
{
    uint8_t *v = NULL;
    size_t cnt = 0, cap = 0;
    int s, rc = TROVE_OK;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != 32 || !sqlite3_column_blob(st, 0))
            continue; /* malformed: fsck reports it through the layout comparison */
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            uint8_t *nv = trove__realloc(c->alloc, v, ncap * 32);
            if (!nv) {
                rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
                break;
            }
            v = nv;
            cap = ncap;
        }
        memcpy(v + 32 * cnt++, sqlite3_column_blob(st, 0), 32);
    }
    if (!rc && s != SQLITE_DONE)
        rc = sqfail(c, err, s, "listing blobs");
    sqlite3_finalize(st);
    if (rc) {
        trove__free(c->alloc, v);
        return rc;
    }
    *ids = v;
    *n = cnt;
    return TROVE_OK;
}

static int sq_version_blobs(trove__catalog *cc, int64_t id, uint8_t **ids, size_t *n,
                            trove_error *err)
{
    sq_catalog *c = (sq_catalog *)cc;
    sqlite3_stmt *st;
    int rc = prep(c, "SELECT blob FROM version_blobs WHERE version_id = ?1 ORDER BY blob", &st,
                  err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    return id_list(c, st, ids, n, err);
}

static int sq_referenced(trove__catalog *cc, uint8_t **ids, size_t *n, trove_error *err)
{
    sq_catalog *c = (sq_catalog *)cc;
    sqlite3_stmt *st;
    int rc = prep(c, "SELECT DISTINCT blob FROM version_blobs ORDER BY blob", &st, err);
    return rc ? rc : id_list(c, st, ids, n, err);
}

static int sq_all(trove__catalog *cc, trove__vrow **out, size_t *n, trove_error *err)
{
    sq_catalog *c = (sq_catalog *)cc;
    sqlite3_stmt *st;
    int rc = prep(c, "SELECT " ROW_COLS "ORDER BY m.name, v.number", &st, err);
    return rc ? rc : collect(c, st, out, n, err);
}

static int sq_integrity(trove__catalog *cc, trove__report_fn report, void *ctx,
                        uint64_t *problems, trove_error *err)
{
    sq_catalog *c = (sq_catalog *)cc;
    sqlite3_stmt *st;
    int rc = prep(c, "PRAGMA integrity_check", &st, err);
    if (rc)
        return rc;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *m = (const char *)sqlite3_column_text(st, 0);
        if (m && strcmp(m, "ok") != 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "catalog: SQLite integrity check: %s", m);
            report(ctx, msg);
            (*problems)++;
        }
    }
    sqlite3_finalize(st);
    if (s != SQLITE_DONE)
        return sqfail(c, err, s, "integrity check");
    /* Referential checks the schema does not enforce. */
    static const char *const checks[][2] = {
        {"SELECT count(*) FROM versions WHERE model_id NOT IN (SELECT id FROM models)",
         "versions of a missing model"},
        {"SELECT count(*) FROM aliases WHERE version_id NOT IN (SELECT id FROM versions)",
         "aliases pointing at a missing version"},
        {"SELECT count(*) FROM version_blobs WHERE version_id NOT IN (SELECT id FROM versions)",
         "blob references of a missing version"},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        int64_t cnt = 0;
        if ((rc = scalar(c, checks[i][0], NULL, &cnt, err)))
            return rc;
        if (cnt) {
            char msg[256];
            snprintf(msg, sizeof msg, "catalog: %lld %s", (long long)cnt, checks[i][1]);
            report(ctx, msg);
            (*problems)++;
        }
    }
    return TROVE_OK;
}

static int sq_totals(trove__catalog *cc, uint64_t *versions, uint64_t *bytes, trove_error *err)
{
    sq_catalog *c = (sq_catalog *)cc;
    int64_t v = 0, b = 0;
    int rc = scalar(c, "SELECT count(*) FROM versions", NULL, &v, err);
    if (!rc)
        rc = scalar(c, "SELECT coalesce(sum(file_bytes), 0) FROM versions", NULL, &b, err);
    *versions = (uint64_t)v;
    *bytes = (uint64_t)b;
    return rc;
}

static void sq_close(trove__catalog *cc)
{
    sq_catalog *c = (sq_catalog *)cc;
    if (!c)
        return;
    sqlite3_close_v2(c->db);
    trove__free(c->alloc, c);
}

static const trove__catalog_ops sq_ops = {
    sq_begin,       sq_commit,        sq_rollback, sq_get,       sq_find_digest, sq_find_file,
    sq_model_exists, sq_insert,       sq_list,     sq_counts,    sq_set_alias,   sq_alias_history,
    sq_remove,      sq_version_blobs, sq_referenced, sq_all,     sq_integrity,   sq_totals,
    sq_close,
};

int trove__catalog_sqlite_open(trove__catalog **out, const trove_allocator *a, const char *path,
                               int create, int readonly, unsigned mode, uint32_t busy_ms,
                               bool sync, trove_error *err)
{
    sq_catalog *c = trove__calloc(a, 1, sizeof *c);
    if (!c)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    c->base.ops = &sq_ops;
    c->alloc = a;
    struct stat st;
    int existed = stat(path, &st) == 0;
    if (!existed && !create) {
        trove__free(a, c);
        return trove__fail(err, TROVE_E_NOT_FOUND, TROVE_NO_OFFSET,
                           "no registry catalog at '%s' (create one with 'trove push')", path);
    }
    int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = sqfail(c, err, rc, "cannot open the catalog");
        sq_close(&c->base);
        return rc;
    }
    if (!existed)
        chmod(path, (mode_t)mode);
    sqlite3_busy_timeout(c->db, (int)busy_ms);
    sqlite3_extended_result_codes(c->db, 1);
    char pragmas[200];
    snprintf(pragmas, sizeof pragmas, "PRAGMA synchronous=%s; PRAGMA foreign_keys=OFF;",
             sync ? "FULL" : "OFF");
    if ((rc = exec(c, pragmas, err)))
        goto fail;
    if (!readonly) {
        /* Journal mode changes need the lock; the busy handler waits for it. */
        if ((rc = exec(c, "PRAGMA journal_mode=WAL", err)))
            goto fail;
        if ((rc = exec(c, "BEGIN IMMEDIATE", err)))
            goto fail;
        if ((rc = exec(c, schema, err))) {
            sq_rollback(&c->base);
            goto fail;
        }
        char ins[160];
        snprintf(ins, sizeof ins, "INSERT OR IGNORE INTO trove_meta VALUES('schema', '%d')",
                 SCHEMA_VERSION);
        if ((rc = exec(c, ins, err)) || (rc = exec(c, "COMMIT", err))) {
            sq_rollback(&c->base);
            goto fail;
        }
    }
    int64_t ver = 0;
    sqlite3_stmt *q;
    if ((rc = prep(c, "SELECT CAST(value AS INTEGER) FROM trove_meta WHERE key = 'schema'", &q,
                   err)))
        goto fail;
    if (sqlite3_step(q) == SQLITE_ROW)
        ver = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    if (ver != SCHEMA_VERSION) {
        rc = trove__fail(err, ver > SCHEMA_VERSION ? TROVE_E_VERSION : TROVE_E_CORRUPT,
                         TROVE_NO_OFFSET, "catalog '%s' has schema version %lld; this trove "
                         "reads version %d", path, (long long)ver, SCHEMA_VERSION);
        goto fail;
    }
    *out = &c->base;
    return TROVE_OK;
fail:
    sq_close(&c->base);
    return rc;
}
