#!/bin/sh
# demo.sh — what `make demo` runs: the benchmarks that ship, end to end,
# from the files in data/ (no network).  Cost: 5.1 minutes of CPU time,
# 5.3 of wall time on 2 quiet cores with products through oneDNN
# (2026-12-06; nearly all of it training), and 90 MB under data/build/.
#
#   1. THUMOS14 ground truth (data/thumos14/gt_full.json): packed, the
#      training (validation) videos split 10 % labelled, fully and with
#      one point per instance.
#   2. UCI HAPT: real smartphone recordings through pipelines/hapt.mk
#      (window statistics, volunteer split), 10 % of the training
#      recordings labelled; how separable its features are.
#   3. Synthetic THUMOS14: talsynth features on the THUMOS14 layout,
#      10 % labelled, and the talsynth report of how hard they are.
#   4. Supervised detectors trained and evaluated on both benchmarks: the
#      ActionFormer-style detector and the linear per-snippet baseline,
#      mAP at tIoU 0.3:0.1:0.7 on the test sets (the synthetic detector
#      trains 12 + 2 epochs here, not its config's 30 + 5, to stay quick;
#      make results-supervised runs the full schedules).
#   5. One self-training round on HAPT with 10 % of the recordings
#      labelled: the supervised model's pseudo labels for the rest, their
#      quality against the truth, and a second stage learning from
#      non-target classes (pipelines/configs/nontarget.yaml), its mAP next
#      to the supervised one's.
#   6. One test video's timeline (ground truth and detections) by talplot.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BIN=${BIN:-bin}
out=data/build/demo
mkdir -p "$out"
export PATH="$top/$BIN:$PATH"

step() { printf '\n== %s\n' "$*"; }
summary() { talcat --stats "$1" | sed -n '1,6p'; }

step "THUMOS14 ground truth, 10 % of the training videos labelled"
featpack -q -a data/thumos14/gt_full.json -o "$out/th14.tal"
talcat -q --role train "$out/th14.tal" -o "$out/th14-train.tal"
talcat -q --role test "$out/th14.tal" -o "$out/th14-test.tal"
labelsplit -q -r 0.1 --stratify --seed 0 -o "$out/th14-labelled.tal" -u "$out/th14-unlabelled.tal" "$out/th14-train.tal"
echo "-- labelled";   summary "$out/th14-labelled.tal"
echo "-- unlabelled"; talcat --stats "$out/th14-unlabelled.tal" | sed -n '1,3p'
echo "-- test";       talcat --stats "$out/th14-test.tal" | sed -n '1p'
echo "-- the same labelled videos with one point per instance (first record)"
labelsplit -q -r 0.1 --stratify --seed 0 --supervision point --points gaussian:0.05 -o "$out/th14-points.tal" \
    "$out/th14-train.tal"
talcat --jsonl --head 1 "$out/th14-points.tal" | cut -c1-300

step "UCI HAPT (pipelines/hapt.mk), 10 % of the training recordings labelled"
make -s --no-print-directory -f pipelines/hapt.mk BIN="$BIN" >/dev/null
echo "-- data/build/hapt-train.tal"; talcat --stats data/build/hapt-train.tal
echo "-- data/build/hapt-test.tal";  talcat --stats data/build/hapt-test.tal | sed -n '1,6p'
labelsplit -q -r 0.1 --stratify --seed 0 -o "$out/hapt-labelled.tal" -u "$out/hapt-unlabelled.tal" \
    --oracle "$out/hapt-oracle.tal" data/build/hapt-train.tal
echo "-- labelled";   summary "$out/hapt-labelled.tal"
echo "-- how separable the real features are (talsynth --measure)"
cat data/build/hapt-train.tal data/build/hapt-test.tal | talsynth --measure - | sed -n '3,7p'

step "synthetic THUMOS14 (talsynth, default preset, stored as f16), 10 % labelled"
# a sequence's features do not depend on the others: generate each role apart
talsynth -q --dtype f16 "$out/th14-train.tal" -o "$out/synth-train.tal"
talsynth -q --dtype f16 "$out/th14-test.tal" -o "$out/synth-test.tal"
labelsplit -q -r 0.1 --stratify --seed 0 -o "$out/synth-labelled.tal" -u "$out/synth-unlabelled.tal" \
    "$out/synth-train.tal"
