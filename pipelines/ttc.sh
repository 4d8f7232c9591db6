#!/bin/sh
# ttc.sh — `make results-ttc`: TTC-Loc (weak and semi-weak supervision with
# predicted thresholds) measured, with the paper's baselines and the
# supervised ActionFormer-style detector on the same splits.
#
# Reproduces pipelines/RESULTS-ttc.md:
#   - synthetic THUMOS14 (talsynth default preset on THUMOS14's 200
#     validation / 212 test layouts, its real video tags) and synthetic
#     ActivityNet (the same on 20 of ActivityNet v1.3's classes, every
#     tenth: their 969 training / 481 validation videos): Weak (tags only),
#     Semi(1), Semi(2), Semi(5) (labelsplit -k K: K sequences of each
#     class fully annotated, the rest tagged); mAP at tIoU 0.3:0.1:0.7
#     (THUMOS14) and 0.5:0.05:0.95 (ActivityNet);
#   - UCI HAPT (real): Semi(k) and Weak, where every recording holds all
#     twelve activities;
#   - beside them the ActionFormer-style detector trained on the fully
#     annotated sequences of each split only, and on all of them;
#   - on synthetic THUMOS14, the paper's Table 3 (train / test threshold
#     strategies) and Table 4 (loss terms, semi-supervised strategies,
#     gates, forms of L_reg), and where the gates are open (diagnostics);
#   - a talplot picture of one test video (class score, threshold, gate).
# Seeds 0 1 2: seed s is talsynth's seed (a new draw of the benchmark),
# the order labelsplit -k takes sequences in (s = 0: the input order, as
# the paper's "first k"; else --shuffle --seed s) and the training seed.
#
# Cost: see RESULTS-ttc.md (measured).  JOBS (default 2): the benchmark
# seeds run that many side by side; THREADS (default 1): threads per tool.
# QUICK=1 is a smoke run (seed 0, a twentieth of the epochs,
# Weak and Semi(1), a few variants; about 7 minutes) whose results go to
# data/build/ttc-quick/RESULTS-ttc.md.  Writes under data/build/ttc/.
# Parts already done are not redone: delete data/build/ttc/ to start over.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. pipelines/results-lib.sh
PATH=$top/bin:$PATH
export LC_ALL=C
threads=${THREADS:-1}
jobs=${JOBS:-2}
quick=${QUICK:-0}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
cfgdir=pipelines/configs
if [ "$quick" = 1 ]; then
    out=data/build/ttc-quick res=data/build/ttc-quick/RESULTS-ttc.md seeds=0 settings="weak semi1"
else
    out=data/build/ttc res=pipelines/RESULTS-ttc.md seeds="0 1 2" settings="weak semi1 semi2 semi5"
