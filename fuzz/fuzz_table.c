/* fuzz_table.c: fuzz target for the input tables of `trove predict` and `trove fit`
 * (cli/io_table.c): the .npy reader (every header field, dtype, shape and size checked) and the
 * CSV reader (header names, text columns, numbers), then the column selection by count and by
 * name. Whatever is read must be consistent (rows x cols values, names and text columns in
 * range); whatever is refused must say why. The CLI's source is compiled in whole, so that its
 * static readers are reached without a file. */
#include "../cli/io_table.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    /* As slurp() leaves it: exactly size bytes, then a NUL. */
    char *b = malloc(size + 1);
    if (!b)
        return 0;
    memcpy(b, data, size);
    b[size] = '\0';
    cli_data t;
    memset(&t, 0, sizeof t);
    char msg[256] = "";
    int npy = size >= 6 && memcmp(b, "\x93NUMPY", 6) == 0;
    int rc = npy ? read_npy((const unsigned char *)b, size, &t, msg, sizeof msg)
                 : read_csv(b, size, &t, msg, sizeof msg);
    if (rc != CLI_OK) {
        check(msg[0] != '\0');
        cli_data_free(&t);
        free(b);
        return 0;
    }
    check(t.rows == 0 || t.cols == 0 || t.data != NULL);
    volatile double sink = 0;
    for (size_t i = 0; i < t.rows * t.cols; i++)
        sink += t.data[i];
    for (size_t c = 0; t.names && c < t.cols; c++)
        check(t.names[c] != NULL);
    for (size_t c = 0; t.text && c < t.cols; c++)
        for (size_t r = 0; t.text[c] && r < t.rows; r++)
            check(t.text[c][r] != NULL);
    (void)sink;
    /* Select by name (two names a header may or may not have), else by count. */
    static const char *const names[] = {"a", "b"};
    msg[0] = '\0';
    if (cli_data_select(&t, 2, names, msg, sizeof msg) != CLI_OK)
        check(msg[0] != '\0');
    else
        check(t.cols == 2);
    cli_data_free(&t);
    free(b);
    return 0;
}
