/* keras_h5_child.c: the HDF5 side of the Keras importer: a forked, resource-limited child opens
 * the file image with libhdf5 and streams back only what the mapping needs (the model_config,
 * keras_version and backend attributes, and the float arrays named by layer_names/weight_names),
 * so that a libhdf5 crash, hang or runaway allocation on a hostile file becomes a clean error. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hdf5.h>

#include "codecs/keras_h5.h"

/* ---- the child ------------------------------------------------------------------------------
 * Runs after fork() in a process of its own: it uses libc malloc (its memory dies with it; the
 * caller's allocator hooks must not see the child's allocations) and ends with _exit. */

typedef struct child {
    int fd;
    uint8_t buf[1 << 16];
    size_t n;
    int dead;            /* the pipe broke: stop writing */
    uint64_t budget;     /* array bytes still allowed */
    char why[256];
} child;

static void cflush(child *c)
{
    size_t off = 0;
    while (!c->dead && off < c->n) {
        ssize_t w = write(c->fd, c->buf + off, c->n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            c->dead = 1;
            break;
        }
        off += (size_t)w;
    }
    c->n = 0;
}

static void cput(child *c, const void *p, size_t n)
{
    const uint8_t *s = p;
    while (n && !c->dead) {
        if (c->n == sizeof c->buf)
            cflush(c);
        size_t k = sizeof c->buf - c->n;
        if (k > n)
            k = n;
        memcpy(c->buf + c->n, s, k);
        c->n += k;
        s += k;
        n -= k;
    }
}

static void cput_u(child *c, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    cput(c, b, (size_t)bytes);
}

static void cput_str16(child *c, const char *s)
{
    size_t n = strlen(s);
    if (n > KH5_MAX_NAME)
        n = KH5_MAX_NAME;
    cput_u(c, n, 2);
    cput(c, s, n);
}

TROVE_PRINTF(2, 3)
static int cfail(child *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
    return -1;
}

/* Every link on `path` below loc must be a hard link: soft links could loop, external links
 * would make libhdf5 open another file. */
static int hard_path(child *c, hid_t loc, const char *path)
{
    char tmp[KH5_MAX_NAME + 1];
    size_t n = strlen(path);
    if (n == 0 || n > KH5_MAX_NAME)
        return cfail(c, "object name of %zu bytes", n);
    memcpy(tmp, path, n + 1);
    for (size_t i = 0; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != 0)
            continue;
        if (i == 0)
            return cfail(c, "absolute object name '%s'", path);
        char keep = tmp[i];
        tmp[i] = 0;
        htri_t ex = H5Lexists(loc, tmp, H5P_DEFAULT);
        H5L_info_t li;
        if (ex <= 0) {
            tmp[i] = keep;
            return cfail(c, "no object '%s' (missing weights?)", path);
        }
        if (H5Lget_info(loc, tmp, &li, H5P_DEFAULT) < 0 || li.type != H5L_TYPE_HARD)
            return cfail(c, "'%s' is a soft or external link: refused", tmp);
        tmp[i] = keep;
    }
    return 0;
}

/* The strings of attribute `name` (scalar or 1-D, fixed or variable length). 1: *out holds *n
 * malloc'ed strings; 0: no such attribute; -1: error (c->why). An empty non-string attribute
 * (how Keras 2 writes an empty weight_names) is an empty list. */
