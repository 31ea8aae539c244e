/* trove/registry.h: the model registry: immutable versions, aliases and lineage over a
 * deduplicated, content-addressed blob store and an SQLite catalog (docs/REGISTRY.md).
 *
 * Part of the public API; include <trove.h> rather than this file.
 *
 * A registry is a directory holding `catalog.db` (SQLite, WAL mode) and `blobs/` (content-
 * addressed files named by BLAKE2b-256). A pushed file is split into its framing (preamble,
 * padding, header, trailer) and its tensors' stored bytes, both cut into 4 MiB chunks; each chunk
 * is a blob named by its BLAKE2b-256 digest, so versions that share weights share storage. Blobs
 * are written (atomically, durably) before the one transaction that records the version, so a
 * crash leaves the registry as it was or with the complete new version. A pull reassembles the
 * file byte for byte, re-hashing every blob and checking the model digest before the output
 * appears.
 *
 * Thread-safety: a trove_registry handle is used by one thread at a time; open one handle per
 * thread. Any number of processes may use the same registry directory at once. */
#ifndef TROVE_REGISTRY_H
#define TROVE_REGISTRY_H

#include "core.h"
#include "security.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct trove_registry trove_registry;

enum {
    TROVE_REGISTRY_CREATE = 1u << 0,  /* create the directory and catalog when missing */
    TROVE_REGISTRY_SHARED = 1u << 1,  /* on creation: group-shared modes (02770 / 0660 / 0440) */
    TROVE_REGISTRY_NO_SYNC = 1u << 2, /* skip fsync (tests, scratch): not crash-safe */
    TROVE_REGISTRY_READONLY = 1u << 3,/* open the catalog read-only (log, models, pull, fsck) */
    /* pull: also re-hash every tensor blob with BLAKE2b and compare it with its name (about
     * 3x the CPU of a default pull). A default pull checks every tensor byte against the
     * rebuilt file's own XXH3-64 chunk checksums, which sit in the header, itself re-hashed
     * with BLAKE2b and tied to the registered digest: any accidental damage is caught either
     * way. Re-hashing also catches a deliberate substitution by someone who can write the blob
     * store but not the catalog (a future remote store); a check of signatures against trusted
     * keys (trove_registry_pull_trusted) always re-hashes. Framing blobs are always re-hashed.
     * (Bit 4, the former TROVE_REGISTRY_FAST_PULL, is retired: pull is that by default.) */
    TROVE_REGISTRY_REHASH = 1u << 5,
};

typedef struct trove_registry_options {
    uint32_t size;                  /* sizeof(trove_registry_options): ABI version */
    uint32_t flags;                 /* TROVE_REGISTRY_* */
    const trove_allocator *alloc;   /* NULL = libc; must outlive the registry */
    uint32_t busy_timeout_ms;       /* waiting for another process's lock; 0 = 60000 */
    uint32_t threads;               /* hashing threads for push/pull/fsck; 0 = 2 */
} trove_registry_options;
#define TROVE_REGISTRY_OPTIONS_INIT { sizeof(trove_registry_options), 0, NULL, 0, 0 }

/* The registry directory to use when none is given: $TROVE_REGISTRY, else
 * $XDG_DATA_HOME/trove/registry, else $HOME/.local/share/trove/registry. Copied into buf
 * (NUL-terminated). TROVE_E_LIMIT when it does not fit, TROVE_E_NOT_FOUND when neither
 * TROVE_REGISTRY, XDG_DATA_HOME nor HOME is set. */
int trove_registry_default_dir(char *buf, size_t cap, trove_error *err);

/* Open (or with TROVE_REGISTRY_CREATE create) the registry in dir. Caller owns *out; free with
 * trove_registry_close(). Errors: TROVE_E_NOT_FOUND (no registry there and no CREATE),
 * TROVE_E_IO, TROVE_E_VERSION (catalog of a newer schema), TROVE_E_CORRUPT, TROVE_E_NOMEM. */
TROVE_NODISCARD int trove_registry_open(trove_registry **out, const char *dir,
                                        const trove_registry_options *opts, trove_error *err);
/* Accepts NULL. */
void trove_registry_close(trove_registry *r);

/* One registered version. Every pointer is owned by the list it came from (see
 * trove_registry_versions_free); strings are NUL-terminated UTF-8, NULL when absent. */