fi
# whether this run starts from nothing (the recipe's whole cost) or resumes
[ -d "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ] && start=resumed || start=fresh
mkdir -p "$out"
t_start=$(date +%s)

say() { printf '== %s\n' "$*" >&2; }
now() { date +%s.%N; }
count() { talcat --stats --json "$1" | jq .sequences; }
# a config value after -c files and -s overrides
cfgval() { key=$1; shift; tal-train "$@" --print-config | sed -n "s/^$key: //p"; }
# QUICK: a twentieth of the epochs (at least 2)
epochs_of() { e=$(cfgval train.epochs "$@"); [ "$quick" = 1 ] && e=$(( e / 20 > 2 ? e / 20 : 2 )); echo "$e"; }

# ---- data -------------------------------------------------------------------
make -s hapt >/dev/null
anet_classes=$out/anet-classes.txt anet_ids=$out/anet-ids.txt
if [ ! -f "$anet_ids" ]; then
    # every tenth class of ActivityNet v1.3, and the videos holding only those
    featpack -q -a data/activitynet/anet_anno_action.json -o - | talcat -H --json - |
        jq -r '.classes | to_entries[] | select(.key % 10 == 0) | .value.label' > "$anet_classes.part"
    jq -r --rawfile cl "$anet_classes.part" '($cl | split("\n") | map(select(length > 0))) as $c | to_entries[]
        | select((.value.annotations | length) > 0 and all(.value.annotations[]; .label as $l | $c | index($l) != null))
        | .key' data/activitynet/anet_anno_action.json > "$anet_ids.part"
    mv "$anet_classes.part" "$anet_classes"
    mv "$anet_ids.part" "$anet_ids"
fi

# streams of one benchmark and seed: train.tal, test.tal, weak.tal,
# semiK.tal (= fullK.tal + tagsK.tal)
prepare() {
    b=$1 s=$2 dir=$out/$1/s$2
    [ -f "$dir/ready" ] && return 0
    mkdir -p "$dir"
    case $b in
    th)
        featpack -q -a data/thumos14/gt_full.json -s validation -o - | talsynth -q --seed "$s" -o "$dir/train.tal"
        featpack -q -a data/thumos14/gt_full.json -s test -o - | talsynth -q --seed "$s" -o "$dir/test.tal" ;;
    an)
        for sub in training validation; do
            featpack -q -a data/activitynet/anet_anno_action.json --video-info data/activitynet/video_info_new.csv \
                -c "$anet_classes" --ignore-unknown-classes --ids "$anet_ids" -s $sub -o - |
                talsynth -q --seed "$s" -o "$dir/$([ $sub = training ] && echo train || echo test).tal"
        done ;;
    hapt)
        cp data/build/hapt-train.tal "$dir/train.tal"
        cp data/build/hapt-test.tal "$dir/test.tal" ;;
    esac
    labelsplit -q -r 1 --supervision video -o "$dir/weak.tal" "$dir/train.tal"
    for k in 1 2 5; do
        shuf=""
        [ "$s" != 0 ] && shuf="--shuffle --seed $s"
        # shellcheck disable=SC2086
        labelsplit -q -k $k $shuf -o "$dir/full$k.tal" -u "$dir/tags$k.tal" "$dir/train.tal"
        cat "$dir/full$k.tal" "$dir/tags$k.tal" > "$dir/semi$k.tal"
    done
    touch "$dir/ready"
}

tiou() { case $1 in an) echo --anet ;; *) echo --thumos ;; esac; }
ttc_cfg() { case $1 in th|th0) echo $cfgdir/ttc-loc-synth.yaml ;; an) echo $cfgdir/ttc-loc-synth-anet.yaml ;;
                       hapt) echo $cfgdir/ttc-loc-hapt.yaml ;; esac; }
af_cfg() { case $1 in th) echo $cfgdir/actionformer-synth.yaml ;; an) echo $cfgdir/actionformer-synth-anet.yaml ;;
                      hapt) echo $cfgdir/actionformer-hapt.yaml ;; esac; }

# evaluate a checkpoint on the test stream with each threshold rule:
# NAME.predicted.json, NAME.manual.json (tal-map), NAME.gates.json
evaluate() {
    dir=$1 name=$2 b=$3 gates=${4:-0}
    for th in predicted manual; do
        [ -f "$dir/$name.$th.json" ] && continue
        tal-detect -q --threads "$threads" -s test.ttc_threshold=$th $([ "$gates" = 1 ] && [ $th = predicted ] && echo --dist) \
            "$dir/$name.ckpt" "$dir/test.tal" -o "$dir/$name.$th.dets.tal"
        tal-map --json --gt "$dir/test.tal" $(tiou "$b") "$dir/$name.$th.dets.tal" > "$dir/$name.$th.json.part"
        mv "$dir/$name.$th.json.part" "$dir/$name.$th.json"
        if [ "$gates" = 1 ] && [ $th = predicted ]; then
            set -- $(talcat -H --json "$dir/test.tal" | jq -r '[.fps, .stride, .clip] | join(" ")')
            talcat -j --dist "$dir/$name.$th.dets.tal" |
                jq -n -c --argjson fps "$1" --argjson stride "$2" --argjson clip "$3" -f pipelines/ttc-gates.jq \
                > "$dir/$name.gates.json"
        fi
        rm -f "$dir/$name.$th.dets.tal"
    done
}

# train_gates BENCH SEED NAME STREAM: where NAME's gates are open on the
# training stream STREAM.tal (NAME.train-gates.json)
train_gates() {
    dir=$out/$1/s$2
    [ -f "$dir/$3.train-gates.json" ] && return 0
    tal-detect -q --threads "$threads" --dist "$dir/$3.ckpt" "$dir/$4.tal" -o "$dir/$3.train-dets.tal"
    set -- "$dir" "$3" $(talcat -H --json "$dir/$4.tal" | jq -r '[.fps, .stride, .clip] | join(" ")')
    talcat -j --dist "$1/$2.train-dets.tal" |
        jq -n -c --argjson fps "$3" --argjson stride "$4" --argjson clip "$5" -f pipelines/ttc-gates.jq > "$1/$2.train-gates.json"
    rm -f "$1/$2.train-dets.tal"
}