static int read_strings(child *c, hid_t loc, const char *name, char ***out, size_t *n,
                        size_t max_n, size_t max_bytes)
{
    *out = NULL;
    *n = 0;
    htri_t ex = H5Aexists(loc, name);
    if (ex == 0)
        return 0;
    if (ex < 0)
        return cfail(c, "cannot look up attribute %s", name);
    int rc = -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), sp = -1, t = -1, mt = -1;
    char **vl = NULL, *fixed = NULL, **res = NULL;
    size_t cnt = 0;
    if (a < 0 || (sp = H5Aget_space(a)) < 0 || (t = H5Aget_type(a)) < 0) {
        cfail(c, "cannot open attribute %s", name);
        goto done;
    }
    int rank = H5Sget_simple_extent_ndims(sp);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    if (rank < 0 || rank > 1 || np < 0 || (uint64_t)np > max_n) {
        cfail(c, "attribute %s: rank %d with %lld values (at most 1-D, %zu values)", name, rank,
              (long long)np, max_n);
        goto done;
    }
    cnt = (size_t)np;
    res = calloc(cnt ? cnt : 1, sizeof *res);
    if (!res) {
        cfail(c, "out of memory");
        goto done;
    }
    if (cnt == 0) {
        rc = 1;
        goto done;
    }
    if (H5Tget_class(t) != H5T_STRING) {
        cfail(c, "attribute %s is not text (HDF5 type class %d)", name, (int)H5Tget_class(t));
        goto done;
    }
    size_t total = 0;
    if (H5Tis_variable_str(t) > 0) {
        mt = H5Tcopy(H5T_C_S1);
        if (mt < 0 || H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Tset_cset(mt, H5Tget_cset(t)) < 0 ||
            !(vl = calloc(cnt, sizeof *vl)) || H5Aread(a, mt, vl) < 0) {
            cfail(c, "cannot read attribute %s", name);
            goto done;
        }
        for (size_t i = 0; i < cnt; i++) {
            size_t len = vl[i] ? strnlen(vl[i], max_bytes + 1) : 0;
            total += len;
            if (total > max_bytes) {
                cfail(c, "attribute %s is longer than %zu bytes", name, max_bytes);
                goto done;
            }
            if (!(res[i] = malloc(len + 1))) {
                cfail(c, "out of memory");
                goto done;
            }
            if (len)
                memcpy(res[i], vl[i], len);
            res[i][len] = 0;
        }
    } else {
        size_t sz = H5Tget_size(t);
        if (sz == 0 || sz > max_bytes || cnt > max_bytes / sz) {
            cfail(c, "attribute %s: %zu strings of %zu bytes: too large", name, cnt, sz);
            goto done;
        }
        mt = H5Tcopy(H5T_C_S1);
        if (mt < 0 || H5Tset_size(mt, sz) < 0 || H5Tset_strpad(mt, H5T_STR_NULLPAD) < 0 ||
            H5Tset_cset(mt, H5Tget_cset(t)) < 0 || !(fixed = malloc(cnt * sz)) ||
            H5Aread(a, mt, fixed) < 0) {
            cfail(c, "cannot read attribute %s", name);
            goto done;
        }
        for (size_t i = 0; i < cnt; i++) {
            size_t len = strnlen(fixed + i * sz, sz);
            if (!(res[i] = malloc(len + 1))) {
                cfail(c, "out of memory");
                goto done;
            }
            memcpy(res[i], fixed + i * sz, len);
            res[i][len] = 0;
        }
    }
    rc = 1;
done:
    if (vl) {
        if (rc == 1 || mt >= 0)
            (void)H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, vl);
        free(vl);
    }
    free(fixed);
    if (mt >= 0)
        H5Tclose(mt);
    if (t >= 0)
        H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    if (a >= 0)
        H5Aclose(a);
    if (rc == 1) {
        *out = res;
        *n = cnt;
    } else if (res) {
        for (size_t i = 0; i < cnt; i++)
            free(res[i]);
        free(res);
    }
    return rc;
}

static void free_strings(char **s, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        free(s[i]);
    free(s);
}

/* Keras splits a list attribute larger than 64 KiB into name0, name1, ... (its
 * save_attributes_to_hdf5_group); read either form. Same results as read_strings. */
