/* convert.c: `trove convert`: foreign model file -> container -> inert pickle VM -> sklearn
 * mapping (or HDF5 -> Keras mapping, or XGBoost JSON/UBJSON -> xgboost.c) -> trove file(s),
 * plain or encrypted (convert_out.c), written atomically and checked by binding their model
 * kind. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codecs/codecs_internal.h"
#include "codecs/convert_out.h"
#include "codecs/tensors.h"

void trove__conversion_free(trove__conversion *c)
{
    if (!c)
        return;
    trove__models_free(c->alloc, c->models, c->n_models);
    pk_arena_free(c->arena);
    trove__free(c->alloc, c->owned);
    memset(c, 0, sizeof *c);
}

/* *fmt (may be NULL) names the container as soon as it is known, also on failure. */
static int convert_buffer(const trove_allocator *alloc, const uint8_t *buf, size_t len,
                          const trove__source_info *src_in, uint64_t max_bytes,
                          trove__conversion *out, const char **fmt, trove_error *err)
{
    memset(out, 0, sizeof *out);
    if (fmt)
        *fmt = NULL;
    out->alloc = alloc;
    if (!max_bytes)
        max_bytes = PK_DEFAULT_MAX_BYTES;
    int rc;
    if (trove__h5_probe(buf, len)) { /* Keras HDF5 (keras_h5.c) */
        out->format = "HDF5 (Keras)";
        if (fmt)
            *fmt = out->format;
        out->arena = pk_arena_new(alloc, max_bytes);
        if (!out->arena)
            rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        else
            rc = trove__keras_h5_map(out->arena, alloc, buf, len, max_bytes, src_in,
                                     &out->models, &out->n_models, err);
        if (rc)
            goto fail;
        return TROVE_OK;
    }
    if (trove__keras_zip_probe(buf, len)) { /* Keras 3 .keras archive (keras_zip.c) */
        out->format = "Keras archive (.keras)";
        if (fmt)
            *fmt = out->format;
        out->arena = pk_arena_new(alloc, max_bytes);
        if (!out->arena)
            rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        else
            rc = trove__keras_zip_map(out->arena, alloc, buf, len, max_bytes, src_in,
                                      &out->models, &out->n_models, err);
        if (rc)
            goto fail;
        return TROVE_OK;
    }
    int xk = trove__xgb_probe(buf, len);
    if (xk) { /* XGBoost JSON / UBJSON (xgboost.c) */
        out->format = xk == TROVE__XGB_UBJSON ? "XGBoost UBJSON" : "XGBoost JSON";
        if (fmt)
            *fmt = out->format;
        out->arena = pk_arena_new(alloc, max_bytes);
        if (!out->arena)
            rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        else
            rc = trove__xgb_map(out->arena, alloc, buf, len, xk, max_bytes, src_in,
                                &out->models, &out->n_models, err);
        if (rc)
            goto fail;
        return TROVE_OK;
    }
    const uint8_t *data;
    size_t dlen;
    rc = trove__joblib_unwrap(alloc, buf, len, max_bytes, &out->owned, &data, &dlen,
                                  &out->format, err);
    if (fmt)
        *fmt = out->format;
    if (rc)
        goto fail;
    if (!pk_probe(data, dlen)) {
        if (fmt)
            *fmt = "unknown format";
        if (len >= 4 && !memcmp(buf, "PK\x03\x04", 4))
            rc = trove__fail(err, TROVE_E_UNSUPPORTED, 0, "a zip archive (torch/npz?): not a "
                             "pickle or joblib file");
        else
            rc = trove__fail(err, TROVE_E_UNSUPPORTED, 0, "not a pickle or joblib file (first "
                             "byte 0x%02x)", dlen ? data[0] : 0);
        goto fail;
    }
    out->arena = pk_arena_new(alloc, max_bytes);
    if (!out->arena) {
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        goto fail;
    }
    pk_obj *root;
    size_t end;
    rc = pk_load(out->arena, data, dlen, 0, NULL, trove__joblib_hook, NULL, &root, &end, err);
    if (rc)
        goto fail;
    trove__source_info src = src_in ? *src_in : (trove__source_info){0};
    src.format = out->format;
    rc = trove__sklearn_map(out->arena, alloc, root, &src, &out->models, &out->n_models, err);
    if (rc)
        goto fail;
    return TROVE_OK;
fail:
    trove__conversion_free(out);
    return rc;
}

