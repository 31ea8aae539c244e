/* fuzz_keys.c: fuzz target for the key file parsers (src/security/keys.c): public key files,
 * secret signing key files (plain, and sealed ones up to the passphrase check: no passphrase is
 * given, so the KDF never runs here) and symmetric key files. Each input is written to a
 * private 0600 file, as key files must be; whatever loads must be usable (a public key has the
 * id of its key bytes); whatever is refused must say why. The seeds are throwaway keys made by
 * trove keygen for this corpus only. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trove.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

static char path[64];

static void cleanup(void)
{
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/trove-fuzz-keys.%ld", (long)getpid());
        atexit(cleanup);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return 0;
    int ok = write(fd, data, size) == (ssize_t)size;
    close(fd);
    if (!ok)
        return 0;
    trove_error err;
    memset(&err, 0, sizeof err);
    trove_pubkey pk;
    if (trove_pubkey_load(&pk, path, &err) == TROVE_OK) {
        trove_pubkey again;
        trove_pubkey_from_bytes(&again, pk.key);
        check(memcmp(again.id, pk.id, TROVE_KEY_ID_BYTES) == 0);
    } else {
        check(err.message[0] != '\0');
    }
    memset(&err, 0, sizeof err);
    trove_signer *s = NULL;
    if (trove_signer_load(&s, path, NULL, 0, &err) == TROVE_OK) {
        check(s != NULL);
        trove_signer_public(s, &pk);
        trove_signer_free(s);
    } else {
        check(s == NULL && err.message[0] != '\0');
    }
    memset(&err, 0, sizeof err);
    trove_secret *k = NULL;
    if (trove_secret_load(&k, path, &err) == TROVE_OK)
        trove_secret_free(k);
    else
        check(k == NULL && err.message[0] != '\0');
    return 0;
}
