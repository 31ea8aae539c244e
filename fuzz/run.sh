#!/bin/sh
# run.sh: coverage-guided fuzzing of the container (make fuzz FUZZ_SECONDS=N).
# Usage: fuzz/run.sh SECONDS. Builds every fuzz/fuzz_*.c with clang-14 and
# -fsanitize=fuzzer,address,undefined (library sources of src/core and src/format compiled into
# each binary), runs each target for SECONDS / number-of-targets on one core (nice 10: the
# machine is shared), merges inputs that add coverage into fuzz/corpus/<target>/ (libFuzzer
# -merge=1 keeps only inputs with new features), and prints executions, coverage and findings.
# Crashing inputs are kept in build/fuzz/artifacts/.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
secs=${1:-600}
CC=${FUZZ_CC:-clang-14}
out=build/fuzz
mkdir -p "$out/artifacts"
pkgs="libzstd libxxhash libsodium sqlite3 zlib hdf5-serial jansson libzip"
cflags="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Iinclude -Isrc $(pkg-config --cflags $pkgs)"
san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
libs="$(pkg-config --libs $pkgs) -lpthread -lm"

# Seed corpora: written by the library itself when missing.
if [ ! -d fuzz/corpus/reader ] || [ -z "$(ls -A fuzz/corpus/reader 2>/dev/null)" ]; then
    mkdir -p fuzz/corpus/reader fuzz/corpus/cbor
    $CC $cflags -o "$out/seeds" fuzz/seeds.c src/core/*.c src/format/*.c $libs && "$out/seeds" fuzz/corpus || exit 1
fi

for name in envelope signature; do # the trust targets' seeds (seeds_trust.c, keyed by trust_fixture.h)
    if [ ! -d "fuzz/corpus/$name" ] || [ -z "$(ls -A "fuzz/corpus/$name" 2>/dev/null)" ]; then
        $CC $cflags -o "$out/seeds_trust" fuzz/seeds_trust.c src/*/*.c $libs && "$out/seeds_trust" fuzz/corpus || exit 1
        break
    fi
done