int trove__convert_buffer(const trove_allocator *alloc, const uint8_t *buf, size_t len,
                          const char *source_name, uint64_t max_bytes, trove__conversion *out,
                          trove_error *err)
{
    trove__source_info src = {.name = source_name, .size = len};
    return convert_buffer(alloc, buf, len, &src, max_bytes, out, NULL, err);
}

TROVE_API int trove_convert_element_path(char *buf, size_t cap, const char *out_path,
                                         const char *key)
{
    size_t n = strlen(out_path);
    const char *suf = ".trove";
    size_t sl = strlen(suf);
    int w;
    if (n > sl && !strcmp(out_path + n - sl, suf))
        w = snprintf(buf, cap, "%.*s.%s%s", (int)(n - sl), out_path, key, suf);
    else
        w = snprintf(buf, cap, "%s.%s", out_path, key);
    return w < 0 || (size_t)w >= cap ? TROVE_E_INVALID : TROVE_OK;
}

static int read_input(const trove_allocator *alloc, const char *path, uint64_t max_bytes,
                      uint8_t **buf, size_t *len, trove_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot open '%s'", path);
    struct stat st;
    int rc = TROVE_OK;
    if (fstat(fd, &st) != 0) {
        rc = trove__fail_errno(err, TROVE_E_IO, errno, "cannot stat '%s'", path);
    } else if (!S_ISREG(st.st_mode)) {
        rc = trove__fail(err, TROVE_E_IO, TROVE_NO_OFFSET, "'%s' is not a regular file", path);
    } else if ((uint64_t)st.st_size > max_bytes) {
        rc = trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "'%s' is larger than the "
                         "importer's limit (%llu bytes)", path, (unsigned long long)max_bytes);
    } else {
        *len = (size_t)st.st_size;
        *buf = trove__malloc(alloc, *len ? *len : 1);
        if (!*buf)
            rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory reading '%s'",
                             path);
        else if ((rc = trove__pread_all(fd, *buf, *len, 0, err, "input file"))) {
            trove__free(alloc, *buf);
            *buf = NULL;
        }
    }
    close(fd);
    return rc;
}

/* trove_fill_fn: the metadata (a copy: the writer takes it) and tensors of one model. */
static int fill_model(trove_writer *w, void *ctx, trove_error *err)
{
    const trove__model_out *m = ctx;
    trove_value *meta = trove_value_clone(m->meta);
    if (!meta)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    int rc = trove_writer_set_metadata(w, meta, err);
    for (size_t i = 0; !rc && i < m->n_tensors; i++) {
        const trove__tensor_out *t = &m->tensors[i];
        trove_tensor_spec spec = {t->name, t->dtype, t->rank, t->shape, 0, 0};
        rc = trove_writer_add(w, &spec, t->data, err);
    }
    return rc;
}

/* The bytes of m's tensors (saturating): the size of its file, but for the header. */
static uint64_t model_bytes(const trove__model_out *m)
{
    uint64_t total = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const trove__tensor_out *t = &m->tensors[i];
        uint64_t n = trove_dtype_size(t->dtype);
        for (uint32_t d = 0; d < t->rank && d < 2; d++)
            if (!trove__mul_ok(n, t->shape[d], &n))
                return 0;
        if (n > UINT64_MAX / 2 || !trove__add_ok(total, n + 64, &total)) /* + alignment */
            return 0;
    }
    return total;
}