static int read_list(child *c, hid_t loc, const char *name, char ***out, size_t *n, size_t max_n)
{
    int rc = read_strings(c, loc, name, out, n, max_n, KH5_MAX_CONFIG);
    if (rc != 0)
        return rc;
    char **all = NULL;
    size_t total = 0;
    for (unsigned chunk = 0; chunk < 1024; chunk++) {
        char cname[80], **part;
        size_t np;
        snprintf(cname, sizeof cname, "%.60s%u", name, chunk);
        rc = read_strings(c, loc, cname, &part, &np, max_n, KH5_MAX_CONFIG);
        if (rc < 0) {
            free_strings(all, total);
            return -1;
        }
        if (rc == 0)
            break;
        if (total + np > max_n) {
            free_strings(part, np);
            free_strings(all, total);
            return cfail(c, "attribute %s: more than %zu entries", name, max_n);
        }
        char **na = realloc(all, (total + np + 1) * sizeof *na);
        if (!na) {
            free_strings(part, np);
            free_strings(all, total);
            return cfail(c, "out of memory");
        }
        all = na;
        memcpy(all + total, part, np * sizeof *part);
        total += np;
        free(part);
    }
    if (!all)
        return 0;
    *out = all;
    *n = total;
    return 1;
}

/* One text attribute -> an 'A' record named `as`. */
static int send_attr(child *c, hid_t loc, const char *name, const char *as)
{
    char **s;
    size_t n;
    int rc = read_strings(c, loc, name, &s, &n, 1, KH5_MAX_CONFIG);
    if (rc <= 0)
        return rc;
    if (n == 1) {
        size_t len = strlen(s[0]);
        cput(c, "A", 1);
        cput_str16(c, as);
        cput_u(c, len, 4);
        cput(c, s[0], len);
    }
    free_strings(s, n);
    return 0;
}

/* One dataset -> a 'W' record: float data read as native float32 (float16/32 on disk) or
 * float64; other types are described, not read. */
static int send_dataset(child *c, hid_t g, const char *path)
{
    if (hard_path(c, g, path))
        return -1;
    int rc = -1;
    hid_t d = H5Dopen2(g, path, H5P_DEFAULT), dcpl = -1, t = -1, sp = -1;
    void *data = NULL;
    if (d < 0 || (dcpl = H5Dget_create_plist(d)) < 0 || (t = H5Dget_type(d)) < 0 ||
        (sp = H5Dget_space(d)) < 0) {
        cfail(c, "cannot open dataset '%s'", path);
        goto done;
    }
    if (H5Pget_layout(dcpl) == H5D_VIRTUAL || H5Pget_external_count(dcpl) != 0) {
        cfail(c, "dataset '%s' keeps its data in other files (virtual or external storage): "
                 "refused", path);
        goto done;
    }
    H5S_class_t sc = H5Sget_simple_extent_type(sp);
    if (sc != H5S_SIMPLE && sc != H5S_SCALAR) {
        cfail(c, "dataset '%s' has an empty (null) dataspace", path);
        goto done;
    }
    int rank = H5Sget_simple_extent_ndims(sp);
    hsize_t dims[KH5_MAX_RANK];
    if (rank < 0 || rank > KH5_MAX_RANK) {
        cfail(c, "dataset '%s' has rank %d (at most %d)", path, rank, KH5_MAX_RANK);
        goto done;
    }
    if (rank > 0 && H5Sget_simple_extent_dims(sp, dims, NULL) != rank) {
        cfail(c, "dataset '%s': cannot read its shape", path);
        goto done;
    }
    uint64_t count = 1;
    for (int i = 0; i < rank; i++)
        if (dims[i] > KH5_MAX_DIM || !trove__mul_ok(count, dims[i], &count)) {
            cfail(c, "dataset '%s': dimension %d of %llu is too large", path, i,
                  (unsigned long long)dims[i]);
            goto done;
        }
    H5T_class_t cls = H5Tget_class(t);
    size_t sz = H5Tget_size(t);
    int code = KH5_DT_OTHER;
    if (cls == H5T_FLOAT && (sz == 2 || sz == 4))
        code = sz == 2 ? KH5_DT_F16 : KH5_DT_F32;
    else if (cls == H5T_FLOAT && sz == 8)
        code = KH5_DT_F64;
    size_t isz = code == KH5_DT_F64 ? 8 : 4;
    if (code != KH5_DT_OTHER) {
        if (count > c->budget / isz) {
            cfail(c, "dataset '%s': %llu values exceed the importer's memory budget", path,
                  (unsigned long long)count);
            goto done;
        }
        c->budget -= count * isz;
        if (count) {
            data = malloc((size_t)count * isz);
            if (!data) {
                cfail(c, "out of memory reading dataset '%s'", path);
                goto done;
            }
            if (H5Dread(d, isz == 8 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL,
                        H5P_DEFAULT, data) < 0) {
                cfail(c, "cannot read dataset '%s' (corrupt data or unknown filter)", path);
                goto done;
            }
        }
    }
    /* everything is read before the record starts: an error never leaves half a record */
    cput(c, "W", 1);
    cput_str16(c, path);
    cput_u(c, (uint64_t)code, 1);
    cput_u(c, (uint64_t)cls, 1);
    cput_u(c, sz > 255 ? 255 : sz, 1);
    cput_u(c, (uint64_t)rank, 1);
    for (int i = 0; i < rank; i++)
        cput_u(c, dims[i], 8);
    if (data)
        cput(c, data, (size_t)count * isz); /* host order: the parent is the same host */
    rc = 0;
done:
    free(data);
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (d >= 0)
        H5Dclose(d);
    return rc;
}

