#!/bin/sh
# nontarget.sh — `make results-nontarget`: semi-supervised self-training
# with learning from non-target classes (seed 0, METHODS.md §2), measured
# against supervised-only training and target-only self-training on the
# same splits and seeds.  Regenerates pipelines/RESULTS-nontarget.md.
#
# Benchmarks (each split by labelsplit -r R --stratify --seed S, trained
# with --seed S: a seed is a split and a training seed):
#   synth  synthetic THUMOS14 layout (talsynth default preset, seed 0), the
#          ActionFormer-style detector; trained on the 200 validation
#          layouts, tested on the 212 test layouts
#   hapt   UCI HAPT (real recordings), the ActionFormer-style and the
#          SPOT-style detectors
#   anet   synthetic ActivityNet v1.3 layout (200 classes; SEQS = 800
#          training videos of the BSN annotations, every 17th, and 300
#          validation videos), the SPOT-style detector (the paper's model for
#          ActivityNet), 10 % labelled, one seed
# Per benchmark: stage 1 trains on the labelled part alone (the
# supervised-only row: as many steps as the full set would take, as in
# RESULTS-supervised.md); its detections on the unlabelled part become
# pseudo labels (tal-detect --dist | pseudolabel --snippets --instances
# --select fixed:T with T the score above which the unlabelled part has as
# many detections per sequence as the labelled part has instances,
# diagnosed against the oracle); stage 2 fine-tunes
# from it on labelled + pseudo-labelled sequences with
# pipelines/configs/nontarget.yaml, once with semi.loss hard (target-only
# self-training) and once with nontarget (the method).  ROUNDS=N repeats
# pseudo-labelling and stage 2 N times (round r starts from round r-1's
# model of the same loss).
#
# Variables: JOBS (2: parts side by side), THREADS (1 per tool), ROUNDS (1), SEEDS (0 1 2: the seeds at 10 %),
# BENCHES (synth-actionformer hapt-actionformer hapt-spot anet-spot: the
# benchmarks and detectors, in the order they run), FRACS (20 40 60: the
# labelled fractions beyond 10 %, seed 0), ABLATIONS (synth-actionformer
# hapt-spot: where the ablations run; empty for none), FLATS
# (synth-actionformer hapt-actionformer hapt-spot: where non-target learning
# also runs on a flattened teacher, the seeds at 10 %), AGAIN (none; e.g.
# "hapt-actionformer hapt-spot": where both losses also run a second round
# at 10 %, whatever ROUNDS says; about 10 minutes more for those two),
# QUICK=1 (a smoke run: HAPT with the SPOT-style detector, 10 %, one
# seed, short schedules, written to data/build/nontarget-quick/).
# Cost: measured in the results file's cost section; writes under
# data/build/nontarget/ (about 2.7 GB).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
PATH=$top/bin:$PATH
export LC_ALL=C OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
threads=${THREADS:-1}
jobs=${JOBS:-2}
rounds=${ROUNDS:-1}
seeds=${SEEDS:-0 1 2}
quick=${QUICK:-0}
# what to run, in this order (a part left out is left out of the tables)
benches=${BENCHES:-synth-actionformer hapt-actionformer hapt-spot anet-spot}
fracs=${FRACS-20 40 60}
ablations=${ABLATIONS-synth-actionformer hapt-spot}
flats=${FLATS-synth-actionformer hapt-actionformer hapt-spot}
agains=${AGAIN-}
out=data/build/nontarget
res=pipelines/RESULTS-nontarget.md
if [ "$quick" = 1 ]; then
    out=data/build/nontarget-quick
    res=$out/RESULTS-nontarget-quick.md   # a smoke run: not the results
    seeds=0 benches=hapt-spot fracs="" ablations="" flats="" agains=""
