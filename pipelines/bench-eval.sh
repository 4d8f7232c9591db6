#!/bin/sh
# bench-eval.sh — tal-map beside the official ActivityNet evaluation, and
# softnms on THUMOS-scale candidates (`make bench-eval PEER=<path>`).
#
# Reproduces: the ActivityNet v1.3 validation set (the 4,728 videos and
# 7,293 instances of BSN's anet_anno_action.json with video_info_new.csv,
# 200 classes) with 100 detections per video made by test/util/detgen
# from a fixed seed (472,800 detections; a third near instances, scores
# rounded to 6 decimals so that ties occur as in real files), evaluated
# at the ten ActivityNet thresholds 0.5:0.05:0.95 by tal-map and by the
# peer, both reading the same two JSON files (ground truth as talcat
# --anet-json writes it, detections as talcat --results-json writes it),
# both pinned to one core.  Then softnms --preset thumos (Gaussian, per
# class, 200 kept) on 213 sequences x 12,000 candidates over 20 classes.
#
# The peer is ActionFormer's libs/utils/metrics.py (happyharrycn/
# actionformer_release), the Python 3 port of activitynet/ActivityNet's
# Evaluation/eval_detection.py (which is Python 2 and does not run under
# Python 3); it is not part of talcore: give the path of a checkout.  It
# runs under Debian's python3 with python3-numpy, python3-pandas and
# python3-joblib (build-aux/deps.sh bench installs them).
#
#   pipelines/bench-eval.sh PEER
#
# Environment: ANET_DIR (folder with anet_anno_action.json,
# video_info_new.csv, action_name.csv; default data/activitynet, else
# ../shared/data/activitynet/bsn), BENCH_DIR (.bench/eval), PYTHON
# (/usr/bin/python3), CPU (the core to pin to, 0), REPS (tal-map and
# softnms runs, best taken, 3).
# Cost: about 4 minutes, nearly all of it the peer; 200 MB of disk.
# Ends with one line:
#   tal-map vs <peer>: <ratio>x faster, max |ΔmAP| <d>
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
peer=${1:-}
if [ -z "$peer" ] || [ ! -e "$peer" ]; then
    echo "usage: pipelines/bench-eval.sh PEER   (a checkout of happyharrycn/actionformer_release)" >&2
    echo "       make bench-eval PEER=/path/to/actionformer_release" >&2
    exit 2
