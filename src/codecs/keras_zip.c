/* keras_zip.c: Keras 3 .keras archive importer: reads config.json, metadata.json and
 * model.weights.h5 from the zip with libzip (from memory, hostile-safe), then hands the weights
 * file image to the libhdf5 reader process (keras_h5_child.c) and the config to the mapping
 * (keras_h5.c), which finds each layer's variables by the path Keras's saving_lib gave them. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <zip.h>

#include "codecs/keras_h5.h"

#define KZ_PREFIX "Keras archive (.keras)"

TROVE_PRINTF(3, 4)
static int zfail(trove_error *err, int code, const char *fmt, ...)
{
    char why[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    for (char *p = why; *p; p++) /* member names come from the file */
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return trove__fail(err, code, TROVE_NO_OFFSET, KZ_PREFIX ": %s", why);
}

static const char *const MEMBERS[] = {"config.json", "metadata.json", "model.weights.h5",
                                      "model.weights.npz"};
enum { M_CONFIG, M_META, M_H5, M_NPZ, M_N };

bool trove__keras_zip_probe(const uint8_t *buf, size_t len)
{
    if (len < 30 || memcmp(buf, "PK\x03\x04", 4))
        return false;
    size_t nl = (size_t)buf[26] | (size_t)buf[27] << 8;
    for (int i = 0; i < M_N; i++)
        if (nl == strlen(MEMBERS[i]) && len - 30 >= nl && !memcmp(buf + 30, MEMBERS[i], nl))
            return true;
    static const char want[] = "model.weights.h5";
    for (size_t i = 0; len >= sizeof want - 1 && i <= len - (sizeof want - 1); i++) {
        const uint8_t *p = memchr(buf + i, 'm', len - (sizeof want - 1) - i + 1);
        if (!p)
            break;
        i = (size_t)(p - buf);
        if (!memcmp(p, want, sizeof want - 1))
            return true;
    }
    return false;
}

/* One member, whole: exactly its declared size, CRC checked by libzip at its end. */
static int read_member(const trove_allocator *alloc, zip_t *za, zip_uint64_t idx,
                       const char *name, uint64_t limit, uint8_t **out, size_t *out_len,
                       trove_error *err)
{
    *out = NULL;
    *out_len = 0;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za, idx, 0, &st) != 0)
        return zfail(err, TROVE_E_CORRUPT, "member %s: unreadable entry (%s)", name,
                     zip_strerror(za));
    const zip_uint64_t need = ZIP_STAT_SIZE | ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD;
    if ((st.valid & need) != need)
        return zfail(err, TROVE_E_CORRUPT, "member %s: its entry lacks the size or the method",
                     name);
    if (st.encryption_method != ZIP_EM_NONE)
        return zfail(err, TROVE_E_UNSUPPORTED, "member %s is encrypted: not supported", name);
    if (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE)
        return zfail(err, TROVE_E_UNSUPPORTED, "member %s uses compression method %u: only "
                     "stored and deflate (what Python's zipfile writes for Keras) are supported",
                     name, (unsigned)st.comp_method);
    if (st.size > limit || st.size >= SIZE_MAX)
        return zfail(err, TROVE_E_LIMIT, "member %s: %llu bytes uncompressed, more than the "
                     "limit of %llu", name, (unsigned long long)st.size,
                     (unsigned long long)limit);
    size_t size = (size_t)st.size;
    uint8_t *p = trove__malloc(alloc, size + 1);
    if (!p)
        return zfail(err, TROVE_E_NOMEM, "out of memory (member %s: %zu bytes)", name, size);
    zip_file_t *zf = zip_fopen_index(za, idx, 0);
    if (!zf) {
        int rc = zfail(err, TROVE_E_CORRUPT, "member %s cannot be opened (%s)", name,
                       zip_strerror(za));
        trove__free(alloc, p);
        return rc;
    }
    size_t got = 0;
    int rc = TROVE_OK;
    for (;;) {
        /* one byte more than declared: a member that inflates past its size is caught */
        zip_int64_t r = zip_fread(zf, p + got, (zip_uint64_t)(size + 1 - got));
        if (r < 0) {
            rc = zfail(err, TROVE_E_CORRUPT, "member %s: %s", name,
                       zip_error_strerror(zip_file_get_error(zf)));
            break;
        }
        if (r == 0)
            break;
        got += (size_t)r;
        if (got > size) {
            rc = zfail(err, TROVE_E_CORRUPT, "member %s holds more than its declared %zu bytes",
                       name, size);
            break;
        }
    }
    if (!rc && got != size)
        rc = zfail(err, TROVE_E_CORRUPT, "member %s: %zu of its declared %zu bytes (truncated)",
                   name, got, size);
    int crc = zip_fclose(zf);
    if (!rc && crc != 0) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, crc);
        rc = zfail(err, TROVE_E_CORRUPT, "member %s: %s", name, zip_error_strerror(&ze));
        zip_error_fini(&ze);
    }
    if (rc) {
        trove__free(alloc, p);
        return rc;
    }
    p[size] = 0;
    *out = p;
    *out_len = size;
    return TROVE_OK;
}

void trove__kzip_free(const trove_allocator *alloc, trove__kzip *z)
{
    trove__free(alloc, z->config);
    trove__free(alloc, z->metadata);
    trove__free(alloc, z->weights);
    memset(z, 0, sizeof *z);
}