fi
cfgs=pipelines/configs
mkdir -p "$out"
t_start=$(date +%s)
fresh=1   # nothing cached: this run's time is the recipe's cost
ls "$out"/*/m0.json >/dev/null 2>&1 && fresh=0

say() { printf '== %s\n' "$*" >&2; }
count() { talcat --stats --json "$1" | jq .sequences; }
setting() { tal-train -c "$1" --print-config | sed -n "s/^$2: //p"; }

# ---- data ------------------------------------------------------------------------
make -s hapt >/dev/null
hapt_train=data/build/hapt-train.tal hapt_test=data/build/hapt-test.tal
synth_train=$out/synth-train.tal synth_test=$out/synth-test.tal
anet_train=$out/anet-train.tal anet_test=$out/anet-test.tal
if [ "$quick" != 1 ] && [ ! -f "$synth_test" ]; then
    say "synthetic THUMOS14 (talsynth default preset, seed 0)"
    featpack -q -a data/thumos14/gt_full.json -s validation -o - | talsynth -q --seed 0 -o "$synth_train"
    featpack -q -a data/thumos14/gt_full.json -s test -o - | talsynth -q --seed 0 -o "$synth_test"
fi
SEQS=${SEQS:-800}
if [ "$quick" != 1 ] && [ ! -f "$anet_test" ]; then
    say "synthetic ActivityNet v1.3 ($SEQS training videos, 300 validation videos)"
    # every 17th training video and every 16th validation video, in the
    # annotation file's order
    anet() { featpack -q -a data/activitynet/anet_anno_action.json --video-info data/activitynet/video_info_new.csv "$@"; }
    anet -s training -o - | talcat -j | jq -r .id | awk -v n="$SEQS" 'NR % 17 == 1 && c++ < n' > "$out/anet-train.ids"
    anet -s validation -o - | talcat -j | jq -r .id | awk 'NR % 16 == 1 && c++ < 300' > "$out/anet-test.ids"
    anet -s training --ids "$out/anet-train.ids" -o - | talsynth -q --seed 0 -o "$anet_train"
    anet -s validation --ids "$out/anet-test.ids" -o - | talsynth -q --seed 0 -o "$anet_test"
fi

# ---- one experiment -------------------------------------------------------------------
# run BENCH MODEL FRAC SEED: stage 1 and the pseudo labels of round 1, then
# stage 2 for each loss in $LOSSES (hard nontarget) with the variant's
# overrides in $VARIANT_SETS named $VARIANT; results under
# $out/BENCH-MODEL-FRAC-SEED/: NAME.json (tal-map), NAME.cost (seconds,
# peak KB), diag-rROUND.json (pseudo labels).
evaluate() { # CKPT TEST OUT.json: THUMOS14's thresholds, ActivityNet's for its layout
    thr=--thumos
    [ "$2" = "$anet_test" ] && thr=--anet
    tal-detect -q --threads "$threads" "$1" "$2" -o "$3.dets" &&
        tal-map --json --gt "$2" $thr "$3.dets" > "$3.part" && mv "$3.part" "$3" && rm -f "$3.dets"
}
timed() { # COST-FILE command...: the command's wall time and peak memory
    f=$1
    shift
    /usr/bin/time -f '%e %M' -o "$f.part" "$@" && mv "$f.part" "$f"
}
run() {
    bench=$1 model=$2 frac=$3 seed=$4
    eval train=\$${bench}_train test=\$${bench}_test
    # ActivityNet: more sequences a step (spot-anet.yaml takes 16 labelled)
    semi_batch=""
    [ "$bench" = anet ] && semi_batch="-s semi.batch_size=16"
    cfg=$cfgs/$model-$([ "$bench" = synth ] && echo synth || echo "$bench").yaml
    d=$out/$bench-$model-$frac-$seed
    mkdir -p "$d"
    if [ ! -f "$d/lab.tal" ]; then
        labelsplit -q -r "0.$frac" --stratify --seed "$seed" -o "$d/lab.tal" -u "$d/unl.tal" --oracle "$d/oracle.tal" \
            "$train"
    fi
    nfull=$(count "$train") nlab=$(count "$d/lab.tal")
    epochs=$(( ($(setting "$cfg" train.epochs) * nfull + nlab / 2) / nlab ))
    warm=$(( ($(setting "$cfg" train.warmup_epochs) * nfull + nlab / 2) / nlab ))
    q=""
    [ "$quick" = 1 ] && { epochs=$((epochs / 4)); q="-s train.epochs=4"; }
    if [ ! -f "$d/m0.json" ]; then
        say "$bench $model $frac % seed $seed: stage 1, $nlab of $nfull sequences, $warm + $epochs epochs"
        timed "$d/m0.cost" tal-train -q --threads "$threads" --seed "$seed" -c "$cfg" -s train.epochs=$epochs \
            -s train.warmup_epochs=$warm -s train.checkpoint_every=0 "$d/lab.tal" -o "$d/m0.ckpt"
        evaluate "$d/m0.ckpt" "$test" "$d/m0.json"
    fi
    temp=${PSEUDO_TEMP:-1}   # the teacher's distributions raised to 1/temp
    for loss in $LOSSES; do
        name=$loss$VARIANT
        prev=$d/m0.ckpt
        r=1
        while [ "$r" -le "${RUN_ROUNDS:-$rounds}" ]; do
            tag=$name-r$r
            [ "$r" = 1 ] && tag=$name
            pseudo=$d/pseudo-r$r.tal
            [ "$temp" = 1 ] || pseudo=$d/pseudo-T$temp-r$r.tal
            [ "$r" = 1 ] || pseudo=$d/pseudo-$name-r$r.tal
            if [ ! -f "$pseudo" ]; then
                # instance pseudo labels: as many per sequence, on average, as
                # the labelled part has true ones (the threshold is the
                # score of that rank among all the unlabelled detections;
                # detectors' scores are calibrated differently)
                timed "$pseudo.det.cost" tal-detect -q --threads "$threads" --dist "$prev" "$d/unl.tal" -o "$pseudo.dets"
                ni=$(talcat --stats --json "$d/lab.tal" | jq .instances) nu=$(count "$d/unl.tal")
                rank=$(( (ni * nu + nlab / 2) / nlab ))
                th=$(talcat -j "$pseudo.dets" | jq '.detections[].score' | sort -gr | sed -n "${rank}p")
                echo "${th:-0}" > "$pseudo.thresh"
                timed "$pseudo.cost" pseudolabel -q -S -T "$temp" -I --select "fixed:${th:-0}" --diagnose "$d/oracle.tal" \
                    --json "$d/diag-$(basename "$pseudo" .tal).json" -o "$pseudo" "$pseudo.dets" 2>/dev/null
                rm -f "$pseudo.dets"
            fi
            # a diagnosis removed (to make it with another pseudolabel, say) is
            # made again from the pseudo labels themselves: the same figures
            diag=$d/diag-$(basename "$pseudo" .tal).json
            [ -f "$diag" ] || pseudolabel -q --diagnose "$d/oracle.tal" --json "$diag" "$pseudo" 2>/dev/null
            if [ ! -f "$d/$tag.json" ]; then
                say "$bench $model $frac % seed $seed: stage 2 ($tag)"
                # shellcheck disable=SC2086
                timed "$d/$tag.cost" tal-train -q --threads "$threads" --seed "$seed" -c "$cfg" -c "$cfgs/nontarget.yaml" \
                    -s semi.loss=$loss $semi_batch $VARIANT_SETS $q --init "$prev" --unlabelled "$pseudo" --metrics "$d/$tag.jsonl" \
                    "$d/lab.tal" -o "$d/$tag.ckpt"
                evaluate "$d/$tag.ckpt" "$test" "$d/$tag.json"
            fi
            prev=$d/$tag.ckpt
            r=$((r + 1))
        done
    done
}
# finetune BENCH MODEL FRAC SEED: the control for stage 2 without pseudo
# labels: stage 1's model trained on for as many steps as stage 2 takes,
# on the same schedule, on the labelled part alone
finetune() {
    bench=$1 model=$2 frac=$3 seed=$4
    eval test=\$${bench}_test
    cfg=$cfgs/$model-$([ "$bench" = synth ] && echo synth || echo "$bench").yaml
    d=$out/$bench-$model-$frac-$seed
    [ -f "$d/ft.json" ] && return 0
    nl=$(count "$d/lab.tal") nu=$(count "$d/unl.tal")
    bl=$(setting "$cfg" train.batch_size) bu=$(setting "$cfgs/nontarget.yaml" semi.batch_size)
    [ "$bench" = anet ] && bu=16
    [ "$bl" -gt "$nl" ] && bl=$nl
    steps=$(( $(setting "$cfgs/nontarget.yaml" train.epochs) * (nu / bu) ))
    epochs=$(( (steps + nl / bl - 1) / (nl / bl) ))
    say "$bench $model $frac % seed $seed: stage 2 without pseudo labels, $epochs epochs of the labelled part"
    timed "$d/ft.cost" tal-train -q --threads "$threads" --seed "$seed" -c "$cfg" -c "$cfgs/nontarget.yaml" \
        -s train.epochs=$epochs --init "$d/m0.ckpt" "$d/lab.tal" -o "$d/ft.ckpt"
    evaluate "$d/ft.ckpt" "$test" "$d/ft.json"
}
variant() { # BENCH MODEL NAME LOSS overrides...
    b=$1 m=$2 n=$3 l=$4
    shift 4
    LOSSES=$l VARIANT=-$n VARIANT_SETS="$*" run "$b" "$m" 10 0
}

# ---- the runs -----------------------------------------------------------------------------
# Two phases, each JOBS parts side by side (results-lib.sh's run_lanes), the
# longest first.  Phase 1: stage 1, the pseudo labels, target-only
# self-training and (at 10 %) the control of every split; phase 2 trains
# from what phase 1 left: non-target learning and the ablations.
. pipelines/results-lib.sh
first() { # BENCH MODEL FRAC SEED
    LOSSES=hard VARIANT="" VARIANT_SETS="" run "$@"
    [ "$3" != 10 ] || finetune "$@"
}
second() { LOSSES=nontarget VARIANT="" VARIANT_SETS="" run "$@"; }
# flat BENCH MODEL FRAC SEED: a diagnostic beyond the paper: non-target
# learning on the teacher's distributions flattened (p^(1/2), renormalised),
# so that fewer snippets have every non-target class negative; the argmax,
# hence target-only self-training, is unchanged
flat() { LOSSES=nontarget VARIANT=-T2 VARIANT_SETS="" PSEUDO_TEMP=2 run "$@"; }
# again BENCH MODEL FRAC SEED: a second round of both losses, each from its
# first round's model (pseudo-NAME-r2.tal, NAME-r2.json), whatever ROUNDS says
again() { RUN_ROUNDS=2 LOSSES="hard nontarget" VARIANT="" VARIANT_SETS="" run "$@"; }
units() { # PHASE (first or second): its units, the costliest first
    for bench_model in $benches; do
        set -- $(echo "$bench_model" | tr - ' ')
        if [ "$1" = anet ]; then echo "$phase $1 $2 10 0"; continue; fi
        for s in $seeds; do echo "$phase $1 $2 10 $s"; done
        # what trains from the 10 % splits, as long as they do
        if [ "$phase" = second ]; then
            case " $ablations " in *" $bench_model "*) ablation_units "$1" "$2" ;; esac
            case " $flats " in *" $bench_model "*) for s in $seeds; do echo "flat $1 $2 10 $s"; done ;; esac
            case " $agains " in *" $bench_model "*) for s in $seeds; do echo "again $1 $2 10 $s"; done ;; esac
        fi
        for f in $fracs; do echo "$phase $1 $2 $f 0"; done
    done
}
ablation_units() { # BENCH MODEL: the paper's Tables 2, 4, 5 at 10 %, seed 0
    echo "variant $1 $2 nopos nontarget -s semi.pos=false"
    [ "$2" = spot ] && echo "variant $1 $2 noposneg nontarget -s semi.pos=false -s semi.neg=false"
    for l in 0.75 0.80 0.90; do echo "variant $1 $2 lambda$l nontarget -s semi.lambda=$l"; done
    echo "variant $1 $2 soft soft"
    echo "variant $1 $2 complementary complementary"
}
for phase in first second; do
    run_lanes "$jobs" "$out" "$(units)"
    [ "$lanes_failed" = 0 ] || { say "a part failed (its messages are above); rerun to continue"; exit 1; }
done
t_end=$(date +%s)
# one line per invocation that ran: seconds, fresh or resumed, date, parts side by side
echo "$((t_end - t_start)) $([ "$fresh" = 1 ] && echo fresh || echo resumed) $(date -u +%Y-%m-%d) $jobs" >> "$out/recipe.log"

# ---- the results file -------------------------------------------------------------------------
# helpers over the result files (results-lib.sh): ap, avg, cost, msd, mean_ap
method_name() { case $1 in m0) echo "supervised only" ;; hard) echo "target-only self-training" ;;
                           ft) echo "supervised, trained on for stage 2's steps" ;;
                           nontarget) echo "non-target learning" ;;
                           nontarget-T2) echo "non-target learning, teacher flattened (T 2; diagnostic)" ;;
                           hard-r2) echo "target-only self-training, round 2" ;;
                           nontarget-r2) echo "non-target learning, round 2" ;; *) echo "$1" ;; esac; }
row10() { # BENCH MODEL NAME: mean ± sd row at 10 % over the seeds
    files="" name=$(method_name "$3") nseeds=0 done_seeds=""
    for s in $seeds; do
        f=$out/$1-$2-10-$s/$3.json
        [ -f "$f" ] || continue   # a seed not run (yet): the row says how many it has
        files="$files $f" nseeds=$((nseeds + 1)) done_seeds="$done_seeds $s"
    done
    [ "$nseeds" = 0 ] && return 0
    # shellcheck disable=SC2086
    m=$(mean_ap $files)
    # shellcheck disable=SC2086
    a=$(for f in $files; do avg "$f"; done | msd)
    [ "$nseeds" = 1 ] && a=${a%% ±*}
    c=$(for s in $done_seeds; do cat "$out/$1-$2-10-$s/$3.cost"; done | awk '{ t += $1; if ($2 > k) k = $2 } END {
        printf "%.0f s, %.0f MiB", t / NR, k / 1024 }')
    set -- $m
    printf '| %s | 10 %% (%s) | %s | %s | %s | %s | %s | **%s** | %s |\n' "$name" \
        "$([ "$nseeds" = 1 ] && echo "seed 0" || echo "$nseeds seeds")" "$1" "$2" "$3" "$4" "$5" "$a" "$c"
}
row() { # BENCH MODEL FRAC NAME
    rowf=$out/$1-$2-$3-0/$4.json   # not f: the callers loop over f
    [ -f "$rowf" ] || return 0
    set -- $(ap "$rowf") "$(avg "$rowf")" "$(cost "${rowf%.json}.cost")" "$3" "$4"
    printf '| %s | %s %% (seed 0) | %s | %s | %s | %s | %s | **%.2f** | %s |\n' "$(method_name "$9")" "$8" \
        "$1" "$2" "$3" "$4" "$5" "$6" "$7"
}
diag_rows() { # DIR: the pseudo labels of every round there
    for j in "$1"/diag-pseudo-r*.json "$1"/diag-pseudo-[!r]*.json; do   # round 1 first
        [ -f "$j" ] || continue
        jq -r --arg n "$(basename "$j" .json | sed 's/^diag-pseudo-*//')" '
            def p: if . == null then "–" else (. * 1000 | round / 10 | tostring) end;
            def q(k): "\(k.target | p) / \(k.positive | p) / \(k.ambiguous | p) / \(k.negative | p)";
            "| \($n) | \(.instances.kept) / \(.instances.truth) | \(.instances.class_accuracy | p) | \(.instances.mean_tiou | p) | \(.instances.positive_accuracy | p) | \(.instances.recall | p) | \(q(.snippets.action)) | \(q(.snippets.action_classes)) | \(q(.snippets.background)) | \(.snippets.action.all_negative | p) / \(.snippets.action_classes.all_negative | p) / \(.snippets.background.all_negative | p) |"' "$j"
    done
}
bench_title() {
    case $1 in
        synth) echo "Synthetic THUMOS14 layout (talsynth default preset): 200 training videos, 212 test videos, 20 classes" ;;
        hapt) echo "UCI HAPT (real): 42 training recordings, 19 test recordings, 12 classes" ;;
        anet) echo "Synthetic ActivityNet v1.3 layout: $(count "$anet_train") training videos, $(count "$anet_test") validation videos, 200 classes" ;;
    esac
}
model_title() { [ "$1" = spot ] && echo "SPOT-style detector" || echo "ActionFormer-style detector"; }