fi
case $peer in /*) ;; *) peer=$(pwd)/$peer ;; esac
dir=${BENCH_DIR:-$top/.bench/eval}
python=${PYTHON:-/usr/bin/python3}
cpu=${CPU:-0}
reps=${REPS:-3}
build=${BUILD:-build/rel}
case $build in /*) ;; *) build=$top/$build ;; esac
detgen=$build/test/detgen
if [ -z "${ANET_DIR:-}" ]; then
    ANET_DIR=$top/data/activitynet
    [ -f "$ANET_DIR/anet_anno_action.json" ] || ANET_DIR=$top/../shared/data/activitynet/bsn
fi
PATH=$top/bin:$PATH
export LC_ALL=C OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
for f in anet_anno_action.json video_info_new.csv action_name.csv; do
    [ -f "$ANET_DIR/$f" ] || { echo "bench-eval: no $ANET_DIR/$f (set ANET_DIR)" >&2; exit 1; }
done
"$python" -c 'import numpy, pandas, joblib' 2>/dev/null || {
    echo "bench-eval: $python lacks numpy, pandas or joblib: sh build-aux/deps.sh bench" >&2; exit 1; }
mkdir -p "$dir"
seed=20261122

# ---- inputs (made once) ----
if [ ! -f "$dir/.done-$seed" ]; then
    echo "bench-eval: making the inputs in $dir" >&2
    featpack -q -a "$ANET_DIR/anet_anno_action.json" --video-info "$ANET_DIR/video_info_new.csv" \
        -c "$ANET_DIR/action_name.csv" -s validation -o "$dir/gt.tal"
    "$detgen" dets "$dir/gt.tal" 100 $seed "$dir/dets.tal"
    talcat -q --anet-json "$dir/gt.tal" > "$dir/gt.json"
    talcat -q --results-json "$dir/dets.tal" > "$dir/results.json"
    "$detgen" candidates 213 12000 20 $seed "$dir/cand.tal"
    touch "$dir/.done-$seed"
fi
nvid=$(jq '.database | length' "$dir/gt.json")
ninst=$(jq '[.database[].annotations | length] | add' "$dir/gt.json")
ndet=$(talcat -q --stats "$dir/dets.tal" | awk '/^detections/ {print $2}')
# detections whose score another detection of the same class shares: where
# the order of equal scores decides, as numpy's argsort decides it
nties=$(jq -r '.results[][] | "\(.label)\t\(.score)"' "$dir/results.json" | sort | uniq -dc | awk '{s += $1} END {print s + 0}')

# best wall time of $reps runs (seconds), user+sys of that run
best() {
    n=$1; shift
    b="" bu=""
    i=0
    while [ $i -lt "$n" ]; do
        /usr/bin/time -f '%e %U %S' -o "$dir/time.txt" taskset -c "$cpu" "$@" > /dev/null
        t=$(cut -d' ' -f1 "$dir/time.txt")
        u=$(awk '{print $2 + $3}' "$dir/time.txt")
        if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t bu=$u; fi
        i=$((i + 1))
    done
    echo "$b $bu"
}

cat "$dir"/*.json "$dir"/*.tal > /dev/null   # into the page cache
machine="$(getconf _NPROCESSORS_ONLN) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "machine: $machine; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "input: $nvid videos, $ninst instances, $ndet detections ($nties share their score with another of their class); tIoU 0.5:0.05:0.95; pinned to core $cpu"

# ---- tal-map ----
taskset -c "$cpu" tal-map -q --gt "$dir/gt.json" --subset validation --anet --json "$dir/results.json" > "$dir/talmap.json"
set -- $(best "$reps" tal-map -q --gt "$dir/gt.json" --subset validation --anet --json "$dir/results.json")
tm_wall=$1 tm_cpu=$2
set -- $(best "$reps" tal-map -q --gt "$dir/gt.tal" --anet --json "$dir/dets.tal")
tm_stream=$1

# ---- the peer ----
name="ActionFormer libs/utils/metrics.py"
if [ -d "$peer/.git" ] || git -C "$peer" rev-parse >/dev/null 2>&1; then
    rev=$(git -C "$peer" rev-parse --short HEAD 2>/dev/null || true)
    [ -n "$rev" ] && name="$name@$rev"
fi
echo "running the peer ($name); this takes minutes" >&2
/usr/bin/time -f '%e %U %S' -o "$dir/time.txt" taskset -c "$cpu" \
    "$python" "$top/pipelines/bench/anet_peer.py" "$peer" "$dir/gt.json" "$dir/results.json" "$dir/peer.json" \
    > "$dir/peer.log" 2>&1 || { cat "$dir/peer.log" >&2; echo "bench-eval: the peer failed" >&2; exit 1; }
peer_wall=$(cut -d' ' -f1 "$dir/time.txt")
peer_cpu=$(awk '{print $2 + $3}' "$dir/time.txt")
peer_eval=$(jq .seconds_evaluate "$dir/peer.json")

# ---- agreement ----
dmap=$(jq -n --slurpfile a "$dir/talmap.json" --slurpfile b "$dir/peer.json" \
    '[range($a[0].mAP | length) as $i | ($a[0].mAP[$i] - $b[0].mAP[$i]) | fabs] | max')
dap=$(jq -n --slurpfile a "$dir/talmap.json" --slurpfile b "$dir/peer.json" \
    '[$a[0].per_class[] | . as $c | range(.ap | length) as $i | (.ap[$i] - $b[0].per_class[($c.class | tostring)][$i]) | fabs] | max')
davg=$(jq -n --slurpfile a "$dir/talmap.json" --slurpfile b "$dir/peer.json" '($a[0].average - $b[0].average) | fabs')

# ---- softnms ----
ncand=$(talcat -q --stats "$dir/cand.tal" | awk '/^detections/ {print $2}')
set -- $(best "$reps" softnms -q --preset thumos -o /dev/null "$dir/cand.tal")
sn_wall=$1 sn_cpu=$2
set -- $(best "$reps" softnms -q -m hard -t 0.5 -o /dev/null "$dir/cand.tal")
sn_hard=$1

printf '\n%-58s %9s %9s\n' "step (one core)" "wall s" "cpu s"
printf '%-58s %9.2f %9.2f\n' "tal-map, JSON in (gt.json + results.json)" "$tm_wall" "$tm_cpu"
printf '%-58s %9.2f %9s\n' "tal-map, streams in (gt.tal + dets.tal)" "$tm_stream" "-"
printf '%-58s %9.2f %9.2f\n' "peer, whole run (import, load JSON, evaluate)" "$peer_wall" "$peer_cpu"
printf '%-58s %9.2f %9s\n' "peer, evaluate() alone" "$peer_eval" "-"
printf '%-58s %9.2f %9.2f\n' "softnms --preset thumos, 213 x 12000, 20 classes" "$sn_wall" "$sn_cpu"
printf '%-58s %9.2f %9s\n' "softnms -m hard -t 0.5, same input" "$sn_hard" "-"
echo
echo "mAP (tal-map): $(jq -c '[.mAP[] * 1e6 | round / 1e6]' "$dir/talmap.json"), average $(jq '.average' "$dir/talmap.json")"
echo "mAP (peer):    $(jq -c '[.mAP[] * 1e6 | round / 1e6]' "$dir/peer.json"), average $(jq '.average' "$dir/peer.json")"
echo "max |ΔAP| over 200 classes x 10 thresholds: $dap; |Δ average mAP|: $davg"
echo "softnms: $ncand candidates in $sn_wall s"
ratio=$(echo "$peer_wall / $tm_wall" | bc -l | xargs printf '%.0f')
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tal-map vs $name: ${ratio}x faster, max |ΔmAP| $dmap"
