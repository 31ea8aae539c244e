/* rewrite.c: copy an open file to a path with one top-level header entry replaced (how
 * signatures are embedded): tensor bytes verbatim, a new header and trailer, atomic commit. */
#include <string.h>
#include <unistd.h>

#include "format/cbor.h"
#include "format/layout.h"
#include "format/reader_internal.h"
#include "format/value.h"

/* The new header (enc) and trailer (tr) of f with `key` set to value (NULL: removed). */
static int rewritten_tail(const trove_file *f, const char *key, const trove_value *value,
                          const trove_allocator *a, uint8_t **enc, size_t *enclen,
                          uint8_t tr[TROVE__TRAILER_BYTES], trove_error *err)
{
    if (!strcmp(key, "meta") || !strcmp(key, "tensors"))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "header entry '%s' cannot be rewritten", key);
    if (f->ro_compat & ~TROVE__KNOWN_RO_COMPAT)
        return trove__fail(err, TROVE_E_VERSION, TROVE_NO_OFFSET,
                           "the file has read-only-compatible features 0x%llx unknown to this "
                           "version: it may be read, not modified",
                           (unsigned long long)(f->ro_compat & ~TROVE__KNOWN_RO_COMPAT));
    trove_value *hdr = trove_value_clone(f->header);
    trove_value *copy = value ? trove_value_clone(value) : NULL;
    if (!hdr || (value && !copy)) {
        trove_value_free(hdr);
        trove_value_free(copy);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    int rc = copy ? trove_value_map_set(hdr, key, copy) : TROVE_OK;
    if (!copy)
        (void)trove_value_map_remove(hdr, key);
    *enc = NULL;
    if (rc || trove__cbor_encode(hdr, a, enc, enclen) != TROVE_OK) {
        trove_value_free(hdr);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    uint64_t compat = f->compat & ~TROVE_COMPAT_SIGNED;
    if (trove_value_get(hdr, "signatures"))
        compat |= TROVE_COMPAT_SIGNED;
    trove_value_free(hdr);
    if (*enclen > TROVE_LIMIT_HEADER_BYTES) {
        trove__free(a, *enc);
        *enc = NULL;
        return trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "new header too large");
    }
    trove__write_trailer(tr, f->base, f->header_offset, *enclen, compat, f->ro_compat,
                         f->incompat, trove__xxh3(*enc, *enclen));
    return TROVE_OK;
}

static int write_rewritten(const trove_file *f, int fd, const uint8_t *enc, size_t enclen,
                           const uint8_t tr[TROVE__TRAILER_BYTES], trove_error *err)
{
    int rc = trove__write_all(fd, f->base, (size_t)f->header_offset, err, "tensor data");
    if (rc == TROVE_OK)
        rc = trove__write_all(fd, enc, enclen, err, "header");
    if (rc == TROVE_OK)
        rc = trove__write_all(fd, tr, TROVE__TRAILER_BYTES, err, "trailer");
    return rc;
}

int trove__file_rewrite_fd(const trove_file *f, int fd, const char *key, const trove_value *value,
                           const trove_allocator *a, trove_error *err)
{
    uint8_t *enc = NULL, tr[TROVE__TRAILER_BYTES];
    size_t enclen = 0;
    int rc = rewritten_tail(f, key, value, a, &enc, &enclen, tr, err);
    if (rc == TROVE_OK)
        rc = write_rewritten(f, fd, enc, enclen, tr, err);
    trove__free(a, enc);
    return rc;
}

TROVE_API int trove_file_rewrite(const trove_file *f, const char *path, const char *key,
                                 const trove_value *value, const trove_write_options *opts,
                                 trove_error *err)
{
    if (!f || !path || !key)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_file_rewrite: NULL");
    trove_write_options o = TROVE_WRITE_OPTIONS_INIT;
    if (opts) {
        if (opts->size < sizeof o)
            return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "bad write options size");
        o = *opts;
    }
    const trove_allocator *a = o.alloc;
    uint8_t *enc = NULL, tr[TROVE__TRAILER_BYTES];
    size_t enclen = 0;
    int rc = rewritten_tail(f, key, value, a, &enc, &enclen, tr, err);
    if (rc)
        return rc;
    int fd = -1;
    char *tmp = NULL;
    rc = trove__tmpfile_near(a, path, o.mode ? o.mode : 0644, &fd, &tmp, err);
    if (rc == TROVE_OK)
        rc = write_rewritten(f, fd, enc, enclen, tr, err);
    if (rc == TROVE_OK)
        rc = trove__commit_tmpfile(fd, tmp, path, !(o.flags & TROVE_WRITE_NO_SYNC), err);
    if (fd >= 0) {
        close(fd);
        if (rc)
            unlink(tmp);
    }
    trove__free(a, tmp);
    trove__free(a, enc);
    return rc;
}