{
    echo "# Learning from non-target classes (\`make results-nontarget\`)"
    echo
    echo "Regenerated by \`make results-nontarget\` (pipelines/nontarget.sh) on"
    echo "$(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"
    echo "$jobs parts side by side, $threads thread(s) per tool and $(sh pipelines/products.sh) matrix products in the last"
    echo "invocation (a rerun keeps the parts already done; costs are what was"
    echo "measured with the other lane busy, not a benchmark).  mAP (%) on the test set at"
    echo "tIoU 0.3:0.1:0.7 (ActivityNet protocol, \`tal-map --thumos\`; for the"
    echo "ActivityNet layout 0.5:0.05:0.95, \`--anet\`); the models evaluated with"
    echo "their weight average where they keep one."
    echo
    echo "Each seed S is a split (\`labelsplit -r R --stratify --seed S\`) and a"
    echo "training seed (\`tal-train --seed S\`).  Stage 1 trains on the labelled part"
    echo "alone for as many steps as the full set would take; pseudo labels of the"
    echo "unlabelled part come from it (\`tal-detect --dist | pseudolabel --snippets"
    echo "--instances --select fixed:T\`, T the score above which the unlabelled part"
    echo "has as many detections per sequence as the labelled part has instances:"
    echo "the detectors' scores are calibrated differently, and this asks nothing of"
    echo "the test set); stage 2 fine-tunes from it on labelled and"
    echo "pseudo-labelled sequences with pipelines/configs/nontarget.yaml (15 epochs"
    echo "over the pseudo-labelled set, a quarter of the learning rate, cosine decay;"
    echo "2 labelled and 2 pseudo-labelled sequences a step, alpha 1, lambda 0.85) —"
    echo "the same pseudo labels and schedule for target-only self-training"
    echo "(\`semi.loss: hard\`) and non-target learning (\`semi.loss: nontarget\`)."
    echo "$rounds round(s) of pseudo-labelling (rows that say round 2: a second, each"
    echo "loss's round-1 model labelling the unlabelled part again).  Costs are each stage's wall time and"
    echo "peak memory (tal-train; detection and pseudo-labelling add seconds)."
    for bm in "synth actionformer" "hapt actionformer" "hapt spot"; do
        set -- $bm
        [ -f "$out/$1-$2-10-0/m0.json" ] || continue
        echo
        echo "## $(bench_title "$1"), $(model_title "$2")"
        echo
        echo "| method | labelled | 0.3 | 0.4 | 0.5 | 0.6 | 0.7 | avg | cost (stage) |"
        echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
        for m in m0 ft hard nontarget nontarget-T2 hard-r2 nontarget-r2; do row10 "$1" "$2" "$m"; done
        for f in 20 40 60; do
            [ -f "$out/$1-$2-$f-0/m0.json" ] || continue
            for m in m0 hard nontarget; do row "$1" "$2" "$f" "$m"; done
        done
        echo
        echo "At 10 %, paired by seed: non-target learning − target-only"
        echo "$(paired "$1" "$2" hard nontarget) points; non-target learning −"
        echo "supervised only $(paired "$1" "$2" m0 nontarget); target-only − supervised only"
        echo "$(paired "$1" "$2" m0 hard)."
        if [ -f "$out/$1-$2-10-0/nontarget-T2.json" ]; then
            echo "Teacher flattened (T 2): non-target learning − target-only"
            echo "$(paired "$1" "$2" hard nontarget-T2); − non-target learning on the teacher as it is"
            echo "$(paired "$1" "$2" nontarget nontarget-T2)."
        fi
        if [ -f "$out/$1-$2-10-0/nontarget-r2.json" ] && [ "$rounds" = 1 ]; then
            echo "Round 2: non-target learning − target-only $(paired "$1" "$2" hard-r2 nontarget-r2); target-only"
            echo "round 2 − round 1 $(paired "$1" "$2" hard hard-r2); non-target learning round 2 − round 1"
            echo "$(paired "$1" "$2" nontarget nontarget-r2)."
        fi
    done
    if [ -f "$out/anet-spot-10-0/m0.json" ]; then
        echo
        echo "## $(bench_title anet), SPOT-style detector"
        echo
        echo "mAP (%) at tIoU 0.5, 0.75 and 0.95 and the average over 0.5:0.05:0.95, as"
        echo "the paper's ActivityNet columns."
        echo
        echo "| method | labelled | 0.5 | 0.75 | 0.95 | avg | cost (stage) |"
        echo "|---|---|---:|---:|---:|---:|---|"
        for m in m0 ft hard nontarget; do
            f=$out/anet-spot-10-0/$m.json
            [ -f "$f" ] || continue
            jq -r --arg n "$(method_name $m)" --arg c "$(cost "${f%.json}.cost")" \
                '"| \($n) | 10 % (seed 0) | \(.mAP[0] * 10000 | round / 100) | \(.mAP[5] * 10000 | round / 100) | \(.mAP[9] * 10000 | round / 100) | **\(.average * 10000 | round / 100)** | \($c) |"' "$f"
        done
    fi
    if [ -f "$out/synth-actionformer-10-0/hard-nopos.json" ] || [ -f "$out/hapt-spot-10-0/hard-nopos.json" ] ||
       [ -f "$out/synth-actionformer-10-0/nontarget-nopos.json" ]; then
        echo
        echo "## Ablations at 10 %, seed 0 (the paper's Tables 2, 4 and 5)"
        for bm in "synth actionformer" "hapt spot"; do
            set -- $bm
            d=$out/$1-$2-10-0
            [ -f "$d/nontarget-nopos.json" ] || continue
            echo
            echo "$(bench_title "$1" | cut -d: -f1), $(model_title "$2"):"
            echo
            echo "| losses on pseudo labels | 0.3 | 0.4 | 0.5 | 0.6 | 0.7 | avg |"
            echo "|---|---:|---:|---:|---:|---:|---:|"
            line() { [ -f "$d/$2.json" ] && set -- "$1" $(ap "$d/$2.json") "$(avg "$d/$2.json")" &&
                     printf '| %s | %s | %s | %s | %s | %s | %.2f |\n' "$@"; }
            if [ "$2" = spot ]; then
                line "l_tgt (cross-entropy on the target class)" nontarget-noposneg
                line "l_tgt + l_neg" nontarget-nopos
            else
                line "l_tgt (hard pseudo label: every non-target class negative)" hard
                line "l_tgt + l_neg (adaptive negatives; the rest left out)" nontarget-nopos
            fi
            line "l_tgt + l_neg + l_pos (lambda 0.85)" nontarget
            for l in 0.75 0.80 0.90; do line "lambda $l" "nontarget-lambda$l"; done
            line "soft pseudo labels (Table 5)" soft-soft
            line "complementary label (Table 5)" complementary-complementary
            [ "$2" = spot ] && line "target-only self-training (semi.loss hard)" hard
        done
    fi
    echo
    echo "## Pseudo labels (\`pseudolabel --diagnose\` against the unlabelled part's truth)"
    echo
    echo "Instances: kept / true instances; class accuracy and mean tIoU of each"
    echo "pseudo instance with its best-matching true instance; accuracy of positives"
    echo "(right class and tIoU > 0.5); recall of true instances (a positive of their"
    echo "class at tIoU > 0.5).  Snippets: the share whose true class falls in the"
    echo "target / positive / ambiguous / negative classes of the partition of its"
    echo "pseudo distribution (lambda 0.85), over action and over background snippets"
    echo "(the paper's Fig. 5), and for action snippets the partition of the classes"
    echo "alone (background left out, renormalised: what the ActionFormer-style"
    echo "detector uses where a pseudo instance stands).  Last column: the share of"
    echo "action snippets, of action snippets with the classes alone, and of"
    echo "background snippets whose partition makes every non-target class negative"
    echo "(no positive, no ambiguous class): there non-target learning's targets are"
    echo "the hard pseudo label's.  All in %."
    for bm in "synth actionformer" "hapt actionformer" "hapt spot" "anet spot"; do
        set -- $bm
        ls "$out/$1-$2"-*/diag-*.json >/dev/null 2>&1 || continue
        echo
        echo "$(bench_title "$1" | cut -d: -f1), $(model_title "$2"):"
        echo
        echo "| split, round | kept / true | class acc. | mean tIoU | acc. of positives | recall | action snippets: tgt / pos / amb / neg | the same, classes alone | background snippets: tgt / pos / amb / neg | all negative: action / classes alone / background |"
        echo "|---|---|---:|---:|---:|---:|---|---|---|---|"
        for d in "$out/$1-$2"-*; do
            [ -d "$d" ] || continue
            diag_rows "$d" | sed "s/^| /| $(basename "$d" | sed "s/^$1-$2-//; s/-/ % seed /"), round /; s/round r\([0-9]\)/round \1/; s/round T\([0-9]*\)-r\([0-9]\)/round \2, teacher flattened (T \1)/; s/round \([a-z]*\)-r\([0-9]\)/round \2 (from \1)/"
        done
    done
    echo
    echo "## Does it hold here?"
    echo
    for bm in "synth actionformer" "hapt actionformer" "hapt spot"; do
        set -- $bm
        [ -f "$out/$1-$2-10-0/m0.json" ] || continue
        echo "- $(bench_title "$1" | cut -d: -f1), $(model_title "$2"), 10 %: non-target learning beats"
        echo "  target-only self-training: $(verdict "$1" "$2" hard nontarget); beats supervised"
        echo "  only: $(verdict "$1" "$2" m0 nontarget); target-only beats supervised only:"
        echo "  $(verdict "$1" "$2" m0 hard)."
    done
    if [ -f pipelines/nontarget-findings.md ]; then
        echo
        cat pipelines/nontarget-findings.md
    fi
    echo
    echo "## Cost"
    echo
    echo "Each row's stage cost is above.  Pseudo-labelling a set: tal-detect --dist"
    echo "$(cat "$out"/*/pseudo-r1.tal.det.cost 2>/dev/null | awk '{ t += $1; n++ } END { printf "%.0f s", n ? t / n : 0 }'), pseudolabel"
    echo "$(cat "$out"/*/pseudo-r1.tal.cost 2>/dev/null | awk '{ t += $1; n++ } END { printf "%.1f s on average over %d sets", n ? t / n : 0, n }')."
    echo "Training stages together: $(cat "$out"/*/*.cost 2>/dev/null | awk '{ t += $1 } END { printf "%.0f", t / 60 }') minutes"
    echo "(stage 1 and stage 2 of every row, and pseudo-labelling)."
    invocations "$out/recipe.log" "the whole recipe from nothing: data, every stage, detection, evaluation"
} > "$res.part"
mv "$res.part" "$res"
cat "$res"