int trove__kzip_read(const trove_allocator *alloc, const uint8_t *buf, size_t len,
                     uint64_t max_bytes, trove__kzip *z, trove_error *err)
{
    memset(z, 0, sizeof *z);
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *zs = zip_source_buffer_create(buf, len, 0, &ze);
    if (!zs) {
        zip_error_fini(&ze);
        return zfail(err, TROVE_E_NOMEM, "out of memory");
    }
    zip_t *za = zip_open_from_source(zs, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!za) {
        int code = zip_error_code_zip(&ze);
        int rc = code == ZIP_ER_EXISTS
                     ? zfail(err, TROVE_E_CORRUPT, "two members have the same name (libzip: %s)",
                             zip_error_strerror(&ze))
                     : zfail(err, code == ZIP_ER_MEMORY ? TROVE_E_NOMEM : TROVE_E_CORRUPT,
                             "not a readable zip archive (libzip: %s)", zip_error_strerror(&ze));
        zip_source_free(zs);
        zip_error_fini(&ze);
        return rc;
    }
    zip_error_fini(&ze);
    int rc = TROVE_OK;
    zip_int64_t n = zip_get_num_entries(za, 0);
    zip_int64_t at[M_N] = {-1, -1, -1, -1};
    if (n < 0 || n > KZ_MAX_MEMBERS) {
        rc = zfail(err, TROVE_E_LIMIT, "%lld members: more than %d", (long long)n,
                   KZ_MAX_MEMBERS);
        goto done;
    }
    for (zip_int64_t i = 0; i < n; i++) {
        const char *nm = zip_get_name(za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        if (!nm) {
            rc = zfail(err, TROVE_E_CORRUPT, "member %lld has no readable name", (long long)i);
            goto done;
        }
        for (int m = 0; m < M_N; m++)
            if (!strcmp(nm, MEMBERS[m])) {
                if (at[m] >= 0) {
                    rc = zfail(err, TROVE_E_CORRUPT, "member %s appears twice", MEMBERS[m]);
                    goto done;
                }
                at[m] = i;
            }
    }
    if (at[M_CONFIG] < 0) {
        rc = zfail(err, TROVE_E_UNSUPPORTED, "no config.json member: not a Keras model archive "
                   "(%lld members)", (long long)n);
        goto done;
    }
    if (at[M_H5] < 0 && at[M_NPZ] >= 0) {
        rc = zfail(err, TROVE_E_UNSUPPORTED, "the weights are stored as model.weights.npz "
                   "(weights_format=\"npz\"): NumPy object arrays of dicts, loaded with pickle: "
                   "not supported (save with the default weights_format=\"h5\")");
        goto done;
    }
    if (at[M_H5] < 0) {
        rc = zfail(err, TROVE_E_MODEL, "no model.weights.h5 member: the archive holds no "
                   "weights");
        goto done;
    }
    if ((rc = read_member(alloc, za, (zip_uint64_t)at[M_CONFIG], "config.json", KH5_MAX_CONFIG,
                          &z->config, &z->config_len, err)))
        goto done;
    if (at[M_META] >= 0 &&
        (rc = read_member(alloc, za, (zip_uint64_t)at[M_META], "metadata.json", KZ_MAX_METADATA,
                          &z->metadata, &z->metadata_len, err)))
        goto done;
    rc = read_member(alloc, za, (zip_uint64_t)at[M_H5], "model.weights.h5", max_bytes,
                     &z->weights, &z->weights_len, err);
done:
    zip_discard(za); /* also frees the source */
    return rc;
}

int trove__kzip_version(pk_arena *a, const trove__kzip *z, const char **version,
                        trove_error *err)
{
    *version = NULL;
    if (!z->metadata)
        return TROVE_OK;
    json_error_t je;
    json_t *m = json_loadb((const char *)z->metadata, z->metadata_len, JSON_REJECT_DUPLICATES,
                           &je);
    if (!m || !json_is_object(m)) {
        json_decref(m);
        return zfail(err, TROVE_E_CORRUPT, "metadata.json is not a JSON object%s%.80s",
                     m ? "" : ": ", m ? "" : je.text);
    }
    const char *v = json_string_value(json_object_get(m, "keras_version"));
    int rc = TROVE_OK;
    if (v && strlen(v) < 64 && trove__utf8_valid(v, strlen(v))) {
        char *c = pk_alloc(a, strlen(v) + 1);
        if (!c)
            rc = zfail(err, TROVE_E_NOMEM, "out of memory");
        else
            *version = memcpy(c, v, strlen(v) + 1);
    }
    json_decref(m);
    return rc;
}

int trove__keras_zip_map(pk_arena *a, const trove_allocator *alloc, const uint8_t *buf,
                         size_t len, uint64_t max_bytes, const trove__source_info *src,
                         trove__model_out **models, size_t *n_models, trove_error *err)
{
    *models = NULL;
    *n_models = 0;
    trove__kzip z;
    const char *version = NULL;
    uint8_t *s = NULL;
    size_t n = 0;
    int rc = trove__kzip_read(alloc, buf, len, max_bytes, &z, err);
    if (!rc)
        rc = trove__kzip_version(a, &z, &version, err);
    if (!rc && !trove__h5_probe(z.weights, z.weights_len))
        rc = zfail(err, TROVE_E_CORRUPT, "member model.weights.h5 is not an HDF5 file (%zu "
                   "bytes, no HDF5 signature)", z.weights_len);
    if (!rc)
        rc = trove__kh5_extract(alloc, z.weights, z.weights_len, max_bytes, &s, &n, err);
    if (!rc)
        rc = trove__kh5_map_keras3(a, alloc, (const char *)z.config, z.config_len, version, s,
                                   n, src, models, n_models, err);
    trove__free(alloc, s);
    trove__kzip_free(alloc, &z);
    return rc;
}
