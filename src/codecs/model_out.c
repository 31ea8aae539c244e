/* model_out.c: building the models an importer produces (tensors in the arena, metadata with a
 * sticky out-of-memory error), shared by the scikit-learn, Keras and XGBoost importers. */
#include <string.h>

#include "codecs/codecs_internal.h"

void *trove__out_tensor(pk_arena *a, trove__model_out *m, const char *prefix, const char *name,
                        trove_dtype dt, uint32_t rank, uint64_t d0, uint64_t d1)
{
    if (m->n_tensors == m->cap_tensors) {
        size_t cap = m->cap_tensors ? m->cap_tensors * 2 : 16;
        trove__tensor_out *t = pk_alloc(a, cap * sizeof *t);
        if (!t)
            return NULL;
        if (m->n_tensors)
            memcpy(t, m->tensors, m->n_tensors * sizeof *t);
        m->tensors = t;
        m->cap_tensors = cap;
    }
    size_t pl = strlen(prefix), nl = strlen(name);
    char *full = pk_alloc(a, pl + nl + 1);
    uint64_t count, bytes;
    if (!full || !trove__mul_ok(d0, rank == 2 ? d1 : 1, &count) ||
        !trove__mul_ok(count, trove_dtype_size(dt), &bytes) || bytes > SIZE_MAX)
        return NULL;
    void *data = pk_alloc(a, bytes ? (size_t)bytes : 1);
    if (!data)
        return NULL;
    memcpy(full, prefix, pl);
    memcpy(full + pl, name, nl + 1);
    trove__tensor_out *t = &m->tensors[m->n_tensors++];
    t->name = full;
    t->dtype = dt;
    t->rank = rank;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->data = data;
    return data;
}

void trove__out_set(int *rc, trove_value *map, const char *key, trove_value *v)
{
    if (!v || !map || trove_value_map_set(map, key, v)) {
        if (v && !map)
            trove_value_free(v);
        if (!*rc)
            *rc = TROVE_E_NOMEM;
    }
}

void trove__out_push(int *rc, trove_value *arr, trove_value *v)
{
    if (!v || !arr || trove_value_array_take(arr, v)) {
        if (v && !arr)
            trove_value_free(v);
        if (!*rc)
            *rc = TROVE_E_NOMEM;
    }
}
