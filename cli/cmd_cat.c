/* cmd_cat.c: `trove cat` (placeholder until the CLI lands: reports that it is not built). */
#include "cli.h"

int cli_cmd_cat(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "trove cat: not implemented yet\n");
    return CLI_FAIL;
}