# ttc BENCH SEED STREAM NAME [tal-train arguments]: train TTC-Loc on
# STREAM.tal of the seed's folder; NAME.ckpt, NAME.time, NAME.*.json
ttc() {
    b=$1 s=$2 stream=$3 name=$4 dir=$out/$1/s$2
    shift 4
    if [ ! -f "$dir/$name.time" ]; then
        ep=$(epochs_of -c "$(ttc_cfg "$b")" "$@")
        say "ttc-loc $b seed $s: $name ($(count "$dir/$stream.tal") sequences, $ep epochs)"
        t0=$(now)
        tal-train -q --threads "$threads" -c "$(ttc_cfg "$b")" "$@" -s train.epochs="$ep" --seed "$s" \
            --metrics "$dir/$name.jsonl" "$dir/$stream.tal" -o "$dir/$name.ckpt"
        echo "$(now) - $t0" | bc -l > "$dir/$name.time"
    fi
    evaluate "$dir" "$name" "$b" "${GATES:-0}"
}

# af BENCH SEED STREAM NAME STEPS: the ActionFormer-style detector on
# STREAM.tal (its fully annotated records) for about STEPS steps (the
# config's schedule stretched or shrunk to them, warmup in proportion)
af() {
    b=$1 s=$2 stream=$3 name=$4 steps=$5 dir=$out/$1/s$2
    [ "$quick" = 1 ] && steps=$(( steps / 10 ))
    if [ ! -f "$dir/$name.time" ]; then
        cfg=$(af_cfg "$b")
        nlab=$(count "$dir/$stream.tal")
        bs=$(cfgval train.batch_size -c "$cfg")
        ep=$(cfgval train.epochs -c "$cfg") wu=$(cfgval train.warmup_epochs -c "$cfg")
        per=$(( nlab / (bs < nlab ? bs : nlab) ))
        total=$(( (steps + per - 1) / per ))
        wu=$(( total * wu / (ep + wu) ))
        ep=$(( total - wu ))
        say "actionformer $b seed $s: $name ($nlab sequences, $wu + $ep epochs)"
        t0=$(now)
        tal-train -q --threads "$threads" -c "$cfg" -s train.epochs=$ep -s train.warmup_epochs=$wu \
            -s train.checkpoint_every=0 --seed "$s" "$dir/$stream.tal" -o "$dir/$name.ckpt"
        echo "$(now) - $t0" | bc -l > "$dir/$name.time"
    fi
    if [ ! -f "$dir/$name.predicted.json" ]; then
        tal-detect -q --threads "$threads" "$dir/$name.ckpt" "$dir/test.tal" -o "$dir/$name.dets.tal"
        tal-map --json --gt "$dir/test.tal" $(tiou "$b") "$dir/$name.dets.tal" > "$dir/$name.predicted.json"
        rm -f "$dir/$name.dets.tal"
    fi
}

# ---- the runs ------------------------------------------------------------------
# ActionFormer-style steps: on the K-per-class parts, and on everything
af_k=${AF_K_STEPS:-400} af_all=${AF_ALL_STEPS:-1000}
main_runs() {
    b=$1 s=$2
    prepare $b $s
    for set in $settings; do
        GATES=1 ttc $b $s "$set" "ttc-$set"
        case $set in semi*) af $b $s "full${set#semi}" "af-$set" $af_k ;; esac
    done
    af $b $s train af-all $af_all
}

