/* cmd_ls.c: `trove ls` (placeholder until the CLI lands: reports that it is not built). */
#include "cli.h"

int cli_cmd_ls(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "trove ls: not implemented yet\n");
    return CLI_FAIL;
}