# FUZZ_TARGETS="fuzz_envelope fuzz_signature" limits the run to those targets.
targets=${FUZZ_TARGETS:-$(ls fuzz/fuzz_*.c | sed 's|fuzz/||; s|\.c$||')}
ntargets=$(echo "$targets" | wc -w)
per=$((secs / ntargets))
[ "$per" -ge 1 ] || per=1
status=0
for t in $targets; do
    name=${t#fuzz_}
    echo "== build $t"
    $CC $cflags $san -o "$out/$t" "fuzz/$t.c" src/*/*.c $libs || { status=1; continue; }
    case "$name" in
        cbor) maxlen=4096 ;;
        signature) maxlen=4096 ;;
        envelope) maxlen=12288 ;;
        *) maxlen=32768 ;;
    esac
    mkdir -p "fuzz/corpus/$name"
    work="$out/new-$name"
    rm -rf "$work" && mkdir -p "$work"
    log="$out/$t.log"
    # The crafted files of tests/unit/test_hostile.c seed the reader too (when it is built).
    extra=""
    if [ "$name" = reader ] && [ -x build/tests/test_hostile ]; then
        rm -rf "$out/hostile" && mkdir -p "$out/hostile"
        TROVE_HOSTILE_DUMP="$out/hostile" build/tests/test_hostile >/dev/null 2>&1
        extra="$out/hostile"
    fi
    before=$(ls "$out/artifacts" | wc -l)
    echo "== fuzz $t for ${per}s (max_len $maxlen), log $log"
    # One process on one core (equivalent of -jobs=1 without the extra supervisor process).
    dict=""
    [ -f "fuzz/$name.dict" ] && dict="-dict=fuzz/$name.dict"
    nice -n 10 "$out/$t" $dict -max_total_time="$per" -max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$out/artifacts/$name-" \
        "$work" "fuzz/corpus/$name" $extra >"$log" 2>&1
    rc=$?
    after=$(ls "$out/artifacts" | wc -l)
    # Merge, keeping the corpus small: named files (seeds, regressions: they have a dot) stay;
    # the hash-named ones are recomputed as a greedy set cover of edge coverage (no hit counts)
    # over the old hash-named files and this run's new inputs.
    fresh="$out/fresh-$name" old="$out/old-$name"
    rm -rf "$fresh" "$old" && mkdir -p "$fresh" "$old"
    for f in fuzz/corpus/"$name"/*; do
        case "$(basename "$f")" in
            *.*) cp "$f" "$fresh/" ;;
            *) mv "$f" "$old/" ;;
        esac
    done
    if nice -n 10 "$out/$t" -set_cover_merge=1 -use_counters=0 -max_len="$maxlen" \
        "$fresh" "$old" "$work" $extra >"$out/$t.merge.log" 2>&1; then
        for f in "$fresh"/*; do
            case "$(basename "$f")" in *.*) ;; *) mv "$f" "fuzz/corpus/$name/" ;; esac
        done
    else
        echo "   merge failed (see $out/$t.merge.log): corpus left as it was"
        mv "$old"/* "fuzz/corpus/$name/" 2>/dev/null
    fi
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -o 'cov: [0-9]* ft: [0-9]*')
    files=$(ls "fuzz/corpus/$name" | wc -l)
    size=$(du -sk "fuzz/corpus/$name" | cut -f1)
    echo "   executions ${execs:-?}, ${speed:-?}/s, final ${cov:-?}, exit $rc"
    echo "   corpus fuzz/corpus/$name: $files files, ${size} KiB"
    echo "   findings: $((after - before)) new artifact(s) in $out/artifacts"
    if [ "$rc" -ne 0 ]; then
        status=1
        grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5
    fi
done

# Source coverage of the merged corpora (clang source-based coverage, replay driver).
if command -v llvm-profdata-14 >/dev/null && command -v llvm-cov-14 >/dev/null; then
    echo "== line coverage of the corpora (llvm-cov-14)"
    for t in $targets; do
        name=${t#fuzz_}
        $CC $cflags -fprofile-instr-generate -fcoverage-mapping -o "$out/$t.cov" "fuzz/$t.c" \
            fuzz/replay.c src/*/*.c $libs || continue
        LLVM_PROFILE_FILE="$out/$t.profraw" "$out/$t.cov" "fuzz/corpus/$name" >/dev/null 2>&1
        llvm-profdata-14 merge -sparse "$out/$t.profraw" -o "$out/$t.profdata" || continue
        case "$name" in
            cbor) files="src/format/cbor.c src/format/value.c src/format/json.c src/core/utf8.c" ;;
            envelope) files="src/security/crypt.c" ;;
            torch) files="src/codecs/torch.c src/codecs/pickle.c" ;;
            xgboost) files="src/codecs/xgboost.c" ;;
            signature) files="src/security/sign.c src/format/cbor.c src/format/value.c" ;;
            *) files="src/format/reader.c src/format/cbor.c src/format/digest.c src/format/json.c
                      src/core/utf8.c src/core/dtype.c" ;;
        esac
        echo "   $t:"
        # shellcheck disable=SC2086
        llvm-cov-14 report "$out/$t.cov" -instr-profile="$out/$t.profdata" $files 2>/dev/null |
            awk 'NR > 2 && $1 != "" && $1 !~ /^-/ {
                printf "     %-28s lines %6s  branches %6s\n", $1, $10, $13 }'
        if [ "$name" = reader ]; then # the validation code itself, function by function
            llvm-cov-14 report -show-functions "$out/$t.cov" -instr-profile="$out/$t.profdata" \
                src/format/reader.c 2>/dev/null | awk '$1 ~ /(^|:)(parse|parse_tensor|trove_file_tensor_data|trove_file_verify_tensor|trove_open_memory)$/ {
                    printf "     %-32s lines %6s  branches %6s\n", $1, $7, $10 }'
        fi
    done
fi
exit $status
