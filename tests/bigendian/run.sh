#!/bin/sh
# run.sh: the library on a big-endian host: builds the unit tests and tests/bigendian/cross.c
# for s390x (static, since qemu-user's dynamic loader is unreliable there), runs them under
# qemu-s390x, and checks that files are byte-identical and read identically across byte orders.
# Needs qemu-user, gcc-s390x-linux-gnu and the s390x -dev packages of zstd, xxhash, libsodium
# (`make check-bigendian` installs them); prints SKIP and succeeds when they are absent.
set -eu
cd "$(dirname "$0")/../.."
B=${B:-build}
CC_BE=s390x-linux-gnu-gcc
if ! command -v $CC_BE >/dev/null || ! command -v qemu-s390x >/dev/null ||
   [ ! -e /usr/lib/s390x-linux-gnu/libsodium.a ]; then
    echo "SKIP big-endian: s390x cross toolchain or qemu-user not installed (make check-bigendian)"
    exit 0
fi
mkdir -p "$B/bigendian"
out="$B/bigendian"
SRC="src/core/*.c src/format/*.c"
LIBS="-lzstd -lxxhash -lsodium -lpthread -lm"
# shellcheck disable=SC2086
$CC_BE -static -std=c11 -D_GNU_SOURCE -O1 -Iinclude -Isrc -Itests/unit $SRC \
    tests/unit/test_format.c tests/unit/testlib.c -o "$out/test_format" $LIBS 2>/dev/null
# shellcheck disable=SC2086
$CC_BE -static -std=c11 -D_GNU_SOURCE -O1 -Iinclude -Isrc $SRC tests/bigendian/cross.c \
    -o "$out/cross-be" $LIBS 2>/dev/null
# shellcheck disable=SC2086
cc -std=c11 -D_GNU_SOURCE -O1 -Iinclude -Isrc $SRC tests/bigendian/cross.c -o "$out/cross-le" $LIBS
echo "== unit tests on s390x (big-endian, qemu)"
qemu-s390x "$out/test_format"
fail=0
echo "== written on s390x, read on x86-64"
qemu-s390x "$out/cross-be" write "$out/be.trove"
"$out/cross-le" check "$out/be.trove" || fail=1
echo "== written on x86-64, read on s390x"
"$out/cross-le" write "$out/le.trove"
qemu-s390x "$out/cross-be" check "$out/le.trove" || fail=1
rm -f "$out/be.trove" "$out/le.trove"
if [ $fail = 0 ]; then echo "2 passed, 0 failed"; else echo "0 passed, 2 failed"; fi
exit $fail
