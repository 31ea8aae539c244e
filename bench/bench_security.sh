#!/bin/sh
# bench_security.sh: the cost of trust on a 1 GiB model: sign, verify, encrypt, decrypt beside
# libsodium's raw BLAKE2b and AEAD and `openssl enc`, same run, alternating (bench_security.c).
# ROUNDS (default 5); files in $BENCH_DIR (default build/bench-sec), deleted. About 2-4 minutes.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
ROUNDS=${ROUNDS:-5}
dir=${BENCH_DIR:-build/bench-sec}
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT INT TERM
exe=build/bench_security
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iinclude -Isrc -o "$exe" \
    bench/bench_security.c build/libtrove.a \
    $(pkg-config --libs libzstd libxxhash libsodium) -lpthread -lm
"$exe" "$dir" "$ROUNDS"
