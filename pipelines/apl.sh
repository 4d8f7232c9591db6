#!/bin/sh
# apl.sh — `make results-apl`: APL's three stages (man apl) on the
# ActionFormer-style detector, against supervised-only training, the
# fixed-threshold self-training baseline and learning from non-target
# classes, on the same splits and seeds.  Regenerates pipelines/RESULTS-apl.md
# (pipelines/apl-report.sh writes it).
#
# Benchmarks: synth (synthetic THUMOS14 layout, talsynth default preset,
# seed 0: 200 training, 212 test videos) and hapt (UCI HAPT, real).  A seed
# S is a split (labelsplit -r R --stratify --seed S) and a training seed.
# Per split, the runs (NAME: what RESULTS-apl.md calls it):
#   m0         supervised only (stage 1 without ALQA; as many steps as the
#              full set would take)
#   st-fixed   self-training baseline: m0's detections scored >= 0.3 are
#              positives (APL's Table 3 baseline)
#   m0q        stage 1 with ALQA (pipelines/configs/apl.yaml)
#   st-alqa    + ALQA: m0q's detections, adaptive selection (tau_l 0.15,
#              per-sequence mean + sd), stage 3 with ALQA
#   st-qfixed  a control beyond the paper: m0q's detections with joint
#              score >= 0.3 are positives (the baseline's rule on the ALQA
#              model), stage 3 with ALQA; it tells the selection rule's
#              share of + ALQA's change from the branches'
#   st-alqa-set  + ALQA with eq. 6's other reading: mean + sd over the
#              whole unlabelled part's detections, not per sequence
#              (pseudolabel --select adaptive-set)
#   st-icd     + ICD: the same pseudo labels through icd-filter (EAP + MPP;
#              the discriminator trained on the labelled part)
#   acp        stage 0: tal-pretrain-acp on the labelled and unlabelled
#              parts, no labels
#   m0a        stage 1 with ALQA from acp, L_acp 0.1
#   st-acp     + ACP: m0a's adaptive pseudo labels through icd-filter,
#              stage 3 with ALQA and L_acp 0.1 on true and pseudo classes
#   nontarget  learning from non-target classes from m0 (its recipe's
#              pseudo labels: as many per sequence as the labelled part has,
#              semi.loss nontarget)
# Stage 3 is pipelines/configs/nontarget.yaml's schedule (15 epochs over the
# pseudo-labelled part, a quarter of the learning rate) with semi.loss hard
# and semi.weight 2 (lambda_u), the same for every self-training row.
# Ablations at 10 %, seed 0: alqa.branches tiou and diou (st-alqa-tiou,
# st-alqa-diou); the two branches with hard classification labels
# (alqa.soft_label false: st-alqa-hard); EAP or MPP alone (st-eap, st-mpp); the coarse or the fine
# contrast alone (st-acp-coarse, st-acp-fine); L_acp in stage 3 on the
# labelled part's classes alone, not the pseudo classes (acp.on_pseudo
# false: st-acp-lab).  Pseudo-label quality
# (pseudolabel --diagnose) of every pseudo-label set; the linear probe of
# each pre-trained backbone (tal-pretrain-acp --probe); how often the
# contrasts' positive pairs (same k-means cluster) share a true label
# (tal-pretrain-acp --clusters, on each benchmark's training set).
#
# Variables: THREADS (1 per tool), JOBS (2: parts run side by side),
# SEEDS (0 1 2 at 10 %), FRACS (40: beyond 10 %, seed 0), BENCHES (synth hapt),
# ABLATIONS (synth), QUICK=1 (a smoke run: HAPT, 10 %, seed 0, short
# schedules, into data/build/apl-quick/).  Writes under data/build/apl/.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
PATH=$top/bin:$PATH
export LC_ALL=C OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
threads=${THREADS:-1}
jobs=${JOBS:-2}
seeds=${SEEDS:-0 1 2}
fracs=${FRACS-40}
benches=${BENCHES:-synth hapt}
ablations=${ABLATIONS-synth}
quick=${QUICK:-0}
out=data/build/apl
res=pipelines/RESULTS-apl.md
if [ "$quick" = 1 ]; then
    out=data/build/apl-quick
    res=$out/RESULTS-apl-quick.md   # a smoke run: not the results
    seeds=0 fracs="" benches=hapt ablations=""
fi
cfgs=pipelines/configs
mkdir -p "$out"
t_start=$(date +%s)