static int child_layers(child *c, hid_t mw)
{
    char **names = NULL;
    size_t nl = 0;
    int rc = read_list(c, mw, "layer_names", &names, &nl, KH5_MAX_LAYERS);
    if (rc == 0)
        return cfail(c, "no layer_names attribute on the weights group");
    if (rc < 0)
        return -1;
    rc = 0;
    for (size_t i = 0; i < nl && !rc && !c->dead; i++) {
        char **wn = NULL;
        size_t nw = 0;
        hid_t g = -1;
        if (hard_path(c, mw, names[i]) || (g = H5Gopen2(mw, names[i], H5P_DEFAULT)) < 0) {
            if (!c->why[0])
                cfail(c, "layer_names lists '%s' but there is no such group", names[i]);
            rc = -1;
            break;
        }
        int r = read_list(c, g, "weight_names", &wn, &nw, KH5_MAX_WEIGHTS);
        if (r == 0)
            r = cfail(c, "layer group '%s' has no weight_names attribute", names[i]);
        if (r > 0) {
            cput(c, "L", 1);
            cput_str16(c, names[i]);
            cput_u(c, nw, 4);
            for (size_t j = 0; j < nw && !rc; j++)
                if (send_dataset(c, g, wn[j]))
                    rc = -1;
        } else {
            rc = -1;
        }
        free_strings(wn, nw);
        H5Gclose(g);
    }
    free_strings(names, nl);
    return rc;
}

/* ---- Keras 3 H5IOStore (model.weights.h5 of a .keras archive, model.save_weights) -----------
 * Keras's saving_lib gives every saveable a path P and stores its own variables as datasets
 * P/vars/0, P/vars/1, ... (empty P: the model itself, "vars" at the root); the layers of a
 * model live under P/layers/<snake_case class name>[_<n>]. Keras 2.13-2.15 wrote the layer
 * containers as "_layer_checkpoint_dependencies" (Keras 3 reads either). Every non-empty vars
 * group below the layer container becomes an 'L' record named by its P (containers spelled
 * "layers"), its datasets 'W' records named by their full path, in index order. */
#define K3_OLD_ROOT "_layer_checkpoint_dependencies"
#define K3_MAX_GROUPS (4 * KH5_MAX_LAYERS)

