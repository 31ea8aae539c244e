/* fuzz_manifest.c: fuzz target for the registry's layout parser (src/registry/manifest.c), the
 * bytes of a catalog row that say which blobs rebuild a file: whatever parses must describe a
 * file consistently (framing and tensor bytes add up, every id inside the buffer); whatever is
 * refused must be refused with a message. The parser meets hostile bytes when a catalog is
 * damaged or crafted. Seeds: layouts of real pushes (fuzz/corpus/manifest). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly `size` bytes: ASan sees any read past the end. */
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    trove__manifest m;
    memset(&m, 0, sizeof m);
    trove_error err;
    memset(&err, 0, sizeof err);
    int rc = trove__manifest_parse(NULL, p, size, &m, &err);
    if (rc != TROVE_OK) {
        check(err.code == rc && err.message[0] != '\0');
        free(p);
        return 0;
    }
    check(m.chunk > 0);
    uint64_t frame = m.tail_gap, total = m.tail_gap;
    check(m.nframe == trove__nchunks(m.frame_bytes, m.chunk));
    check(m.nframe == 0 || (m.frame_ids >= p && m.frame_ids + 32 * m.nframe <= p + size));
    for (size_t i = 0; i < m.nseg; i++) {
        const trove__mseg *s = &m.segs[i];
        check(s->nchunks == trove__nchunks(s->stored, m.chunk));
        check(s->nchunks == 0 || (s->ids >= p && s->ids + 32 * s->nchunks <= p + size));
        frame += s->gap;
        total += s->gap + s->stored;
        volatile uint8_t sink = s->nchunks ? s->ids[32 * s->nchunks - 1] : 0;
        (void)sink;
    }
    check(frame == m.frame_bytes && total == m.file_bytes);
    trove__manifest_free(NULL, &m);
    free(p);
    return 0;
}
