/* convert_torture.h: the OOM torture of a whole trove_convert, shared by test_tensors.c and
 * test_torch.c (a header, not testlib.c: testlib is also linked where the codecs are not, e.g.
 * the big-endian build of tests/bigendian/run.sh). */
#ifndef TROVE_CONVERT_TORTURE_H
#define TROVE_CONVERT_TORTURE_H

#include <stdio.h>

#include "testlib.h"

/* CHECK returns from a void test; this one returns 0 instead. */
#define TORTURE_CHECK(cond)                                                                    \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            test_fail(__FILE__, __LINE__, #cond);                                              \
            return 0;                                                                          \
        }                                                                                      \
    } while (0)

/* trove_convert(in, out) with allocation n failing, n = 1, 2, ... up to max_runs, until a run
 * succeeds: every run ends in TROVE_OK or TROVE_E_NOMEM, leaks nothing, and leaves out in place
 * exactly when it succeeded. Returns 1 when a run succeeded (the caller CHECKs it). */
static int test_convert_oom_torture(const char *in, const char *out, long max_runs)
{
    int ok_seen = 0;
    for (long n = 1; n < max_runs && !ok_seen; n++) {
        test_alloc ta;
        test_alloc_init(&ta, n);
        trove_convert_options o = TROVE_CONVERT_OPTIONS_INIT;
        o.alloc = &ta.a;
        remove(out);
        trove_error err;
        int rc = trove_convert(in, out, &o, NULL, &err);
        TORTURE_CHECK(rc == TROVE_OK || rc == TROVE_E_NOMEM);
        ok_seen = rc == TROVE_OK;
        TORTURE_CHECK(ta.live == 0);
        FILE *fp = fopen(out, "rb");
        TORTURE_CHECK(ok_seen == (fp != NULL));
        if (fp)
            fclose(fp);
    }
    return ok_seen;
}

#undef TORTURE_CHECK

#endif
