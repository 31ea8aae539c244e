/* alloc.c: allocator hooks: the default (libc) allocator and the helpers src/ allocates with. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/internal.h"

static void *libc_malloc(void *ctx, size_t n)
{
    (void)ctx;
    return malloc(n);
}
static void *libc_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    return realloc(p, n);
}
static void libc_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static const trove_allocator default_allocator = {libc_malloc, libc_realloc, libc_free, NULL};

const trove_allocator *trove__alloc_or_default(const trove_allocator *a)
{
    return a ? a : &default_allocator;
}

void *trove__malloc(const trove_allocator *a, size_t n)
{
    a = trove__alloc_or_default(a);
    return a->malloc(a->ctx, n ? n : 1);
}

void *trove__calloc(const trove_allocator *a, size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n))
        return NULL;
    void *p = trove__malloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

void *trove__realloc(const trove_allocator *a, void *p, size_t n)
{
    a = trove__alloc_or_default(a);
    return a->realloc(a->ctx, p, n ? n : 1);
}

void trove__free(const trove_allocator *a, void *p)
{
    if (!p)
        return;
    a = trove__alloc_or_default(a);
    a->free(a->ctx, p);
}

char *trove__strndup(const trove_allocator *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = trove__malloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Over-allocate and keep the original pointer just below the aligned block. */
void *trove__malloc_aligned(const trove_allocator *a, size_t n, size_t align)
{
    size_t total;
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return NULL;
    if (__builtin_add_overflow(n, align + sizeof(void *), &total))
        return NULL;
    unsigned char *raw = trove__malloc(a, total);
    if (!raw)
        return NULL;
    uintptr_t base = (uintptr_t)(raw + sizeof(void *));
    uintptr_t aligned = (base + align - 1) & ~(uintptr_t)(align - 1);
    memcpy((void *)(aligned - sizeof(void *)), &raw, sizeof raw);
    return (void *)aligned;
}

void *trove__malloc_io(const trove_allocator *a, size_t n)
{
    const size_t huge = (size_t)2 << 20;
    if (n < huge)
        return trove__malloc_aligned(a, n, 4096);
    void *p = trove__malloc_aligned(a, n, huge);
#ifdef MADV_HUGEPAGE
    if (p)
        (void)madvise(p, n & ~(size_t)4095, MADV_HUGEPAGE); /* a hint only */
#endif
    return p;
}

void trove__free_aligned(const trove_allocator *a, void *p)
{
    if (!p)
        return;
    void *raw;
    memcpy(&raw, (unsigned char *)p - sizeof(void *), sizeof raw);
    trove__free(a, raw);
}

TROVE_API void trove_free(const trove_allocator *alloc, void *p)
{
    trove__free(alloc, p);
}