say() { printf '== %s\n' "$*" >&2; }
count() { talcat --stats --json "$1" | jq .sequences; }
setting() { tal-train -c "$1" --print-config | sed -n "s/^$2: //p"; }
timed() { # COST-FILE command...: wall time and peak memory of one stage
    f=$1
    shift
    /usr/bin/time -f '%e %M' -o "$f.part" "$@" && mv "$f.part" "$f"
}

# ---- data ------------------------------------------------------------------------
make -s hapt >/dev/null
hapt_train=data/build/hapt-train.tal hapt_test=data/build/hapt-test.tal
synth_train=$out/synth-train.tal synth_test=$out/synth-test.tal
case " $benches " in *" synth "*)
    if [ ! -f "$synth_test" ]; then
        say "synthetic THUMOS14 (talsynth default preset, seed 0)"
        featpack -q -a data/thumos14/gt_full.json -s validation -o - | talsynth -q --seed 0 -o "$synth_train"
        featpack -q -a data/thumos14/gt_full.json -s test -o - | talsynth -q --seed 0 -o "$synth_test"
    fi ;;
esac

# The truth in the contrasts' stand-in labels, over each benchmark's whole
# training set (what pre-training draws from; no network, a second): once
# per benchmark, before the lanes start.
for b in $benches; do
    c=$out/clusters-$b.json
    eval train=\$${b}_train
    [ -f "$c" ] || { tal-pretrain-acp --clusters --json -c "$cfgs/actionformer-$b.yaml" --seed 0 "$train" > "$c.part" &&
        mv "$c.part" "$c"; }
done

