#!/bin/sh
# bench_registry.sh: registry figures beside `cp` in the same run (docs/REGISTRY.md "Figures"):
#  1. push and pull of a 1 GiB model (16 float32 tensors of 64 MiB), durable and without fsync,
#     against cp + sync and cp of the file, alternating, median of $RUNS runs (a fresh registry
#     for every push: no dedup help), fresh memory pre-touched before every command;
#  2. storage of 10 versions where each version changes 1 of the 16 tensors (6.25% >= 5%),
#     against the size of one model.
# Usage: sh bench/bench_registry.sh   (from the repository root, after `make`; env: RUNS=5,
# BENCH_DIR=a scratch directory with ~5 GiB free, TROVE=build/trove)
set -eu
ROOT=$(pwd)
TROVE=${TROVE:-$ROOT/build/trove}
RUNS=${RUNS:-5}
W=${BENCH_DIR:-$(mktemp -d /tmp/trove-bench-registry.XXXXXX)}
mkdir -p "$W"
trap 'rm -rf "$W"' EXIT INT TERM
PKGS="libzstd libxxhash libsodium sqlite3"
cc -O2 -std=c11 -Iinclude -o "$W/gen" bench/bench_registry_gen.c build/libtrove.a \
    $(pkg-config --libs $PKGS) -lpthread -lm

now() { date +%s.%N; }
# time_of CMD...: prints the wall seconds of CMD; its CPU seconds (user + sys) go to $W/cpu_last
# (the VM is shared and noisy: CPU time says what the work costs, wall time what it took)
time_of() {
    t0=$(now)
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f "%U %S" -o "$W/cpu_raw" "$@" >/dev/null
        awk '{print $1 + $2}' "$W/cpu_raw" > "$W/cpu_last"
    else
        "$@" >/dev/null
        echo 0 > "$W/cpu_last"
    fi
    t1=$(now)
    awk "BEGIN {print $t1 - $t0}"
}
median() {
    sort -g | awk '{a[NR] = $1} END {m = (NR + 1) / 2
        if (NR % 2) print a[m]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# PERF-FACTS suggests touching ~3 GiB of anonymous memory before each run; measured here
# (2026-11-29) that slows the runs that write a file (a plain 1 GiB write() 0.35-2.1 s after it,
# 0.11-0.14 s without: it takes the page-cache pages the previous output freed) and does not
# help fresh anonymous memory either. What does help: the page cache's allocator warmed by
# writing and deleting a scratch file of that size (measured: a plain copy 2.2-2.6 CPU s cold,
# 0.2-0.5 warm), untimed, for every contender alike, with nothing dirty left behind.
prep() {
    sync
    dd if=/dev/zero of="$W/prewrite" bs=1M count=1100 2>/dev/null; rm -f "$W/prewrite"
    cat "$W/model.trove" > /dev/null    # the source in the page cache
}

NT=16; ELEMS=${ELEMS:-16777216}           # 16 x 64 MiB float32 (ELEMS: smaller, for a quick try)
"$W/gen" "$W/model.trove" $NT $ELEMS 1 1
SIZE=$(stat -c %s "$W/model.trove")
echo "model: $SIZE bytes ($NT float32 tensors of $ELEMS elements), $RUNS runs each, alternating"

KINDS="cp cpsync push pushns pull pullns rehash"
for k in $KINDS; do : > "$W/t_$k"; : > "$W/c_$k"; done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores)"
# one KIND: time CMD..., appended to t_KIND (wall) and c_KIND (cpu)
one() { k=$1; shift; prep; time_of "$@" >> "$W/t_$k"; cat "$W/cpu_last" >> "$W/c_$k"; }
NS="env TROVE_REGISTRY_NO_SYNC=1"
i=0
while [ $i -lt "$RUNS" ]; do
    i=$((i + 1))
    one cp cp "$W/model.trove" "$W/copy.trove"
    rm -f "$W/copy.trove"; sync
    one cpsync sh -c "cp '$W/model.trove' '$W/copy.trove' && sync '$W/copy.trove'"
    rm -f "$W/copy.trove"; sync
    rm -rf "$W/reg"
    one pushns $NS "$TROVE" push "$W/model.trove" bench --registry "$W/reg"
    rm -rf "$W/reg"; sync
    one push "$TROVE" push "$W/model.trove" bench --registry "$W/reg"
    sync
    one pull "$TROVE" pull bench -o "$W/pulled.trove" --registry "$W/reg"
    cmp "$W/model.trove" "$W/pulled.trove"; rm -f "$W/pulled.trove"; sync
    one pullns $NS "$TROVE" pull bench -o "$W/pulled.trove" --registry "$W/reg"
    cmp "$W/model.trove" "$W/pulled.trove"; rm -f "$W/pulled.trove"; sync
    one rehash "$TROVE" pull --rehash bench -o "$W/pulled.trove" --registry "$W/reg"
    cmp "$W/model.trove" "$W/pulled.trove"; rm -f "$W/pulled.trove"; sync
