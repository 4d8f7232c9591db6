#!/bin/sh
# bench-train.sh — training and detection of the ActionFormer-style detector,
# talcore beside PyTorch (make bench-train).
#
# talcore: tal-train and tal-detect.  PyTorch: pipelines/bench/train_torch.py,
# the same model, losses, optimiser, schedule and post-processing written
# for this benchmark on Debian's python3-torch (run by /usr/bin/python3).
# Both sides read the same streams and the same resolved config, start from
# the same weights (talcore's initial parameters, read from a checkpoint
# made by one step at learning rate 0 on two sequences), and draw the same
# batch order, crops and drop-path masks (the PyTorch side reimplements
# talcore's random streams), so every step trains on the same padded batch.
# Detection runs talcore's trained checkpoint (its EMA weights) on both
# sides; the two sets of detections are compared.
#
# Rows (SIZES):
#   small   talsynth's default preset (128-d, 16-frame clips every 16 frames)
#           on THUMOS14's validation layout (200 sequences) for training and
#           its test layout (212) for detection; pipelines/configs/actionformer-synth.yaml
#           (128 channels, max_seq_len 2304); one epoch = 100 steps of 2 sequences.
#   thumos  talsynth --preset thumos (2048-d, every 4 frames at 30 fps: the
#           size of ActionFormer's THUMOS14 I3D features), the same layouts;
#           pipelines/configs/actionformer-thumos.yaml (512 channels, window
#           19, max_seq_len 2304, batch 2).  THUMOS_HEAD=N trains on the first N
#           sequences only (an "epoch" of N/2 steps) when a full epoch is too long.
# Each is measured at each thread count in THREADS (default "2"; "2 1" adds
# the single-thread table), both sides with that many threads
# (OMP_NUM_THREADS, tal-* --threads, torch.set_num_threads), REPEATS times
# (default 3 for small, 1 for thumos), reporting the median.
#
# Times: training is the first epoch's time as each side measures it (the
# loop alone: loading the stream and the model come before it, saving the
# checkpoint after); detection is the whole pass over the test stream
# (reading it one sequence at a time, the network, decoding, Soft-NMS,
# writing the detections): tal-detect's wall time as a process, the Python
# side's from before it opens the checkpoint (Python and torch imports
# excluded).  Peak RSS is each process's (/usr/bin/time), the training
# stream in memory included on both sides (as float32).
#
# Cost: data 2.8 GB under .bench/train (made once, f16 on disk); about
# 5 minutes for the small rows and 25-40 minutes for the THUMOS row at
# 2 threads on 2 cores.  Run it on a quiet machine: the load average is
# printed before and after each measurement.
#
# Ends with one line:
#     train: talcore/pytorch epoch time <r>x, detect time <d>x
# the geometric means over the rows at the first thread count in THREADS
# (below 1: talcore is faster).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

