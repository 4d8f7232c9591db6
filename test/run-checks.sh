#!/bin/sh
# run-checks.sh — what `make check` runs: the C unit tests, every
# test/<tool>.bats, and (when clang is present) a short bounded run of each
# fuzz target.  Prints the TAP of each part and ends with one line:
#     N passed, N failed
# (skipped tests are counted on the line before it).
# Exit status 0 only if nothing failed.
#
# Environment: UNIT_BIN (the unit-test binary), BUILD (build directory),
# SAN=1 (sanitizer build: skip the fuzz runs, which have their own),
# TESTS="talcat featpack" (only these bats files), FUZZ_RUNS (runs per fuzz
# target instead of the defaults below).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
export TAL_SRCDIR="$top"
export PATH="$top/bin:$PATH"
log=$(mktemp "${TMPDIR:-/tmp}/talcore-check.XXXXXX")
trap 'rm -f "$log"' EXIT

passed=0 failed=0 skipped=0
count() {  # count TAP lines of $log
    p=$(grep -c '^ok ' "$log")
    s=$(grep -c '^ok .*# skip' "$log")
    f=$(grep -c '^not ok ' "$log")
    passed=$((passed + p - s)); skipped=$((skipped + s)); failed=$((failed + f))
}

echo "== unit tests"
"${UNIT_BIN:?}" > "$log" 2>&1
rc=$?
cat "$log"
count
if [ $rc -ne 0 ] && ! grep -q '^not ok ' "$log"; then
    echo "not ok - unit-tests exited with status $rc"; failed=$((failed + 1))
fi

files=""
if [ -n "${TESTS:-}" ]; then
    for t in $TESTS; do files="$files test/$t.bats"; done
else
    files=$(ls test/*.bats 2>/dev/null)
fi
for f in $files; do
    echo "== $f"
    bats --tap "$f" > "$log" 2>&1
    rc=$?
    cat "$log"
    count
    if [ $rc -ne 0 ] && ! grep -q '^not ok ' "$log"; then
        echo "not ok - $f exited with status $rc"; failed=$((failed + 1))
    fi
done

if [ "${SAN:-0}" != 1 ] && [ -z "${TESTS:-}" ] && command -v clang >/dev/null 2>&1 && ls test/fuzz/fuzz_*.c >/dev/null 2>&1; then
    echo "== fuzz (bounded)"
    if make -s fuzz >"$log" 2>&1; then
        for t in build/fuzz/fuzz_*; do
            name=$(basename "$t")
            corpus=test/fuzz/corpus/${name#fuzz_}
            work=$(mktemp -d "${TMPDIR:-/tmp}/talcore-fuzz.XXXXXX")
            if [ -d "$corpus" ]; then cp "$corpus"/* "$work"/ 2>/dev/null; fi
            # a fixed seed and number of runs: the same inputs on every
            # machine and under any load, so a failure reproduces
            # (about 5 s each here: the in-memory targets run far faster than
            # those that go through a file)
            case $name in
            fuzz_npy) runs=500000 ;;
            fuzz_npz) runs=200000 ;;
            fuzz_stream) runs=100000 ;;
            *) runs=20000 ;;
            esac
            [ -n "${FUZZ_RUNS:-}" ] && runs=$FUZZ_RUNS
            if "$t" -seed=1 -runs="$runs" -rss_limit_mb=1024 -timeout=30 \
                    -artifact_prefix="$work/" "$work" >"$log" 2>&1; then
                echo "ok - $name ran $(grep -o 'Done [0-9]* runs' "$log" | head -1)"; passed=$((passed + 1))
            else
                tail -30 "$log"
                echo "not ok - $name found a crash (inputs in $work)"; failed=$((failed + 1))
                continue
            fi
            rm -rf "$work"
        done
    else
        cat "$log"
        echo "not ok - fuzz targets do not build"; failed=$((failed + 1))
    fi
fi

# skipped tests (e.g. the GPU tests on a machine without one) are named
# above and counted here, so that the closing line keeps its one form
if [ "$skipped" -gt 0 ]; then echo "($skipped skipped: see the '# skip' lines above)"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