# synthetic THUMOS14 with the paper's tables (Weak and Semi(1)): the
# variants a claim rests on over every seed, the others on the first
thumos_runs() {
    s=$1
    main_runs th $s
    d=$out/th/s$s
    GATES=1 ttc th $s weak topk-mil -c $cfgdir/ttc/topk-mil.yaml                         # T3 None, T4a [34]
    GATES=1 ttc th $s weak no-reg-weak -c $cfgdir/ttc/no-reg.yaml                         # T4a L_clas
    # diagnostic: L_loc over the classes a clip holds instead of all C
    GATES=1 ttc th $s semi1 loc-tagged -s ttc.loc_classes=tagged
    train_gates th $s ttc-semi1 full1
    train_gates th $s loc-tagged full1
    [ "$s" = "${seeds%% *}" ] || return 0
    # diagnostic: L_loc alone (lambda 0, no L_reg), on the training videos it is fitted to
    ttc th $s semi1 loc-only -s ttc.lambda=0 -s ttc.reg=none
    train_gates th $s loc-only full1
    GATES=1 ttc th $s semi1 topk-mil-manual -c $cfgdir/ttc/topk-mil-manual.yaml           # T3 Manual/Manual
    GATES=1 ttc th $s semi1 no-reg-semi1 -c $cfgdir/ttc/no-reg.yaml                       # T4a L_clas + L_loc
    GATES=1 ttc th $s weak clas-attention -c $cfgdir/ttc/clas-attention.yaml              # T4a [29]
    [ "$quick" = 1 ] && return 0
    # T4b: the fully annotated part alone (as many steps as the joint run),
    # and the Weak model fine-tuned on it the same way
    main=$(cfgval train.epochs -c "$(ttc_cfg th)")
    ff=$(( main * ($(count "$d/semi1.tal") / 10) / ($(count "$d/full1.tal") / 10) ))
    ttc th $s full1 full-only -s train.epochs=$ff
    ttc th $s full1 finetune -s train.epochs=$ff --init "$d/ttc-weak.ckpt"
    for v in gate-binary gate-softsign reg-l1 reg-l2 reg-cosine; do                        # T4c, T4d
        GATES=1 ttc th $s weak "$v" -c $cfgdir/ttc/$v.yaml
    done
}

# diagnostic: synthetic THUMOS14 without confusable classes (talsynth
# --share 0), seed 0, Weak and Semi(1)
unconfused_runs() {
s0=$1 d=$out/th0/s$1
if [ ! -f "$d/ready" ]; then
    mkdir -p "$d"
    featpack -q -a data/thumos14/gt_full.json -s validation -o - | talsynth -q --seed "$s0" --share 0 -o "$d/train.tal"
    featpack -q -a data/thumos14/gt_full.json -s test -o - | talsynth -q --seed "$s0" --share 0 -o "$d/test.tal"
    labelsplit -q -r 1 --supervision video -o "$d/weak.tal" "$d/train.tal"
    labelsplit -q -k 1 -o "$d/full1.tal" -u "$d/tags1.tal" "$d/train.tal"
    cat "$d/full1.tal" "$d/tags1.tal" > "$d/semi1.tal"
    touch "$d/ready"
fi
GATES=1 ttc th0 $s0 weak ttc-weak
GATES=1 ttc th0 $s0 semi1 ttc-semi1
train_gates th0 $s0 ttc-semi1 full1
}

# JOBS lanes side by side, each taking the next unclaimed unit (a
# benchmark and seed, in its own folder) from the list, the longest
# first; a unit's variables live in its lane's subshell
units=$(for s in $seeds; do echo "thumos_runs $s"; done
        echo "unconfused_runs ${seeds%% *}"
        for b in an hapt; do for s in $seeds; do echo "main_runs $b $s"; done; done)
run_lanes "$jobs" "$out" "$units"
[ "$lanes_failed" = 0 ] || { say "a part failed (its messages are above); rerun to continue"; exit 1; }

# the picture: one test video of seed 0, Semi(1)
pic=$out/th/s0/picture
if [ ! -f "$pic.svg" ]; then
    echo video_test_0000004 > "$pic.ids"
    talcat -q --ids "$pic.ids" "$out/th/s0/test.tal" -o "$pic-in.tal"
    tal-detect -q --threads "$threads" --dist "$out/th/s0/ttc-semi1.ckpt" "$pic-in.tal" -o "$pic-dets.tal"
    cls=$(talcat -j "$pic-in.tal" | jq -r '.segments[0].label')
    talplot --gate -c "$cls" -o "$pic.svg.part" "$pic-dets.tal"
    mv "$pic.svg.part" "$pic.svg"
fi
t_end=$(date +%s)
echo $(( t_end - t_start )) > "$out/last-run.seconds"
echo "$start" > "$out/last-run.start"

sh pipelines/ttc-report.sh "$out" "$res" "$threads" "$quick" "$seeds" "$settings" "$jobs"