/* Open group `path` (hard links only): its number of links, *g_out its handle; -1: error. */
static long k3_group(child *c, hid_t f, const char *path, const char *shown, hid_t *g_out)
{
    *g_out = -1;
    if (hard_path(c, f, path))
        return -1;
    hid_t o = H5Oopen(f, path, H5P_DEFAULT);
    if (o < 0)
        return cfail(c, "cannot open '%s'", shown);
    H5G_info_t gi;
    if (H5Iget_type(o) != H5I_GROUP) {
        H5Oclose(o);
        return cfail(c, "'%s' is not a group", shown);
    }
    if (H5Gget_info(o, &gi) < 0) {
        H5Oclose(o);
        return cfail(c, "cannot list group '%s'", shown);
    }
    if (gi.nlinks > K3_MAX_GROUPS) {
        H5Oclose(o);
        return cfail(c, "group '%s' has %llu members (at most %d)", shown,
                     (unsigned long long)gi.nlinks, K3_MAX_GROUPS);
    }
    *g_out = o;
    return (long)gi.nlinks;
}

static int k3_walk(child *c, hid_t f, const char *path, const char *shown, int depth,
                   unsigned *groups)
{
    if (depth > 2 * KH5_MAX_DEPTH + 8)
        return cfail(c, "'%s': groups nested deeper than %d", shown, 2 * KH5_MAX_DEPTH + 8);
    hid_t g;
    long n = k3_group(c, f, path, shown, &g);
    if (n < 0)
        return -1;
    int rc = 0;
    for (long i = 0; i < n && !rc && !c->dead; i++) {
        char name[256], full[KH5_MAX_NAME + 1], show[KH5_MAX_NAME + 1];
        ssize_t nl = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, (hsize_t)i, name,
                                        sizeof name, H5P_DEFAULT);
        if (nl <= 0 || (size_t)nl >= sizeof name || strchr(name, '/')) {
            rc = cfail(c, "group '%s': a member name is empty, has a '/' or is longer than "
                          "%zu bytes", shown, sizeof name - 1);
            break;
        }
        if (++*groups > K3_MAX_GROUPS) {
            rc = cfail(c, "more than %d groups below '%s'", K3_MAX_GROUPS, shown);
            break;
        }
        int a = snprintf(full, sizeof full, "%s/%s", path, name);
        int b = snprintf(show, sizeof show, "%s/%s", shown,
                         strcmp(name, K3_OLD_ROOT) ? name : "layers");
        if (a < 0 || b < 0 || (size_t)a >= KH5_MAX_NAME - 24 ||
            (size_t)b >= KH5_MAX_NAME - 24) {
            rc = cfail(c, "group path '%.80s...' is too long", shown);
            break;
        }
        if (!strcmp(name, "vars")) {
            hid_t vg;
            long nv = k3_group(c, f, full, show, &vg);
            if (nv < 0) {
                rc = -1;
                break;
            }
            H5Oclose(vg);
            if (nv > KH5_MAX_WEIGHTS) {
                rc = cfail(c, "'%s' holds %ld variables (at most %d)", show, nv,
                           KH5_MAX_WEIGHTS);
                break;
            }
            if (nv == 0)
                continue;
            cput(c, "L", 1);
            cput_str16(c, shown);
            cput_u(c, (uint64_t)nv, 4);
            for (long j = 0; j < nv && !rc; j++) {
                char dp[KH5_MAX_NAME + 32];
                int dl = snprintf(dp, sizeof dp, "%s/%ld", full, j);
                if (dl < 0 || (size_t)dl >= sizeof dp || send_dataset(c, f, dp))
                    rc = -1;
            }
            continue;
        }
        if (hard_path(c, f, full)) {
            rc = -1;
            break;
        }
        hid_t o = H5Oopen(f, full, H5P_DEFAULT);
        if (o < 0) {
            rc = cfail(c, "cannot open '%s'", show);
            break;
        }
        H5I_type_t t = H5Iget_type(o);
        H5Oclose(o);
        if (t == H5I_GROUP) /* a layer, a nested model's container, a sub-saveable */
            rc = k3_walk(c, f, full, show, depth + 1, groups);
        /* datasets outside a vars group are not Keras's: ignored */
    }
    H5Oclose(g);
    return rc;
}

