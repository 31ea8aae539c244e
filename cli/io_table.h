/* io_table.h: numeric tables for `trove predict` and `trove fit`: CSV and .npy in, CSV and .npy
 * out. Input files are untrusted: every size is checked before use. */
#ifndef TROVE_CLI_IO_TABLE_H
#define TROVE_CLI_IO_TABLE_H

#include <stddef.h>

#include "trove.h"

typedef struct cli_data {
    double *data;        /* rows x cols, row-major */
    size_t rows, cols;
    char **names;        /* cols header names (CSV with a header row), else NULL */
    char ***text;        /* per column: NULL, or rows strings when the column holds text (its
                          * values are then NaN): only with a header row */
} cli_data;

/* Read path ("-" = stdin, CSV) as .npy (by magic) or CSV. Returns a CLI exit code; on failure
 * msg says why (naming line/column or header field). */
int cli_data_read(const char *path, cli_data *t, char *msg, size_t cap);
/* Reorder/check columns for a model of nf features: when both the table and the model have
 * names, columns are matched by name (extra columns, text ones included, are ignored);
 * otherwise the table must have exactly nf columns. A selected column holding text is refused.
 * names may be NULL. */
int cli_data_select(cli_data *t, size_t nf, const char *const *names, char *msg, size_t cap);
/* The same for model m (may be NULL): a text column where m takes text becomes its vocabulary
 * codes (trove_model_text_code); a column m ignores (trove_model_input_is_used) may hold
 * anything. */
int cli_data_select_model(cli_data *t, size_t nf, const char *const *names, const trove_model *m,
                          char *msg, size_t cap);
void cli_data_free(cli_data *t);
/* Write rows x k values to path (NULL = stdout CSV; *.npy = float64 .npy; else CSV), atomically
 * for files. labels: values are class labels of m (printed as the class values). */
int cli_data_write(const char *path, const trove_model *m, const double *v, size_t rows,
                    size_t k, trove_model_op op, int labels, char *msg, size_t cap);

#endif
