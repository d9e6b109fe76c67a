#!/bin/bash
# `make test`: every test stage, in order; each prints its own results and a
# "<stage>: N passed, N failed" line, and the last line of this script is the
# total, "N passed, N failed".  Exit status 1 if anything failed.
#
# Stages: -Werror build; unit tests; end-to-end train runs; the same two under
# ASan+UBSan; unit tests under valgrind; libFuzzer corpus replay for every
# fuzz target; lint (banned functions).
set -u
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
total_pass=0
total_fail=0

# stage NAME CMD...: run and log; add the counts of its last "N passed, N
# failed" line, or count the stage itself as one test when it prints none.
# A non-zero exit with no failure counted still counts as one failure.
stage() {
    local name=$1 log="build/test-logs/$1.log" rc line p f
    shift
    mkdir -p build/test-logs
    echo "=== $name"
    "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -E 's/^(.*[^0-9])?([0-9]+) passed.*/\2/')
        f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    elif [ "$rc" = 0 ]; then
        p=1 f=0
    else
        p=0 f=1
    fi
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        echo "$name: exited with status $rc"
        f=1
    fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
}

stage build make -j"$JOBS" WERROR=1 all
stage unit build/test_runner
# Every end-to-end file (tests/e2e*.sh but the shared e2e_lib.sh), plain and under ASan.
E2E_FILES=$(ls tests/e2e*.sh | grep -v e2e_lib.sh)
for f in $E2E_FILES; do
    stage "$(basename "$f" .sh)" env PLANTFIT=build/plantfit bash "$f"
done
stage asan-build make -j"$JOBS" B=build-asan CFLAGS="-O1 -g -fno-omit-frame-pointer" \
    VARIANT_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" all
stage asan-unit env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build-asan/test_runner
for f in $E2E_FILES; do
    stage "asan-$(basename "$f" .sh)" env PLANTFIT=build-asan/plantfit bash "$f"
done
stage valgrind-unit valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
    build/test_runner
stage fuzz-build make -j"$JOBS" fuzz
for t in build-fuzz/fuzz_*; do
    [ -x "$t" ] || continue
    n=$(basename "$t")
    # libFuzzer given files (not directories) runs each once and exits non-zero on a crash.
    stage "replay-$n" "$t" -runs=0 tests/fuzz/corpus/"$n"/*
done
stage lint make -s lint-banned

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
