/* cmd_fit.c: `trove fit linear|ridge|logistic DATA.csv --target COLUMN -o MODEL` (placeholder). */
#include "cli.h"

int cli_cmd_fit(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "trove fit: not implemented yet\n");
    return CLI_FAIL;
}
