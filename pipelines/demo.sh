#!/bin/sh
# demo.sh — `make demo`: the longest pipeline that works today, on data that
# ships with the repository.  Writes under data/build/demo/.
#
# Today: pack THUMOS14's validation annotations (ActionFormer's JSON), split
# them 10 % labelled / 90 % unlabelled with a fixed seed, convert the
# labelled part to point supervision too, and print the statistics.
# Cost: a second.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
PATH=$top/bin:$PATH
out=$top/data/build/demo
mkdir -p "$out"
cd "$out"

say() { printf '\n== %s\n' "$*"; }

say "featpack: THUMOS14 validation annotations -> val.tal"
featpack -a "$top/data/thumos14/gt_full.json" --subset validation -o val.tal
talcat --stats val.tal | head -7

say "labelsplit: 10 % labelled (seed 7) -> lab.tal, unlab.tal, oracle.tal"
labelsplit --labelled-fraction 0.1 --stratify --seed 7 -o lab.tal -u unlab.tal --oracle oracle.tal -v val.tal
talcat --stats lab.tal | head -3
talcat --stats unlab.tal | head -3

say "labelsplit: the same videos with one point per instance -> points.tal"
labelsplit --labelled-fraction 0.1 --stratify --seed 7 --supervision point --points gaussian:0.05 -o points.tal val.tal
talcat --jsonl --head 1 points.tal | cut -c1-300

say "done: streams are in $out"
