/* cmd_inspect.c: `trove inspect` (placeholder until the CLI lands: reports that it is not built). */
#include "cli.h"

int cli_cmd_inspect(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "trove inspect: not implemented yet\n");
    return CLI_FAIL;
}
