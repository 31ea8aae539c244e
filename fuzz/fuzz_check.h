/* fuzz_check.h: the invariants every fuzz target asserts (header-only, static functions). */
#ifndef TROVE_FUZZ_CHECK_H
#define TROVE_FUZZ_CHECK_H

#include <stdlib.h>
#include <string.h>

#include "trove.h"

static inline void check(int cond)
{
    if (!cond)
        abort();
}

/* A call either succeeds or fails cleanly: a known code with a message. */
static inline void clean(int rc, const trove_error *err)
{
    check(rc == TROVE_OK || (rc < 0 && err->code == rc && err->message[0] != '\0' &&
                             strcmp(trove_strerror(rc), "unknown status") != 0));
}

#endif