/* trove__out_check_fn: the model binds to its kind (schema and validation). */
static int check_model(const trove_file *f, void *ctx, trove_error *err)
{
    const trove_allocator *alloc = ctx;
    trove_model *mdl = NULL;
    trove_error e2;
    int rc = trove_model_open(&mdl, f, alloc, &e2);
    trove_model_free(mdl);
    if (rc)
        return trove__fail(err, rc, TROVE_NO_OFFSET, "the converted model does not validate: %s",
                           e2.message);
    return TROVE_OK;
}

TROVE_API int trove_convert(const char *in_path, const char *out_path,
                            const trove_convert_options *opts, trove_convert_report *report,
                            trove_error *err)
{
    if (!in_path || !out_path)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "convert: NULL path");
    trove_convert_options o = TROVE_CONVERT_OPTIONS_INIT;
    if (opts) {
        if (opts->size < sizeof(uint32_t) * 2 + sizeof(void *))
            return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "convert: bad options size");
        memcpy(&o, opts, opts->size < sizeof o ? opts->size : sizeof o);
    }
    const trove_allocator *alloc = o.alloc;
    uint64_t max_bytes = o.max_bytes ? o.max_bytes : PK_DEFAULT_MAX_BYTES;
    if (report)
        memset(report, 0, sizeof *report);
    int trc = trove__tensors_convert(in_path, out_path, &o, report, err); /* tensors_io.c */
    if (trc != 1)
        return trc;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = read_input(alloc, in_path, max_bytes, &buf, &len, err);
    if (rc)
        return rc;
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    unsigned char digest[crypto_hash_sha256_BYTES];
    if (sodium_init() < 0) {
        trove__free(alloc, buf);
        return trove__fail(err, TROVE_E_UNSUPPORTED, TROVE_NO_OFFSET, "libsodium failed to start");
    }
    crypto_hash_sha256(digest, buf, len);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    const char *base = strrchr(in_path, '/');
    base = base ? base + 1 : in_path;
    trove__source_info src = {o.source_name ? o.source_name : base, hex, NULL, len};
    trove__conversion c;
    const char *fmt = NULL;
    rc = convert_buffer(alloc, buf, len, &src, max_bytes, &c, &fmt, err);
    trove__free(alloc, buf);
    if (report && fmt)
        snprintf(report->format, sizeof report->format, "%s", fmt);
    if (rc)
        return rc;
    if (report) {
        snprintf(report->format, sizeof report->format, "%s", c.format);
        snprintf(report->estimator, sizeof report->estimator, "%s", c.models[0].estimator);
    }
    bool container = c.models[0].key[0] != 0;
    if (container && (o.flags & TROVE_CONVERT_NO_SPLIT)) {
        rc = trove__fail(err, TROVE_E_UNSUPPORTED, TROVE_NO_OFFSET,
                         "the file holds %zu estimators (a tuple, list or dict), not one",
                         c.n_models);
        goto done;
    }
    char path[4096];
    size_t written = 0;
    for (size_t i = 0; i < c.n_models; i++) {
        if (container) {
            if (trove_convert_element_path(path, sizeof path, out_path, c.models[i].key)) {
                rc = trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "output path too long");
                break;
            }
        } else {
            snprintf(path, sizeof path, "%s", out_path);
        }
        rc = trove__convert_write(path, &o, fill_model, &c.models[i], model_bytes(&c.models[i]),
                                  (o.flags & TROVE_CONVERT_NO_VALIDATE) ? NULL : check_model,
                                  (void *)alloc, err);
        if (rc)
            break;
        written++;
    }
    if (rc) { /* all or nothing: remove what this call wrote */
        for (size_t i = 0; container && i < written; i++)
            if (!trove_convert_element_path(path, sizeof path, out_path, c.models[i].key))
                unlink(path);
        written = 0;
    } else if (o.on_written) {
        for (size_t i = 0; i < c.n_models; i++) {
            if (container)
                (void)trove_convert_element_path(path, sizeof path, out_path, c.models[i].key);
            else
                snprintf(path, sizeof path, "%s", out_path);
            o.on_written(o.ctx, path, c.models[i].estimator);
        }
    }
    if (report)
        report->n_written = (uint32_t)written;
done:
    trove__conversion_free(&c);
    return rc;
}