typedef struct trove_version {
    const char *model;           /* model name */
    int64_t number;              /* 1, 2, ... per model */
    uint8_t digest[32];          /* model digest (trove_file_digest) */
    uint8_t file_id[32];         /* BLAKE2b-256 of the stored layout: same file bytes, same id */
    uint64_t file_bytes;         /* size of the file */
    int64_t created;             /* seconds since the Unix epoch */
    const char *author;
    const char *message;
    const char *metrics_json;    /* JSON object ("{}" when none) */
    const char *params_json;     /* JSON object ("{}" when none) */
    const char *parent;          /* parent as given ("name:3") or NULL */
    int has_parent_digest;
    uint8_t parent_digest[32];   /* valid when has_parent_digest */
    const char *data_digest;     /* training-data digest (hex or text) or NULL */
    const char *signature;       /* status at push: "unsigned", "signed by ID, ... (valid
                                  * signatures; ...)", "verified at push: ..." (REGISTRY.md) */
    const char *aliases;         /* comma-separated aliases pointing here, or NULL */
} trove_version;

/* Free a list returned by this API. Accepts NULL. */
void trove_registry_versions_free(trove_registry *r, trove_version *v, size_t count);

typedef struct trove_push_options {
    uint32_t size;               /* sizeof(trove_push_options) */
    const char *message;         /* NULL = "" */
    const char *author;          /* NULL = $TROVE_AUTHOR, $USER or the login name */
    const char *alias;           /* move this alias to the new version; NULL = none */
    const char *parent;          /* REF of the parent version; NULL = metadata lineage.parent */
    const char *data_digest;     /* NULL = metadata lineage.training_data */
    const char *const *metrics;  /* "key=value" strings, added to metadata "metrics" */
    size_t n_metrics;
    const char *const *params;   /* "key=value" strings, added to metadata "params" */
    size_t n_params;
    /* Trusted public keys: when ntrusted > 0 the file must carry a valid embedded signature by
     * one of them (the rules of trove_verify_signatures), else TROVE_E_SIGNATURE and nothing is
     * registered. Borrowed for the call. */
    const trove_pubkey *trusted;
    size_t ntrusted;
    trove_verify_result *sig_result; /* when not NULL and ntrusted > 0: the signature outcome */
} trove_push_options;
#define TROVE_PUSH_OPTIONS_INIT { sizeof(trove_push_options), NULL, NULL, NULL, NULL, NULL, \
                                  NULL, 0, NULL, 0, NULL, 0, NULL }

/* Register the trove file at path as the next version of model `name` (created when new).
 * The file is verified first (every checksum). Pushing a file whose bytes are already the
 * model's version N registers nothing and reports N. opts may be NULL. When out is not NULL it
 * receives the version (caller owns; free with trove_registry_versions_free(r, *out, 1)).
 * Errors: TROVE_E_INVALID (bad name or metric), any error of trove_open/trove_file_verify,
 * TROVE_E_NOT_FOUND (parent), TROVE_E_IO (blob store or catalog, e.g. disk full),
 * TROVE_E_BUSY (lock not obtained within busy_timeout_ms), TROVE_E_SIGNATURE (an embedded
 * signature that does not verify with its own public key, or no valid one by the trusted keys
 * of opts). */
TROVE_NODISCARD int trove_registry_push(trove_registry *r, const char *path, const char *name,
                                        const trove_push_options *opts, trove_version **out,
                                        trove_error *err);

/* Resolve REF: "NAME" (latest version), "NAME:N", "NAME@ALIAS" or a hex digest prefix of at
 * least 6 digits (model digest). Caller owns *out (1 entry); free with
 * trove_registry_versions_free. TROVE_E_NOT_FOUND, TROVE_E_INVALID (ambiguous prefix). */
TROVE_NODISCARD int trove_registry_resolve(trove_registry *r, const char *ref,
                                           trove_version **out, trove_error *err);

/* Write the file of version REF to path (atomically; byte-identical to the pushed file). The
 * catalog row and the layout are checked, the framing blobs re-hashed, every tensor byte
 * checked against the file's own chunk checksums (and every blob re-hashed with BLAKE2b under
 * TROVE_REGISTRY_REHASH), and the result is opened, verified and its model digest compared
 * before it is renamed into place: a damaged registry yields TROVE_E_CHECKSUM (or
 * TROVE_E_CORRUPT) and no file. out as in push (may be NULL). Thread-safety: one registry
 * handle per thread; several processes may pull and push at once. */
TROVE_NODISCARD int trove_registry_pull(trove_registry *r, const char *ref, const char *path,
                                        trove_version **out, trove_error *err);
/* As trove_registry_pull, and before the file is renamed into place its embedded signatures
 * are checked against the nkeys trusted keys (nkeys >= 1) over a digest re-hashed from every
 * blob: no valid signature by a trusted key gives TROVE_E_SIGNATURE, res->status UNSIGNED,
 * UNKNOWN_KEY or BAD (the rules of trove_verify_signatures), and no file. res may be NULL. */
