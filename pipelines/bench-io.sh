#!/bin/sh
# bench-io.sh — packing and reading throughput of the stream (`make bench-io`).
#
# Reproduces: THUMOS14-sized features — 413 sequences of about 1500 x 2048
# float32 .npy (5.1 GB), generated here with a fixed seed — packed by
# featpack (stored, and deflated at zlib levels 1 and 6), timed beside
# `cat` of the same .npy bytes, both into /dev/null (the tool's own cost:
# the headline) and into a file (where the page cache's write cost, the
# same for both, dominates), then read back and verified by
# `talcat --check` (every frame checked, every feature decoded).  All
# inputs are read once before timing so that every run reads from the page
# cache; the peak resident memory of each tool is reported too.
#
# Cost: about 10 GB of disk under $BENCH_DIR (default .bench/io) and 3-6
# minutes on 2 cores (level 6 is the slow part).  Smaller:
#   BENCH_IO_N=50 make bench-io
# Ends with one line:
#   io: pack <x> MB/s (cat <y> MB/s), read <z> MB/s
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
N=${BENCH_IO_N:-413}
T=${BENCH_IO_T:-1500}
D=${BENCH_IO_D:-2048}
dir=${BENCH_DIR:-$top/.bench/io}
talgen=${TALGEN:-$top/build/rel/test/talgen}
case $talgen in /*) ;; *) talgen=$top/$talgen ;; esac
PATH=$top/bin:$PATH
export LC_ALL=C

mkdir -p "$dir/feats"
stamp="$dir/feats/.done-$N-$T-$D"
if [ ! -f "$stamp" ]; then
    echo "bench-io: generating $N sequences of about ${T} x ${D} float32 in $dir/feats" >&2
    rm -f "$dir"/feats/*.npy "$dir"/feats/.done-*
    "$talgen" npy-random "$dir/feats" "$N" "$T" "$D" 20261122
    touch "$stamp"
fi
bytes=$(cat "$dir"/feats/*.npy | wc -c)
mb=$(echo "$bytes / 1000000" | bc -l)

# seconds and peak RSS (kB) of a command, best of $reps runs
measure() {
    reps=$1; shift
    best=""
    rss=0
    i=0
    while [ $i -lt "$reps" ]; do
        /usr/bin/time -f '%e %M' -o "$dir/time.txt" "$@" > /dev/null
        t=$(cut -d' ' -f1 "$dir/time.txt")
        m=$(cut -d' ' -f2 "$dir/time.txt")
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
        [ "$m" -gt "$rss" ] && rss=$m
        i=$((i + 1))
    done
    echo "$best $rss"
}
rate() { echo "$mb / $1" | bc -l | xargs printf '%.0f'; }

# warm the page cache, then time cat
cat "$dir"/feats/*.npy > /dev/null
set -- $(measure 3 sh -c "cat '$dir'/feats/*.npy")
cat_t=$1
cat_rate=$(rate "$cat_t")

set -- $(measure 3 sh -c "cat '$dir'/feats/*.npy > '$dir/cat.out'")
catf_t=$1
rm -f "$dir/cat.out"

printf '%-34s %10s %10s %12s %12s\n' "step" "seconds" "MB/s" "peak RSS MB" "output MB"
printf '%-34s %10.2f %10s %12s %12s\n' "cat .npy > /dev/null" "$cat_t" "$cat_rate" "-" "-"
printf '%-34s %10.2f %10s %12s %12s\n' "cat .npy > file" "$catf_t" "$(rate "$catf_t")" "-" "-"
set -- $(measure 3 featpack -q -F "$dir/feats" --fps 30 --stride 4 --clip 16 -o /dev/null)
printf '%-34s %10.2f %10s %12.0f %12s\n' "featpack -l 0 -o /dev/null" "$1" "$(rate "$1")" "$(echo "$2 / 1024" | bc -l)" "-"
pack_rate=$(rate "$1")

read_rate=""
for level in 0 1 6; do
    out="$dir/packed-l$level.tal"
    reps=3
    [ "$level" -ne 0 ] && reps=1
    set -- $(measure $reps featpack -q -F "$dir/feats" --fps 30 --stride 4 --clip 16 -l "$level" -o "$out")
    t=$1 rss=$2
    size=$(stat -c %s "$out")
    printf '%-34s %10.2f %10s %12.0f %12.0f\n' "featpack -l $level -o file" "$t" "$(rate "$t")" \
        "$(echo "$rss / 1024" | bc -l)" "$(echo "$size / 1000000" | bc -l)"
    cat "$out" > /dev/null
    set -- $(measure $reps talcat -q --check "$out")
    t=$1 rss=$2
    printf '%-34s %10.2f %10s %12.0f %12s\n' "talcat --check (level $level)" "$t" "$(rate "$t")" \
        "$(echo "$rss / 1024" | bc -l)" "-"
    [ "$level" -eq 0 ] && read_rate=$(rate "$t")
    [ "$level" -ne 0 ] && rm -f "$out"
done
echo "(MB/s counts the .npy bytes: $(printf '%.0f' "$mb") MB in $N files; machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
echo "io: pack $pack_rate MB/s (cat $cat_rate MB/s), read $read_rate MB/s"