static int child_keras3(child *c, hid_t f)
{
    cput(c, "A", 1);
    cput_str16(c, "keras3_weights");
    cput_u(c, 1, 4);
    cput(c, "1", 1);
    if (H5Lexists(f, "vars", H5P_DEFAULT) > 0) { /* the model object's own variables */
        hid_t vg;
        long nv = k3_group(c, f, "vars", "vars", &vg);
        if (nv < 0)
            return -1;
        H5Oclose(vg);
        if (nv > 0) {
            char num[24];
            int nl = snprintf(num, sizeof num, "%ld", nv);
            cput(c, "A", 1);
            cput_str16(c, "top_level_weights");
            cput_u(c, (uint64_t)nl, 4);
            cput(c, num, (size_t)nl);
        }
    }
    unsigned groups = 0;
    bool k3 = H5Lexists(f, "layers", H5P_DEFAULT) > 0;
    return k3_walk(c, f, k3 ? "layers" : K3_OLD_ROOT, "layers", 0, &groups);
}

static int child_main(child *c, const uint8_t *buf, size_t len)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    H5PLset_loading_state(0); /* no filter plugins: nothing is loaded from the environment */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 ||
        H5Pset_file_image(fapl, (void *)buf, len) < 0)
        return cfail(c, "libhdf5 cannot set up an in-memory file");
    hid_t f = H5Fopen("trove-keras-input", H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (f < 0)
        return cfail(c, "libhdf5 cannot open it (malformed or truncated HDF5)");
    int rc = 0;
    if (send_attr(c, f, "model_config", "model_config") ||
        send_attr(c, f, "keras_version", "keras_version") ||
        send_attr(c, f, "backend", "backend"))
        rc = -1;
    hid_t mw = f;
    if (!rc && H5Lexists(f, "model_weights", H5P_DEFAULT) > 0) {
        if (hard_path(c, f, "model_weights") ||
            (mw = H5Gopen2(f, "model_weights", H5P_DEFAULT)) < 0) {
            mw = f;
            rc = c->why[0] ? -1 : cfail(c, "model_weights is not a group");
        } else {
            cput(c, "A", 1);
            cput_str16(c, "model_weights");
            cput_u(c, 1, 4);
            cput(c, "1", 1);
            if (send_attr(c, mw, "keras_version", "weights_keras_version") ||
                send_attr(c, mw, "backend", "weights_backend"))
                rc = -1;
        }
    }
    if (!rc && mw != f && H5Lexists(mw, "top_level_model_weights", H5P_DEFAULT) > 0) {
        /* weights of the model object itself (Keras >= 2.7 writes the group, empty for
         * Sequential and Functional models) */
        hid_t tg = -1;
        char **wn = NULL;
        size_t nw = 0;
        if (hard_path(c, mw, "top_level_model_weights") ||
            (tg = H5Gopen2(mw, "top_level_model_weights", H5P_DEFAULT)) < 0 ||
            read_list(c, tg, "weight_names", &wn, &nw, KH5_MAX_WEIGHTS) < 0)
            rc = c->why[0] ? -1 : cfail(c, "top_level_model_weights is not a group");
        else if (nw) {
            char num[24];
            int nl = snprintf(num, sizeof num, "%zu", nw);
            cput(c, "A", 1);
            cput_str16(c, "top_level_weights");
            cput_u(c, (uint64_t)nl, 4);
            cput(c, num, (size_t)nl);
        }
        free_strings(wn, nw);
        if (tg >= 0)
            H5Gclose(tg);
    }
    if (!rc && H5Aexists(f, "model_config") > 0)
        rc = child_layers(c, mw);
    else if (!rc && (H5Lexists(f, "layers", H5P_DEFAULT) > 0 ||
                     H5Lexists(f, K3_OLD_ROOT, H5P_DEFAULT) > 0)) /* Keras 3 layout */
        rc = child_keras3(c, f);
    else if (!rc && H5Aexists(mw, "layer_names") > 0) {
        cput(c, "A", 1);
        cput_str16(c, "layer_names");
        cput_u(c, 1, 4);
        cput(c, "1", 1);
    }
    if (mw != f)
        H5Gclose(mw);
    H5Fclose(f);
    return rc;
}

