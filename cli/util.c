/* util.c: helpers shared by the CLI commands: exit codes, error reports, human sizes, hex. */
#include <string.h>

#include "cli.h"

int cli_exit_code(int status)
{
    switch (status) {
    case TROVE_OK: return CLI_OK;
    case TROVE_E_INVALID: return CLI_USAGE;
    case TROVE_E_IO: return CLI_IO;
    case TROVE_E_CHECKSUM: return CLI_CHECKSUM;
    case TROVE_E_SIGNATURE: return CLI_SIGNATURE;
    case TROVE_E_KEY:
    case TROVE_E_DECRYPT: return CLI_KEY;
    default: return CLI_FAIL;
    }
}

int cli_report(const char *cmd, const char *file, const trove_error *err)
{
    if (file)
        fprintf(stderr, "trove %s: %s: %s\n", cmd, file, err->message);
    else
        fprintf(stderr, "trove %s: %s\n", cmd, err->message);
    return cli_exit_code(err->code);
}

const char *cli_human_size(unsigned long long bytes, char *buf, size_t cap)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    if (bytes < 1024) {
        snprintf(buf, cap, "%llu B", bytes);
        return buf;
    }
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    snprintf(buf, cap, "%.1f %s", v, units[u]);
    return buf;
}

const char *cli_hex(const unsigned char *p, size_t n, char *buf)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = hx[p[i] >> 4];
        buf[2 * i + 1] = hx[p[i] & 15];
    }
    buf[2 * n] = '\0';
    return buf;
}

int cli_is_help(const char *arg)
{
    return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}