TROVE_NODISCARD int trove_registry_pull_trusted(trove_registry *r, const char *ref,
                                                const char *path, const trove_pubkey *keys,
                                                size_t nkeys, trove_verify_result *res,
                                                trove_version **out, trove_error *err);

/* Every version of `name`, oldest first (name NULL: the latest version of every model, by
 * name). Caller owns *out; free with trove_registry_versions_free(r, *out, *count). */
TROVE_NODISCARD int trove_registry_log(trove_registry *r, const char *name, trove_version **out,
                                       size_t *count, trove_error *err);

/* Number of versions of each model, in the order of trove_registry_log(r, NULL, ...). Caller
 * owns *counts; free with trove_free(alloc, *counts). */
TROVE_NODISCARD int trove_registry_version_counts(trove_registry *r, int64_t **counts,
                                                  size_t *n, trove_error *err);

/* Point alias `alias` of model `name` at version `number` (number 0: delete the alias),
 * recording who moved it, when, from which version. who NULL = as push's author. */
TROVE_NODISCARD int trove_registry_alias(trove_registry *r, const char *name, const char *alias,
                                         int64_t number, const char *who, trove_error *err);

/* One move of an alias. Owned by the list (trove_registry_alias_moves_free). */
typedef struct trove_alias_move {
    const char *model;
    const char *alias;
    int64_t from;                /* version number, 0 when the alias was new */
    int64_t to;                  /* version number, 0 when the alias was deleted */
    const char *who;
    int64_t at;                  /* seconds since the Unix epoch */
} trove_alias_move;

/* History of every alias move of `name` (NULL: all models), oldest first. Caller owns *out;
 * free with trove_registry_alias_moves_free(r, *out, *count). */
TROVE_NODISCARD int trove_registry_alias_history(trove_registry *r, const char *name,
                                                 trove_alias_move **out, size_t *count,
                                                 trove_error *err);
void trove_registry_alias_moves_free(trove_registry *r, trove_alias_move *m, size_t count);

enum { TROVE_RM_FORCE = 1u << 0 };  /* also delete the aliases pointing at the version */
/* Remove version REF from the catalog (its blobs stay until trove_registry_gc). Refused with
 * TROVE_E_STATE while an alias points at it, unless TROVE_RM_FORCE. */
TROVE_NODISCARD int trove_registry_rm(trove_registry *r, const char *ref, unsigned flags,
                                      trove_error *err);

typedef struct trove_registry_stats {
    uint64_t versions;           /* registered versions */
    uint64_t logical_bytes;      /* sum of the versions' file sizes */
    uint64_t blobs;              /* blob files in the store */
    uint64_t blob_bytes;         /* their total size */
    uint64_t removed_blobs;      /* gc: blobs (and stale temporary files) removed */
    uint64_t removed_bytes;      /* gc: bytes freed */
    uint64_t damaged;            /* fsck: problems found */
} trove_registry_stats;

/* Remove every blob no version references, and temporary files left by killed pushes. Takes
 * the registry's exclusive lock, so it is safe against concurrent pushes and pulls (they wait,
 * up to busy_timeout_ms, and gc waits for them). stats may be NULL. */
TROVE_NODISCARD int trove_registry_gc(trove_registry *r, trove_registry_stats *stats,
                                      trove_error *err);

/* Storage accounting without changing anything. */
TROVE_NODISCARD int trove_registry_stat(trove_registry *r, trove_registry_stats *stats,
                                        trove_error *err);

/* Check everything: the catalog (SQLite integrity check, each version row's checksum, its
 * layout and blob list), every blob (exists, size, re-hashed). Each problem is passed to
 * report(ctx, damaged=1, message) (report may be NULL) and counted in stats->damaged. Returns
 * TROVE_OK when nothing is damaged, TROVE_E_CHECKSUM when something is, or another error when
 * fsck could not run. Blobs no version references, and temporary files, are reported as notes
 * (damaged == 0), not as damage. With TROVE_FSCK_REPAIR, a blob whose bytes do not match its
 * name is removed (and reported), so that pushing any file that holds it writes it again. */
enum { TROVE_FSCK_REPAIR = 1u << 0 };
typedef void (*trove_fsck_report_fn)(void *ctx, int damaged, const char *message);
TROVE_NODISCARD int trove_registry_fsck(trove_registry *r, unsigned flags,
                                        trove_fsck_report_fn report, void *ctx,
                                        trove_registry_stats *stats, trove_error *err);

#ifdef __cplusplus
}
#endif
#endif /* TROVE_REGISTRY_H */
