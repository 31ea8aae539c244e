/* cmd_verify.c: `trove verify FILE...`: check every checksum; exit 0 only when all hold. */
#include <string.h>

#include "cli.h"

int cli_cmd_verify(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: trove verify FILE...\n\nValidate the structure of each FILE and every "
                "checksum of its header and tensors.\nExit 0 when all hold, 4 when a checksum "
                "fails, 1 when the file is malformed, 3 on I/O errors.\n");
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    int worst = CLI_OK;
    for (int i = 1; i < argc; i++) {
        trove_error err = {0};
        trove_open_options oo = TROVE_OPEN_OPTIONS_INIT;
        oo.flags = TROVE_OPEN_VERIFY;
        trove_file *f = NULL;
        int rc = trove_open(&f, argv[i], &oo, &err);
        if (rc) {
            int code = cli_report("verify", argv[i], &err);
            if (worst == CLI_OK)
                worst = code;
            continue;
        }
        printf("%s: ok (%zu tensors, %llu bytes)\n", argv[i], trove_file_tensor_count(f),
               (unsigned long long)trove_file_size(f));
        trove_close(f);
    }
    return worst;
}
