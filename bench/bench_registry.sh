#!/bin/sh
# bench_registry.sh: registry figures beside `cp` in the same run (docs/REGISTRY.md "Figures"):
#  1. push and pull of a 1 GiB model (16 float32 tensors of 64 MiB) against cp and cp+sync of the
#     file, alternating, median of $RUNS runs (a fresh registry for every push: no dedup help);
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

NT=16; ELEMS=${ELEMS:-16777216}           # 16 x 64 MiB float32 (ELEMS: smaller, for a quick try)
"$W/gen" "$W/model.trove" $NT $ELEMS 1 1
SIZE=$(stat -c %s "$W/model.trove")
echo "model: $SIZE bytes ($NT float32 tensors of $ELEMS elements), $RUNS runs each, alternating"

: > "$W/t_cp"; : > "$W/t_cpsync"; : > "$W/t_push"; : > "$W/t_pull"; : > "$W/t_pullfast"
: > "$W/c_cp"; : > "$W/c_cpsync"; : > "$W/c_push"; : > "$W/c_pull"; : > "$W/c_pullfast"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores)"
i=0
while [ $i -lt "$RUNS" ]; do
    i=$((i + 1))
    cat "$W/model.trove" > /dev/null      # warm page cache for every contender
    time_of cp "$W/model.trove" "$W/copy.trove" >> "$W/t_cp"; cat "$W/cpu_last" >> "$W/c_cp"
    rm -f "$W/copy.trove"; sync
    cat "$W/model.trove" > /dev/null
    time_of sh -c "cp '$W/model.trove' '$W/copy.trove' && sync '$W/copy.trove'" >> "$W/t_cpsync"
    cat "$W/cpu_last" >> "$W/c_cpsync"
    rm -f "$W/copy.trove"; sync
    rm -rf "$W/reg"
    cat "$W/model.trove" > /dev/null
    time_of "$TROVE" push "$W/model.trove" bench --registry "$W/reg" >> "$W/t_push"
    cat "$W/cpu_last" >> "$W/c_push"; sync
    time_of "$TROVE" pull bench -o "$W/pulled.trove" --registry "$W/reg" >> "$W/t_pull"
    cat "$W/cpu_last" >> "$W/c_pull"
    cmp "$W/model.trove" "$W/pulled.trove"; rm -f "$W/pulled.trove"; sync
    time_of "$TROVE" pull --fast bench -o "$W/pulled.trove" --registry "$W/reg" \
        >> "$W/t_pullfast"
    cat "$W/cpu_last" >> "$W/c_pullfast"
    cmp "$W/model.trove" "$W/pulled.trove"; rm -f "$W/pulled.trove"; sync
done
cp_s=$(median < "$W/t_cp"); cps_s=$(median < "$W/t_cpsync")
push_s=$(median < "$W/t_push"); pull_s=$(median < "$W/t_pull"); fast_s=$(median < "$W/t_pullfast")
gbs() { awk "BEGIN {printf \"%.2f\", $SIZE / $1 / 1e9}"; }
ratio() { awk "BEGIN {printf \"%.2f\", $1 / $2}"; }
cpu() { median < "$W/c_$1"; }
printf '%-28s %8s %8s %8s   %s\n' "operation (median)" "wall s" "GB/s" "cpu s" \
    "speed vs cp / vs cp+sync"
printf '%-28s %8.3f %8s %8.2f\n' "cp" "$cp_s" "$(gbs "$cp_s")" "$(cpu cp)"
printf '%-28s %8.3f %8s %8.2f\n' "cp + sync (durable)" "$cps_s" "$(gbs "$cps_s")" "$(cpu cpsync)"
printf '%-28s %8.3f %8s %8.2f   %sx / %sx\n' "trove push (durable)" "$push_s" "$(gbs "$push_s")" \
    "$(cpu push)" "$(ratio "$cp_s" "$push_s")" "$(ratio "$cps_s" "$push_s")"
printf '%-28s %8.3f %8s %8.2f   %sx / %sx\n' "trove pull (BLAKE2b blobs)" "$pull_s" \
    "$(gbs "$pull_s")" "$(cpu pull)" "$(ratio "$cp_s" "$pull_s")" "$(ratio "$cps_s" "$pull_s")"
printf '%-28s %8.3f %8s %8.2f   %sx / %sx\n' "trove pull --fast (XXH3)" "$fast_s" \
    "$(gbs "$fast_s")" "$(cpu pullfast)" "$(ratio "$cp_s" "$fast_s")" "$(ratio "$cps_s" "$fast_s")"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "raw wall (s): cp $(tr '\n' ' ' < "$W/t_cp")| push $(tr '\n' ' ' < "$W/t_push")|" \
     "pull $(tr '\n' ' ' < "$W/t_pull")| pull --fast $(tr '\n' ' ' < "$W/t_pullfast")"
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