# ---- one split -------------------------------------------------------------------------
# Every step is skipped when its result is there, so a rerun continues.
evaluate() { # CKPT TEST OUT.json
    [ -f "$3" ] && return 0
    tal-detect -q --threads "$threads" "$1" "$2" -o "$3.dets" &&
        tal-map --json --gt "$2" --thumos "$3.dets" > "$3.part" && mv "$3.part" "$3" && rm -f "$3.dets"
}
diagnose() { # PSEUDO.tal ORACLE: its quality as diag-NAME.json
    j=$(dirname "$1")/diag-$(basename "$1" .tal).json
    [ -f "$j" ] || pseudolabel -q --diagnose "$2" --json "$j" "$1" 2>/dev/null >/dev/null
}
stage1() { # NAME extra tal-train arguments...: trained on the labelled part, and evaluated
    n=$1
    shift
    if [ ! -f "$d/$n.ckpt" ]; then
        say "$bench $frac % seed $seed: stage 1 ($n)"
        # shellcheck disable=SC2086
        timed "$d/$n.cost" tal-train -q --threads "$threads" --seed "$seed" -c "$cfg" -s train.epochs=$epochs \
            -s train.warmup_epochs=$warm -s train.checkpoint_every=0 "$@" "$d/lab.tal" -o "$d/$n.ckpt.part"
        mv "$d/$n.ckpt.part" "$d/$n.ckpt"
    fi
    evaluate "$d/$n.ckpt" "$test" "$d/$n.json"
}
stage3() { # NAME INIT PSEUDO extra tal-train arguments...
    n=$1 init=$2 p=$3
    shift 3
    [ -f "$d/$n.json" ] && return 0
    say "$bench $frac % seed $seed: stage 3 ($n)"
    # shellcheck disable=SC2086
    timed "$d/$n.cost" tal-train -q --threads "$threads" --seed "$seed" -c "$cfg" -c $cfgs/nontarget.yaml \
        -s semi.loss=hard -s semi.weight=2 $q3 "$@" --init "$d/$init.ckpt" --unlabelled "$d/$p.tal" \
        --metrics "$d/$n.jsonl" "$d/lab.tal" -o "$d/$n.ckpt"
    evaluate "$d/$n.ckpt" "$test" "$d/$n.json"
}
detections() { # CKPT: its detections on the unlabelled part, with features (cached)
    [ -f "$d/$1.unl.tal" ] || tal-detect -q --threads "$threads" --keep-features "$d/$1.ckpt" "$d/unl.tal" -o "$d/$1.unl.tal"
}
pseudo() { # NAME FROM-CKPT RULE [RANK]
    [ -f "$d/$1.tal" ] && return 0
    detections "$2"
    pseudolabel -q --instances --select "$3" --rank "${4:-score}" -o "$d/$1.tal" "$d/$2.unl.tal"
    diagnose "$d/$1.tal" "$d/oracle.tal"
}
filtered() { # NAME FROM-PSEUDO [--eap|--mpp]: through the discriminator
    n=$1 from=$2
    shift 2
    [ -f "$d/$n.tal" ] && return 0
    icd-filter apply -q --threads "$threads" "$@" -m "$d/icd.ckpt" -r "$d/lab.tal" "$d/$from.tal" -o "$d/$n.tal"
    diagnose "$d/$n.tal" "$d/oracle.tal"
}
pretrain() { # NAME extra settings...: contrastive pre-training and its probe
    n=$1
    shift
    if [ ! -f "$d/$n.ckpt" ]; then
        say "$bench $frac % seed $seed: contrastive pre-training ($n)"
        # shellcheck disable=SC2086
        timed "$d/$n.cost" tal-pretrain-acp -q --threads "$threads" --seed "$seed" -c "$cfg" $qa "$@" \
            --metrics "$d/$n.jsonl" "$d/lab.tal" "$d/unl.tal" -o "$d/$n.ckpt.part"
        mv "$d/$n.ckpt.part" "$d/$n.ckpt"
    fi
    [ -f "$d/probe-$n.json" ] ||
        tal-pretrain-acp --threads "$threads" --probe "$d/$n.ckpt" --json "$d/lab.tal" "$test" > "$d/probe-$n.json"
}
setup() { # BENCH FRAC SEED: the split's variables, and its parts (made once)
    bench=$1 frac=$2 seed=$3
    eval train=\$${bench}_train test=\$${bench}_test
    cfg=$cfgs/actionformer-$bench.yaml
    d=$out/$bench-actionformer-$frac-$seed
    mkdir -p "$d"
    [ -f "$d/lab.tal" ] || labelsplit -q -r "0.$frac" --stratify --seed "$seed" -o "$d/lab.tal" -u "$d/unl.tal" \
        --oracle "$d/oracle.tal" "$train"
    nfull=$(count "$train") nlab=$(count "$d/lab.tal")
    epochs=$(( ($(setting "$cfg" train.epochs) * nfull + nlab / 2) / nlab ))
    warm=$(( ($(setting "$cfg" train.warmup_epochs) * nfull + nlab / 2) / nlab ))
    q3="" qa=""
    [ "$quick" = 1 ] && { epochs=$((epochs / 4)); q3="-s train.epochs=4"; qa="-s train.epochs=1"; }
    return 0
}
split() { # BENCH FRAC SEED: the main rows of one split
    setup "$@"
    # supervised only, and the baseline on it
    stage1 m0
    pseudo p-fixed m0 fixed:0.3
    stage3 st-fixed m0 p-fixed
    # + ALQA
    stage1 m0q -c $cfgs/apl.yaml
    pseudo p-qfixed m0q fixed:0.3
    pseudo p-adaptive m0q adaptive
    stage3 st-alqa m0q p-adaptive -c $cfgs/apl.yaml
    stage3 st-qfixed m0q p-qfixed -c $cfgs/apl.yaml
    pseudo p-adaptive-set m0q adaptive-set
    stage3 st-alqa-set m0q p-adaptive-set -c $cfgs/apl.yaml
    # + ICD
    if [ ! -f "$d/icd.ckpt" ]; then
        say "$bench $frac % seed $seed: the instance consistency discriminator"
        timed "$d/icd.cost" icd-filter train -q --threads "$threads" --seed "$seed" --metrics "$d/icd.jsonl" \
            "$d/lab.tal" -o "$d/icd.ckpt"
    fi
    filtered p-icd p-adaptive
    stage3 st-icd m0q p-icd -c $cfgs/apl.yaml
    # + ACP
    pretrain acp
    stage1 m0a -c $cfgs/apl.yaml -s acp.weight=0.1 --init "$d/acp.ckpt"
    pseudo p-aadaptive m0a adaptive
    filtered p-acp p-aadaptive
    stage3 st-acp m0a p-acp -c $cfgs/apl.yaml -s acp.weight=0.1
    # learning from non-target classes on the same split, from m0
    if [ ! -f "$d/p-nontarget.tal" ]; then
        tal-detect -q --threads "$threads" --dist "$d/m0.ckpt" "$d/unl.tal" -o "$d/m0.dist.tal"
        ni=$(talcat --stats --json "$d/lab.tal" | jq .instances) nu=$(count "$d/unl.tal")
        rank=$(( (ni * nu + nlab / 2) / nlab ))
        th=$(talcat -j "$d/m0.dist.tal" | jq '.detections[].score' | sort -gr | sed -n "${rank}p")
        pseudolabel -q -S -I --select "fixed:${th:-0}" -o "$d/p-nontarget.tal" "$d/m0.dist.tal"
        diagnose "$d/p-nontarget.tal" "$d/oracle.tal"
        rm -f "$d/m0.dist.tal"
    fi
    if [ ! -f "$d/nontarget.json" ]; then
        say "$bench $frac % seed $seed: learning from non-target classes"
        timed "$d/nontarget.cost" tal-train -q --threads "$threads" --seed "$seed" -c "$cfg" -c $cfgs/nontarget.yaml \
            $q3 --init "$d/m0.ckpt" --unlabelled "$d/p-nontarget.tal" "$d/lab.tal" -o "$d/nontarget.ckpt"
        evaluate "$d/nontarget.ckpt" "$test" "$d/nontarget.json"
    fi
}
alqa_variant() { # SUFFIX settings...: stages 1 and 3 of + ALQA with other ALQA settings
    v=$1
    shift
    stage1 m0q-$v -c $cfgs/apl.yaml "$@"
    pseudo p-adaptive-$v m0q-$v adaptive
    stage3 st-alqa-$v m0q-$v p-adaptive-$v -c $cfgs/apl.yaml "$@"
}
ablation() { # BENCH VARIANT: one ablation of seed 0's split at 10 % (after its main rows)
    setup "$1" 10 0
    case $2 in
    icd) # EAP or MPP alone
        filtered p-eap p-adaptive --eap
        filtered p-mpp p-adaptive --mpp
        stage3 st-eap m0q p-eap -c $cfgs/apl.yaml
        stage3 st-mpp m0q p-mpp -c $cfgs/apl.yaml ;;
    tiou|diou) alqa_variant $2 -s alqa.branches=$2 ;;   # one branch
    hard) alqa_variant hard -s alqa.soft_label=false ;;   # the two branches without the soft-label QFL
    coarse|fine) # one contrast alone
        v=$2
        other=$([ $v = coarse ] && echo fine || echo coarse)
        pretrain acp-$v -s acp.$other=false
        stage1 m0a-$v -c $cfgs/apl.yaml -s acp.weight=0.1 -s acp.$other=false --init "$d/acp-$v.ckpt"
        pseudo p-aadaptive-$v m0a-$v adaptive
        filtered p-acp-$v p-aadaptive-$v
        stage3 st-acp-$v m0a-$v p-acp-$v -c $cfgs/apl.yaml -s acp.weight=0.1 -s acp.$other=false ;;
    acp-lab) # stage 3's L_acp on the labelled part's classes alone
        stage3 st-acp-lab m0a p-acp -c $cfgs/apl.yaml -s acp.weight=0.1 -s acp.on_pseudo=false ;;
    esac
}