done
med() { median < "$W/t_$1"; }
cpu() { median < "$W/c_$1"; }
gbs() { awk "BEGIN {printf \"%.2f\", $SIZE / $1 / 1e9}"; }
ratio() { awk "BEGIN {printf \"%.2f\", $1 / $2}"; }
cp_s=$(med cp); cps_s=$(med cpsync)
printf '%-36s %8s %8s %8s   %s\n' "operation (median)" "wall s" "GB/s" "cpu s" "speed vs its peer"
row() { # KIND LABEL PEER_KIND PEER_LABEL
    s=$(med "$1")
    if [ -n "$3" ]; then r="$(ratio "$(med "$3")" "$s")x $4"; else r=""; fi
    printf '%-36s %8.3f %8s %8.2f   %s\n' "$2" "$s" "$(gbs "$s")" "$(cpu "$1")" "$r"
}
row cp "cp (page cache only)" "" ""
row cpsync "cp + sync (durable)" "" ""
row pushns "trove push, no fsync" cp "cp (target >= 0.7)"
row push "trove push (durable)" cpsync "cp + sync (target >= 0.7)"
row pullns "trove pull, no fsync" cp "cp (target >= 0.7)"
row pull "trove pull (durable)" cpsync "cp + sync (target >= 0.7)"
row rehash "trove pull --rehash (durable)" cpsync "cp + sync"
echo "push and pull vs plain cp: $(ratio "$cp_s" "$(med push)")x / $(ratio "$cp_s" "$(med pull)")x"
# Paired: each run's own cp + sync against the same run's push and pull (the host's disk and CPU
# speed drift within a run; a ratio of medians taken minutes apart mixes that in).
pair() { paste "$W/t_$1" "$W/t_$2" | awk '{printf "%.3f\n", $1 / $2}' | median; }
pairs() { paste "$W/t_$1" "$W/t_$2" | awk '{printf "%.2f ", $1 / $2}'; }
echo "paired, median over runs of cp+sync / trove: push $(pair cpsync push) ($(pairs cpsync push)), pull $(pair cpsync pull) ($(pairs cpsync pull))"
echo "paired, median over runs of cp / trove (no fsync): push $(pair cp pushns), pull $(pair cp pullns)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for k in $KINDS; do printf 'raw wall %s: %s\n' "$k" "$(tr '\n' ' ' < "$W/t_$k")"; done
rm -rf "$W/reg"

# Storage of 10 versions, each changing 1 of 16 tensors.
: > "$W/t_dedup"
v=1
while [ $v -le 10 ]; do
    "$W/gen" "$W/v.trove" $NT $ELEMS $v 1
    time_of "$TROVE" push "$W/v.trove" dedup --registry "$W/reg" >> "$W/t_dedup"
    rm -f "$W/v.trove"
    v=$((v + 1))
done
BLOBS=$(find "$W/reg/blobs" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
DB=$(du -cb "$W/reg"/catalog.db* | tail -1 | cut -f1)
echo "10 versions (1 of 16 tensors changed each): blobs $BLOBS bytes + catalog $DB bytes" \
     "= $(awk "BEGIN {printf \"%.3f\", ($BLOBS + $DB) / $SIZE}")x one model ($SIZE bytes);" \
     "target <= 1.6x"
echo "pushes of versions 2..10 (mostly deduplicated): median $(tail -n 9 "$W/t_dedup" | median) s"
"$TROVE" fsck --quiet --registry "$W/reg"