echo "-- labelled";   summary "$out/synth-labelled.tal"
echo "-- unlabelled"; talcat --stats "$out/synth-unlabelled.tal" | sed -n '1,3p'
echo "-- test";       talcat --stats "$out/synth-test.tal" | sed -n '1p;6p'
echo "-- how hard (talsynth --report)"
talsynth -q --report "$out/th14.tal" | sed -n '3,13p'

THREADS=${THREADS:-1}
# train MODEL-CONFIG TRAIN TEST NAME [overrides...]: train, detect, print the mAP table
train_eval() {
    cfg=$1 train=$2 test=$3 name=$4
    shift 4
    start=$(date +%s)
    tal-train -q --threads "$THREADS" -c "pipelines/configs/$cfg.yaml" -s train.checkpoint_every=0 "$@" \
        "$train" -o "$out/$name.ckpt"
    tal-detect -q --threads "$THREADS" "$out/$name.ckpt" "$test" -o "$out/$name-dets.tal"
    echo "-- $cfg: trained in $(( $(date +%s) - start )) s; mAP (%) on the test set"
    tal-map --gt "$test" --thumos "$out/$name-dets.tal" | sed -n '5,11p'
}

step "supervised detectors on UCI HAPT (21 training volunteers, 9 test volunteers)"
train_eval linear-hapt data/build/hapt-train.tal data/build/hapt-test.tal hapt-linear
train_eval actionformer-hapt data/build/hapt-train.tal data/build/hapt-test.tal hapt-af

step "supervised detectors on synthetic THUMOS14 (200 training videos, 212 test videos)"
train_eval linear-synth "$out/synth-train.tal" "$out/synth-test.tal" synth-linear
train_eval actionformer-synth "$out/synth-train.tal" "$out/synth-test.tal" synth-af \
    -s train.epochs=12 -s train.warmup_epochs=2

step "self-training on UCI HAPT: 4 labelled recordings, pseudo labels for the other 38"
# stage 1: the labelled part alone (350 epochs of 2 steps, about the 735
# steps of the full set's schedule); stage 2: labelled and pseudo-labelled
# sequences, learning from non-target classes
train_eval actionformer-hapt "$out/hapt-labelled.tal" data/build/hapt-test.tal hapt-m0 \
    -s train.epochs=300 -s train.warmup_epochs=50
tal-detect -q --threads "$THREADS" --dist "$out/hapt-m0.ckpt" "$out/hapt-unlabelled.tal" |
    pseudolabel -q --snippets --instances --select fixed:0.3 --diagnose "$out/hapt-oracle.tal" -o "$out/hapt-pseudo.tal"
train_eval actionformer-hapt "$out/hapt-labelled.tal" data/build/hapt-test.tal hapt-m1 \
    -c pipelines/configs/nontarget.yaml --init "$out/hapt-m0.ckpt" --unlabelled "$out/hapt-pseudo.tal"
for m in m0 m1; do
    printf '%s average mAP (%%) at tIoU 0.3:0.1:0.7: %s\n' \
        "$([ $m = m0 ] && echo "supervised on 4 recordings      " || echo "+ self-training, non-target classes")" \
        "$(tal-map --json --gt data/build/hapt-test.tal --thumos "$out/hapt-$m-dets.tal" | jq '.average * 10000 | round / 100')"
done

step "a timeline: one synthetic test video, ground truth and detections"
id=$(talcat -j --head 1 "$out/synth-test.tal" | sed 's/^{"id":"\([^"]*\)".*/\1/')
talplot --gt "$out/synth-test.tal" -i "$id" -n 30 -o "$out/timeline.svg" "$out/synth-af-dets.tal"
echo "wrote $out/timeline.svg"
if command -v rsvg-convert >/dev/null 2>&1; then
    rsvg-convert "$out/timeline.svg" -o "$out/timeline.png" && echo "wrote $out/timeline.png"
fi
