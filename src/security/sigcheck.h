/* sigcheck.h: signature checks over a digest the caller already computed from the content
 * (the registry hashes every byte when it stores a file: no second pass). Internal. */
#ifndef TROVE_SIGCHECK_H
#define TROVE_SIGCHECK_H

#include "trove.h"

/* As trove_verify_signatures (embedded signatures only) without its checksum pass and digest:
 * `digest` MUST have been computed from f's content by the caller. */
int trove__check_signatures(const trove_file *f, const uint8_t digest[32],
                            const trove_pubkey *keys, size_t nkeys, trove_verify_result *res,
                            trove_error *err);

/* What f's embedded signatures say on their own, into buf (cap >= 64): "unsigned", or
 * "signed by ID, ID (valid signatures; signers not checked against trusted keys)", and/or
 * "signed by key id ID (no public key in the file: not checked)". An entry that carries its
 * public key is checked against it and `digest`: a mismatch, a malformed entry or an id that is
 * not its key's is TROVE_E_SIGNATURE. Whether a signer is trusted is not decided here. */
int trove__signature_summary(const trove_file *f, const uint8_t digest[32], char *buf,
                             size_t cap, trove_error *err);

#endif
