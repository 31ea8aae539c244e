/* cmd_diff.c: `trove diff` (placeholder until the CLI lands: reports that it is not built). */
#include "cli.h"

int cli_cmd_diff(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "trove diff: not implemented yet\n");
    return CLI_FAIL;
}
