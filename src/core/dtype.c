/* dtype.c: element types: sizes and the names the file format uses for them. */
#include <string.h>

#include "core/internal.h"

static const struct {
    const char *name;
    size_t size;
} dtypes[TROVE_DTYPE_COUNT_] = {
    [TROVE_BOOL] = {"bool", 1},       [TROVE_INT8] = {"int8", 1},
    [TROVE_INT16] = {"int16", 2},     [TROVE_INT32] = {"int32", 4},
    [TROVE_INT64] = {"int64", 8},     [TROVE_UINT8] = {"uint8", 1},
    [TROVE_UINT16] = {"uint16", 2},   [TROVE_UINT32] = {"uint32", 4},
    [TROVE_UINT64] = {"uint64", 8},   [TROVE_FLOAT16] = {"float16", 2},
    [TROVE_BFLOAT16] = {"bfloat16", 2}, [TROVE_FLOAT32] = {"float32", 4},
    [TROVE_FLOAT64] = {"float64", 8},
};

TROVE_API size_t trove_dtype_size(trove_dtype d)
{
    return d > TROVE_DTYPE_INVALID && d < TROVE_DTYPE_COUNT_ ? dtypes[d].size : 0;
}

TROVE_API const char *trove_dtype_name(trove_dtype d)
{
    return d > TROVE_DTYPE_INVALID && d < TROVE_DTYPE_COUNT_ ? dtypes[d].name : NULL;
}

TROVE_API trove_dtype trove_dtype_from_name(const char *name, size_t len)
{
    if (!name)
        return TROVE_DTYPE_INVALID;
    for (int d = 1; d < TROVE_DTYPE_COUNT_; d++)
        if (strlen(dtypes[d].name) == len && memcmp(dtypes[d].name, name, len) == 0)
            return (trove_dtype)d;
    return TROVE_DTYPE_INVALID;
}
