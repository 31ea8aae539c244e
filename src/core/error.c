/* error.c: status strings and the helpers that fill a caller's trove_error. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"

TROVE_API const char *trove_strerror(int code)
{
    switch (code) {
    case TROVE_OK: return "success";
    case TROVE_E_INVALID: return "invalid argument";
    case TROVE_E_NOMEM: return "out of memory";
    case TROVE_E_IO: return "input/output error";
    case TROVE_E_NOT_TROVE: return "not a trove file";
    case TROVE_E_VERSION: return "unsupported format version or feature";
    case TROVE_E_CORRUPT: return "corrupt or malformed file";
    case TROVE_E_CHECKSUM: return "checksum mismatch";
    case TROVE_E_LIMIT: return "limit exceeded";
    case TROVE_E_NOT_FOUND: return "not found";
    case TROVE_E_TYPE: return "wrong type";
    case TROVE_E_UNSUPPORTED: return "unsupported";
    case TROVE_E_EXISTS: return "already exists";
    case TROVE_E_MODEL: return "invalid model";
    case TROVE_E_SHAPE: return "shape or dtype mismatch";
    case TROVE_E_SIGNATURE: return "signature missing or invalid";
    case TROVE_E_KEY: return "wrong or malformed key";
    case TROVE_E_DECRYPT: return "decryption failed (wrong key or tampered data)";
    case TROVE_E_STATE: return "invalid state for this operation";
    case TROVE_E_BUSY: return "resource busy";
    default: return "unknown status";
    }
}

TROVE_API const char *trove_version_string(void)
{
    return "0.1.0";
}

static int vfail(trove_error *err, int code, uint64_t offset, const char *suffix, const char *fmt,
                 va_list ap) TROVE_PRINTF(5, 0);
static int vfail(trove_error *err, int code, uint64_t offset, const char *suffix, const char *fmt,
                 va_list ap)
{
    if (!err)
        return code;
    err->code = code;
    err->offset = offset;
    int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
    if (suffix && n >= 0 && (size_t)n < sizeof err->message)
        snprintf(err->message + n, sizeof err->message - (size_t)n, ": %s", suffix);
    /* Messages quote names and keys taken from files: replace control characters (C0, DEL and
     * C1 as UTF-8) so that printing a message cannot drive the terminal (escape sequences). */
    unsigned char *m = (unsigned char *)err->message;
    for (size_t i = 0; m[i]; i++) {
        if (m[i] < 0x20 || m[i] == 0x7f)
            m[i] = '?';
        else if (m[i] == 0xc2 && m[i + 1] >= 0x80 && m[i + 1] <= 0x9f)
            m[i] = m[i + 1] = '?';
    }
    return code;
}

int trove__fail(trove_error *err, int code, uint64_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(err, code, offset, NULL, fmt, ap);
    va_end(ap);
    return code;
}

int trove__fail_errno(trove_error *err, int code, int errno_value, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(err, code, TROVE_NO_OFFSET, strerror(errno_value), fmt, ap);
    va_end(ap);
    return code;
}

void trove__byteswap(void *p, size_t nbytes, size_t esize)
{
    unsigned char *b = p;
    for (size_t i = 0; i + esize <= nbytes; i += esize)
        for (size_t j = 0; j < esize / 2; j++) {
            unsigned char t = b[i + j];
            b[i + j] = b[i + esize - 1 - j];
            b[i + esize - 1 - j] = t;
        }
}