sh build-aux/deps.sh torch || exit 1
[ -x /usr/bin/time ] || { echo "bench-train: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
PY=/usr/bin/python3
TWIN=pipelines/bench/train_torch.py
for t in tal-train tal-detect talsynth featpack talcat; do
    [ -x bin/$t ] || { echo "bench-train: bin/$t is missing: run make" >&2; exit 1; }
done

SIZES=${SIZES:-"small thumos"}
THREADS=${THREADS:-2}
DIR=${BENCH_DIR:-.bench/train}
OUT=${OUT:-$DIR/results.txt}
mkdir -p "$DIR"
: > "$OUT"
export LC_ALL=C

load() { cut -d' ' -f1-3 /proc/loadavg; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---- data (deterministic; made once) ----------------------------------------
gen() {  # size subset file
    [ -s "$3" ] && return 0
    preset=default; dtype=f32
    [ "$1" = thumos ] && { preset=default,thumos; dtype=f16; }
    echo "bench-train: making $3 (talsynth -p $preset, THUMOS14 $2 layout)" >&2
    bin/featpack -q -a data/thumos14/gt_full.json -s "$2" -o - |
        bin/talsynth -q -p "$preset" --dtype "$dtype" -o "$3" || exit 1
}

cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
echo "bench-train: $(nproc) cores ($cpu), $(free -g | awk '/Mem:/ { print $2 }') GiB; load average $(load)"
echo "bench-train: torch $($PY -c 'import torch; print(torch.__version__)'), $(date -u +%Y-%m-%dT%H:%MZ)"

for size in $SIZES; do
    case $size in
    small) cfg=pipelines/configs/actionformer-synth.yaml; reps=${REPEATS:-3} ;;
    thumos) cfg=pipelines/configs/actionformer-thumos.yaml; reps=${REPEATS:-1} ;;
    *) echo "bench-train: unknown size '$size' (small, thumos)" >&2; exit 1 ;;
    esac
    train=$DIR/$size-train.tal
    test=$DIR/$size-test.tal
    gen "$size" validation "$train"
    gen "$size" test "$test"
    if [ "$size" = thumos ] && [ -n "${THUMOS_HEAD:-}" ]; then
        bin/talcat -q -n "$THUMOS_HEAD" "$train" -o "$DIR/thumos-head.tal" || exit 1
        train=$DIR/thumos-head.tal
    fi
    # the config both sides read; a checkpoint after the first epoch
    set -- -c "$cfg" -s train.checkpoint_every=1
    bin/tal-train "$@" --print-config > "$DIR/$size.cfg" || exit 1
    # talcore's initial weights: one step at learning rate 0 on two sequences
    if [ ! -s "$DIR/$size-init.ckpt" ] || ! cmp -s "$DIR/$size.cfg" "$DIR/$size-init.cfg"; then
        bin/talcat -q -n 2 "$train" -o "$DIR/$size-two.tal" &&
            bin/tal-train -q "$@" -s train.lr=0 -s train.warmup_epochs=0 -s train.epochs=1 \
                "$DIR/$size-two.tal" -o "$DIR/$size-init.ckpt" &&
            cp "$DIR/$size.cfg" "$DIR/$size-init.cfg" || exit 1
    fi
    ntrain=$(bin/talcat -S "$train" | awk 'NR == 1 { print $1 }')
    steps=$((ntrain / 2))
    for th in $THREADS; do
        export OMP_NUM_THREADS=$th
        r=0
        : > "$DIR/$size-$th.runs"
        while [ $r -lt "$reps" ]; do
            tag=$DIR/$size-$th
            l0=$(load)
            # talcore: one epoch, then the checkpoint both sides detect with
            /usr/bin/time -f '%e %M' -o "$tag.time" bin/tal-train -q "$@" --threads "$th" --stop-after-epochs 1 \
                --metrics "$tag-talcore.jsonl" --log-every 1 "$train" -o "$tag.ckpt" || exit 1
            ct=$(grep '"kind":"epoch"' "$tag-talcore.jsonl" | sed 's/.*"time":\([0-9.e+-]*\).*/\1/')
            cm=$(cut -d' ' -f2 "$tag.time")
            l1=$(load)
            # PyTorch: the same epoch
            /usr/bin/time -f '%e %M' -o "$tag.time" $PY $TWIN train "$train" --config "$DIR/$size.cfg" \
                --init "$DIR/$size-init.ckpt" --threads "$th" --log-every 1 > "$tag-torch.jsonl" || exit 1
            pt=$(grep '"kind": "epoch"' "$tag-torch.jsonl" | sed 's/.*"time": \([0-9.e+-]*\).*/\1/')
            pm=$(cut -d' ' -f2 "$tag.time")
            l2=$(load)
            # detection with talcore's checkpoint, both sides
            /usr/bin/time -f '%e %M' -o "$tag.time" bin/tal-detect -q --threads "$th" "$tag.ckpt" "$test" \
                -o "$tag-dets.tal" || exit 1
            cd_=$(cut -d' ' -f1 "$tag.time")
            cdm=$(cut -d' ' -f2 "$tag.time")
            l3=$(load)
            /usr/bin/time -f '%e %M' -o "$tag.time" $PY $TWIN detect "$test" --config "$DIR/$size.cfg" \
                --model "$tag.ckpt" --threads "$th" -o "$tag-dets.jsonl" > "$tag-detect.json" || exit 1
            pd=$(sed 's/.*"time": \([0-9.e+-]*\),.*/\1/' "$tag-detect.json")
            pdm=$(cut -d' ' -f2 "$tag.time")
            l4=$(load)
            echo "$ct $pt $cm $pm $cd_ $pd $cdm $pdm $l0 / $l1 / $l2 / $l3 / $l4" >> "$DIR/$size-$th.runs"
            echo "bench-train: $size, $th threads, run $((r + 1))/$reps: epoch $ct s vs $pt s, detect $cd_ s vs $pd s;" \
                "load $(echo "$l0" | cut -d' ' -f1) $(echo "$l1" | cut -d' ' -f1) $(echo "$l2" | cut -d' ' -f1)" \
                "$(echo "$l3" | cut -d' ' -f1) $(echo "$l4" | cut -d' ' -f1)" >&2
            r=$((r + 1))
        done
        # the last run's losses and detections side by side
        $PY $TWIN compare --talcore "$tag-talcore.jsonl" --torch "$tag-torch.jsonl" \
            --dets "$tag-dets.tal" --torch-dets "$tag-dets.jsonl" | sed "s/^/bench-train: $size, $th threads: /"
        col() { cut -d' ' -f"$1" "$DIR/$size-$th.runs" | median; }
        echo "$size $th $steps $(col 1) $(col 2) $(col 3) $(col 4) $(col 5) $(col 6) $(col 7) $(col 8) $reps" >> "$OUT"
    done
done

echo "bench-train: load average $(load)"
for th in $THREADS; do
    echo
    echo "$th thread(s) each side; median of the runs; seconds, MiB of peak RSS"
    printf '%-7s %5s %10s %10s %6s %9s %9s %10s %10s %6s %9s %9s\n' size steps talc_epoch torch_epoch ratio \
        talc_MiB torch_MiB talc_det torch_det ratio talc_MiB torch_MiB
    awk -v th="$th" '$2 == th { printf "%-7s %5d %10.2f %10.2f %5.2fx %9.0f %9.0f %10.2f %10.2f %5.2fx %9.0f %9.0f\n",
        $1, $3, $4, $5, $4 / $5, $6 / 1024, $7 / 1024, $8, $9, $8 / $9, $10 / 1024, $11 / 1024 }' "$OUT"
done
echo
first=$(echo $THREADS | cut -d' ' -f1)
awk -v th="$first" '$2 == th { e += log($4 / $5); d += log($8 / $9); n++ }
    END { if (n) printf "train: talcore/pytorch epoch time %.2fx, detect time %.2fx\n", exp(e / n), exp(d / n) }' "$OUT"
