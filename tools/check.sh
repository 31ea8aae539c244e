#!/bin/sh
# check.sh: run every test suite that `make check` built, keep going after a failing suite, and
# end with one total line "total: N passed, N failed" (suites print their own such lines).
# Usage: tools/check.sh BUILD_DIR   (run from the repository root)
set -u
B=${1:-build}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
suites_failed=0

status_of() { # run a command, append its output to the log, return its status
    name=$1
    shift
    echo "== $name"
    "$@" >"$log.one" 2>&1
    rc=$?
    cat "$log.one"
    cat "$log.one" >>"$log"
    rm -f "$log.one"
    if [ $rc -ne 0 ]; then
        echo "!! $name failed (exit $rc)"
        suites_failed=$((suites_failed + 1))
    fi
}

for t in "$B"/tests/test_*; do
    [ -x "$t" ] && status_of "$t" "$t"
done
for t in "$B"/asan-tests/test_*; do
    [ -x "$t" ] && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        status_of "$t (asan+ubsan)" "$t"
done
for t in "$B"/asan-fuzz/fuzz_*; do
    [ -x "$t" ] || continue
    n=$(basename "$t")
    ASAN_OPTIONS=detect_leaks=1 status_of "replay $n" "$t" "fuzz/corpus/${n#fuzz_}"
done
for t in tests/cli/test_*.sh; do
    [ -f "$t" ] && TROVE="$(pwd)/$B/trove" status_of "$t" sh "$t"
done
# Big-endian (s390x under qemu): runs when `make check-bigendian` installed its tools, else SKIP.
status_of "big-endian (s390x)" sh tests/bigendian/run.sh

pydirs=""
for d in python/tests tests/python; do [ -d "$d" ] && pydirs="$pydirs $d"; done
if [ -n "$pydirs" ]; then
    # shellcheck disable=SC2086
    TROVE_LIB="$(pwd)/$B/libtrove.so" TROVE="$(pwd)/$B/trove" \
        PYTHONPATH="$(pwd)/python:$(pwd)/tools" \
        status_of "python tests" /usr/bin/python3 -m pytest -q -p no:cacheprovider $pydirs
fi

# Totals: C suites print "N passed, N failed"; pytest prints "N passed[, N failed][, N skipped]".
total=$(awk '
    /^[0-9]+ passed, [0-9]+ failed/ { p += $1; f += $3; next }
    /^=* *[0-9]+ (passed|failed)/ {
        for (i = 1; i <= NF; i++) {
            if ($(i) ~ /^passed/) p += $(i-1)
            if ($(i) ~ /^failed/) f += $(i-1)
            if ($(i) ~ /^skipped/) s += $(i-1)
        }
    }
    END { printf "%d %d %d", p, f, s }' "$log")
set -- $total
echo
if [ "$suites_failed" -ne 0 ]; then
    echo "$suites_failed suite(s) failed"
fi
echo "total: $1 passed, $(( $2 + suites_failed * ($2 == 0) )) failed, $3 skipped"
[ "$suites_failed" -eq 0 ]