# ---- the runs: two phases of JOBS lanes (results-lib.sh's run_lanes) ------------------
# Phase 1: every split's main rows, the longest first (synthetic THUMOS14
# before HAPT).  Phase 2: the ablations, chains of stages on seed 0's split
# at 10 %, which read its phase-1 runs; the longest first.
. pipelines/results-lib.sh
fresh=1   # nothing cached: this run's time is the recipe's cost
ls "$out"/*/m0.json >/dev/null 2>&1 && fresh=0
main_units() {
    for b in $benches; do
        for s in $seeds; do echo "split $b 10 $s"; done
        for f in $fracs; do echo "split $b $f 0"; done
    done
}
ablation_units() {
    for b in $ablations; do
        for v in coarse fine icd tiou diou hard acp-lab; do echo "ablation $b $v"; done
    done
}
for phase in main_units ablation_units; do
    units=$($phase)
    [ -n "$units" ] || continue
    run_lanes "$jobs" "$out" "$units"
    [ "$lanes_failed" = 0 ] || { say "a part failed (its messages are above); rerun to continue"; exit 1; }
done
t_end=$(date +%s)
# one line per invocation that ran: seconds, fresh or resumed, date, parts side by side
echo "$((t_end - t_start)) $([ "$fresh" = 1 ] && echo fresh || echo resumed) $(date -u +%Y-%m-%d) $jobs" >> "$out/recipe.log"

sh pipelines/apl-report.sh "$out" "$res" "$threads" "$jobs" "$quick" "$seeds" "$benches"
say "wrote $res"
