/* catalog.h: the registry's metadata (models, versions, aliases and their history) behind a
 * small vtable (internal), so that PostgreSQL can replace SQLite later (docs/REGISTRY.md). */
#ifndef TROVE_REGISTRY_CATALOG_H
#define TROVE_REGISTRY_CATALOG_H

#include "core/internal.h"

/* One version row. v's strings and layout are owned (free with trove__vrow_clear). */
typedef struct trove__vrow {
    trove_version v;
    int64_t id;
    uint8_t *layout;            /* encoded manifest (manifest.h) */
    size_t layout_len;
    uint8_t check[32];          /* stored row checksum */
    int malformed;              /* a fixed-size column had the wrong size or type */
} trove__vrow;

void trove__vrow_clear(const trove_allocator *a, trove__vrow *r);
/* BLAKE2b-256 over the canonical CBOR of the row's immutable fields (not the aliases). */
int trove__vrow_checksum(const trove_allocator *a, const trove__vrow *r, uint8_t out[32],
                         trove_error *err);

typedef struct trove__catalog trove__catalog;

typedef int (*trove__report_fn)(void *ctx, const char *message);

typedef struct trove__catalog_ops {
    /* Write transactions: begin takes the write lock at once (no upgrade deadlocks). */
    int (*begin)(trove__catalog *c, trove_error *err);
    int (*commit)(trove__catalog *c, trove_error *err);
    void (*rollback)(trove__catalog *c);
    /* Version `number` of model (0 = latest), or the one alias points at (alias != NULL). */
    int (*get)(trove__catalog *c, const char *model, int64_t number, const char *alias,
               trove__vrow *out, trove_error *err);
    /* Versions whose model digest starts with the hex digits `hex` (lower case). */
    int (*find_digest)(trove__catalog *c, const char *hex, trove__vrow **out, size_t *n,
                       trove_error *err);
    /* The version of model whose file_id is id: TROVE_E_NOT_FOUND when none. */
    int (*find_file)(trove__catalog *c, const char *model, const uint8_t id[32],
                     trove__vrow *out, trove_error *err);
    /* 1 when a model of that name exists. */
    int (*model_exists)(trove__catalog *c, const char *model, int *exists, trove_error *err);
    /* Inside a transaction: create the model if new, number the version (max + 1), compute and
     * store its row checksum, and record the blobs it references (ids: nblobs x 32 bytes). */
    int (*insert)(trove__catalog *c, trove__vrow *row, const uint8_t *ids, size_t nblobs,
                  trove_error *err);
    /* Every version of model (NULL: the latest of every model), oldest first / by name. */
    int (*list)(trove__catalog *c, const char *model, trove__vrow **out, size_t *n,
                trove_error *err);
    int (*counts)(trove__catalog *c, int64_t **out, size_t *n, trove_error *err);
    /* Inside a transaction: move (number > 0) or delete (0) an alias, logging the move. */
    int (*set_alias)(trove__catalog *c, const char *model, const char *alias, int64_t number,
                     const char *who, int64_t at, trove_error *err);
    int (*alias_history)(trove__catalog *c, const char *model, trove_alias_move **out,
                         size_t *n, trove_error *err);
    /* Inside a transaction: delete a version (TROVE_E_STATE if aliased and !force). */
    int (*remove)(trove__catalog *c, int64_t id, int force, const char *who, int64_t at,
                  trove_error *err);
    /* Blobs recorded for a version (sorted). */
    int (*version_blobs)(trove__catalog *c, int64_t id, uint8_t **ids, size_t *n,
                         trove_error *err);
    /* Every referenced blob, sorted, distinct. */
    int (*referenced)(trove__catalog *c, uint8_t **ids, size_t *n, trove_error *err);
    /* Every version row, for fsck (malformed ones too). */
    int (*all)(trove__catalog *c, trove__vrow **out, size_t *n, trove_error *err);
    /* Storage-level self check; each problem goes to report. *problems counts them. */
    int (*integrity)(trove__catalog *c, trove__report_fn report, void *ctx, uint64_t *problems,
                     trove_error *err);
    int (*totals)(trove__catalog *c, uint64_t *versions, uint64_t *bytes, trove_error *err);
    void (*close)(trove__catalog *c);
} trove__catalog_ops;

struct trove__catalog {
    const trove__catalog_ops *ops;
};

/* SQLite catalog in path (WAL mode). create: make it if missing; mode: its permission bits. */
int trove__catalog_sqlite_open(trove__catalog **out, const trove_allocator *a, const char *path,
                               int create, int readonly, unsigned mode, uint32_t busy_ms,
                               bool sync, trove_error *err);

void trove__free_rows(const trove_allocator *a, trove__vrow *rows, size_t n);

#endif