/* ---- the parent -------------------------------------------------------------------------- */

#if !defined(__SANITIZE_ADDRESS__)
static uint64_t vm_bytes(void)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    unsigned long long pages = 0;
    if (!fp)
        return 0;
    if (fscanf(fp, "%llu", &pages) != 1)
        pages = 0;
    fclose(fp);
    return (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
}
#endif

/* soft limit v, hard limit v + slack (RLIMIT_CPU: SIGXCPU at v, SIGKILL a second later) */
static void limit(int res, uint64_t v, uint64_t slack)
{
    struct rlimit r;
    if (getrlimit(res, &r) == 0 && (r.rlim_max == RLIM_INFINITY || v + slack <= r.rlim_max)) {
        r.rlim_cur = (rlim_t)v;
        r.rlim_max = (rlim_t)(v + slack);
        (void)setrlimit(res, &r);
    }
}

static void child_enter(int wfd, const uint8_t *buf, size_t len, uint64_t budget)
{
    static child c; /* static: 64 KiB buffer off the stack */
    memset(&c, 0, sizeof c);
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    (void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    /* the caller's signal mask and handlers are inherited: a blocked SIGALRM or a SIGSEGV
     * handler (a runtime's crash reporter) must not keep the reader alive */
    static const int sigs[] = {SIGPIPE, SIGALRM, SIGXCPU, SIGSEGV, SIGBUS, SIGFPE, SIGILL,
                               SIGABRT, SIGTERM};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* address space: what the process maps now + room for the image, the arrays and libhdf5.
     * Not under AddressSanitizer, whose shadow memory needs terabytes of address space. */
#if !defined(__SANITIZE_ADDRESS__)
    uint64_t vm = vm_bytes();
    if (vm)
        limit(RLIMIT_AS, vm + 2 * (uint64_t)len + budget + (UINT64_C(256) << 20), 0);
#endif
    limit(RLIMIT_CPU, KH5_CPU_SECONDS, 1);
    limit(RLIMIT_CORE, 0, 0);
    limit(RLIMIT_FSIZE, 0, 0);
    alarm(KH5_WALL_SECONDS);
    /* descriptors: 0-2 stay (opened on /dev/null when closed), the pipe becomes 3, everything
     * else is closed and no new descriptor can be opened: libhdf5 cannot reach any file. */
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0) {
            int nfd = open("/dev/null", O_RDWR);
            if (nfd >= 0 && nfd != fd) {
                dup2(nfd, fd);
                close(nfd);
            }
        }
    if (wfd != 3) {
        if (dup2(wfd, 3) < 0)
            _exit(3);
        wfd = 3;
    }
    if (close_range(4, ~0U, 0) != 0)
        for (int fd = 4; fd < 1024; fd++)
            close(fd);
    limit(RLIMIT_NOFILE, 4, 0);
    c.fd = wfd;
    c.budget = budget;
    /* test hook: prove that a crash of the reader is contained (tests/unit/test_keras.c) */
    const char *fault = getenv("TROVE_KERAS_TEST_FAULT");
    if (fault && !strcmp(fault, "segv"))
        raise(SIGSEGV);
    if (fault && !strcmp(fault, "partial")) {
        cput(&c, KH5_MAGIC "A\x0c\x00model_config", 19);
        cflush(&c);
        _exit(0);
    }
    cput(&c, KH5_MAGIC, 4);
    if (child_main(&c, buf, len)) {
        if (!c.why[0])
            snprintf(c.why, sizeof c.why, "the HDF5 reader failed");
        for (char *p = c.why; *p; p++) /* names from the file: printable ASCII only */
            if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
                *p = '?';
        cput(&c, "E", 1);
        size_t n = strlen(c.why);
        cput_u(&c, n, 4);
        cput(&c, c.why, n);
    } else {
        cput(&c, "Z", 1);
    }
    cflush(&c);
    _exit(c.dead ? 4 : 0);
}

