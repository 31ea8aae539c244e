/* trove.h: the public API of trove, a safe, fast, portable file format for trained models.
 *
 * One header for users; its parts live in include/trove/:
 *   core.h      status codes, errors, allocator hooks, dtypes, metadata values
 *   format.h    the container: open/read/verify/digest, atomic writer
 * Conventions (all parts): functions return TROVE_OK or a negative TROVE_E_* code and fill an
 * optional caller-owned trove_error; out-parameters come first; every doc comment states
 * ownership ("caller owns; free with X", "borrowed; valid until Y", "copied") and threading.
 * There is no global mutable state. */
#ifndef TROVE_H
#define TROVE_H

#include "trove/core.h"
#include "trove/format.h"
#include "trove/model.h"
#include "trove/codecs.h"
#include "trove/registry.h"
#include "trove/security.h"

#endif /* TROVE_H */
