/* cli_registry.h: the registry commands (cmd_registry.c) and their rows of the command table. */
#ifndef TROVE_CLI_REGISTRY_H
#define TROVE_CLI_REGISTRY_H

CLI_COMMAND(cli_cmd_push);
CLI_COMMAND(cli_cmd_pull);
CLI_COMMAND(cli_cmd_models);
CLI_COMMAND(cli_cmd_log);
CLI_COMMAND(cli_cmd_alias);
CLI_COMMAND(cli_cmd_rm);
CLI_COMMAND(cli_cmd_gc);
CLI_COMMAND(cli_cmd_fsck);
/* `trove diff A B` where A or B may be registry refs: pulls them, then runs cli_cmd_diff. */
CLI_COMMAND(cli_cmd_diff_refs);

#define REGISTRY_COMMANDS                                                                          \
    {"push", "register a file as the next version of a model", cli_cmd_push},                    \
    {"pull", "write a registered version to a file (verified)", cli_cmd_pull},                   \
    {"models", "list the registry's models", cli_cmd_models},                                   \
    {"log", "history of a model: versions, lineage, metrics, alias moves", cli_cmd_log},         \
    {"alias", "point an alias (prod, staging) at a version; --history", cli_cmd_alias},          \
    {"rm", "remove a version (refused while aliased unless --force)", cli_cmd_rm},               \
    {"gc", "free the storage no version uses (safe while others push)", cli_cmd_gc},             \
    {"fsck", "re-hash every blob and check every version", cli_cmd_fsck},

#endif
