#!/bin/sh
# run.sh: `make bench`: trove's container beside raw I/O and today's tools, same run, alternating.
# ROUNDS (default 5) rounds of bench_container (C) then bench/peers.py (numpy, pickle, torch,
# h5py, trove's Python binding); prints medians, ratios against the references and the targets.
# Files go to $BENCH_DIR (default build/bench-tmp) and are deleted. About 3-5 minutes.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
ROUNDS=${ROUNDS:-5}
dir=${BENCH_DIR:-build/bench-tmp}
out=build/bench-results.jsonl
mkdir -p "$dir" build
exe=build/bench_container
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iinclude -o "$exe" \
    bench/bench_container.c build/libtrove.a \
    $(pkg-config --libs libzstd libxxhash libsodium sqlite3) -lpthread -lm
cleanup() { rm -rf "$dir"; }
trap cleanup EXIT INT TERM
: > "$out"
echo "bench: $ROUNDS rounds of a 1 GiB model (16 x 64 MiB float32), C and peers alternating"
echo "bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
i=1
while [ "$i" -le "$ROUNDS" ]; do
    printf 'bench: round %s/%s: trove (C)...' "$i" "$ROUNDS"
    "$exe" round "$dir" >> "$out" 2>/dev/null
    printf ' peers (python)...'
    TROVE_LIB="$here/build/libtrove.so" PYTHONPATH="$here/python" \
        /usr/bin/python3 bench/peers.py round "$dir" >> "$out"
    echo " done"
    i=$((i + 1))
done
echo "bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
/usr/bin/python3 bench/peers.py report "$out"

# trust: sign, verify, encrypt, decrypt beside raw BLAKE2b/AEAD and openssl (bench_security.c)
echo
sh bench/bench_security.sh