static const char *signame(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGABRT: return "SIGABRT";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGKILL: return "SIGKILL";
    case SIGXCPU: return "SIGXCPU";
    case SIGALRM: return "SIGALRM";
    default: return "signal";
    }
}

int trove__kh5_extract(const trove_allocator *alloc, const uint8_t *buf, size_t len,
                       uint64_t budget, uint8_t **out, size_t *out_len, trove_error *err)
{
    *out = NULL;
    *out_len = 0;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return trove__fail_errno(err, TROVE_E_IO, errno, "HDF5 import: cannot create a pipe");
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return trove__fail_errno(err, TROVE_E_IO, e, "HDF5 import: cannot fork the reader");
    }
    if (pid == 0) {
        close(fds[0]);
        child_enter(fds[1], buf, len, budget);
    }
    close(fds[1]);
    uint64_t cap_total = budget + KH5_MAX_CONFIG + (UINT64_C(16) << 20);
    uint8_t *s = NULL;
    size_t n = 0, cap = 0;
    int rc = TROVE_OK, killed = 0;
    for (;;) {
        if (cap - n < 65536) {
            size_t ncap = cap ? cap * 2 : 1 << 17;
            if (ncap > cap_total + 65536)
                ncap = (size_t)cap_total + 65536;
            if (ncap <= cap) {
                rc = trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "HDF5 import: the "
                                 "extracted arrays exceed the importer's memory budget");
                break;
            }
            uint8_t *ns = trove__realloc(alloc, s, ncap);
            if (!ns) {
                rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
                break;
            }
            s = ns;
            cap = ncap;
        }
        ssize_t r = read(fds[0], s + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = trove__fail_errno(err, TROVE_E_IO, errno, "HDF5 import: reading from the reader");
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fds[0]);
    if (rc) {
        kill(pid, SIGKILL);
        killed = 1;
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!rc && WIFSIGNALED(st) && !killed) {
        int sig = WTERMSIG(st);
        if (sig == SIGXCPU || sig == SIGALRM || sig == SIGKILL)
            rc = trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "HDF5 import: libhdf5 was "
                             "stopped by a resource limit (%s: %d s CPU, %d s wall, bounded "
                             "memory) while reading the file", signame(sig), KH5_CPU_SECONDS,
                             KH5_WALL_SECONDS);
        else
            rc = trove__fail(err, TROVE_E_CORRUPT, TROVE_NO_OFFSET, "HDF5 import: libhdf5 "
                             "crashed (%s, signal %d) on this file: malformed HDF5 (contained in "
                             "the reader process)", signame(sig), sig);
    } else if (!rc && WIFEXITED(st) && WEXITSTATUS(st) != 0 &&
               !(n > 0 && s[n - 1] == 'Z')) {
        /* the stream may still hold the reason ('E'); the decoder reports it */
        if (n < 5 || memcmp(s, KH5_MAGIC, 4))
            rc = trove__fail(err, TROVE_E_CORRUPT, TROVE_NO_OFFSET, "HDF5 import: the reader "
                             "process failed (exit status %d) on this file", WEXITSTATUS(st));
    }
    if (rc) {
        trove__free(alloc, s);
        return rc;
    }
    *out = s;
    *out_len = n;
    return TROVE_OK;
}
