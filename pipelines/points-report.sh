#!/bin/sh
# points-report.sh OUT THREADS QUICK — pipelines/RESULTS-points.md from the
# runs pipelines/points.sh left in OUT (tal-map JSON, times, metrics,
# diagnostics).  Every number below is read from those files.  GROW and
# GROW_NAME (environment): the mining rule points.sh chose for its test rows.
set -eu
out=$1 threads=$2 quick=$3 jobs=${4:-1}
export LC_ALL=C
. pipelines/results-lib.sh   # invocations (the helpers below with its names are this report's own)

# mAP (%) of a run: field "a" (0..6 = tIoU 0.1..0.7) or an average
get() { jq -r "$2" "$out/$1.json"; }
pct() { awk -v x="$1" 'BEGIN { printf "%.1f", 100 * x }'; }
# mean and s.d. (n - 1) of the given numbers, in %, as "m ± s" (or "m" for one)
msd() {
    printf '%s\n' "$@" | awk '{ x[NR] = 100 * $1; s += 100 * $1 } END {
        m = s / NR; v = 0; for (i = 1; i <= NR; i++) v += (x[i] - m) ^ 2
        if (NR > 1) printf "%.1f ± %.1f", m, sqrt(v / (NR - 1)); else printf "%.1f", m }'
}
mean() { printf '%s\n' "$@" | awk '{ s += 100 * $1 } END { printf "%.2f", s / NR }'; }
sdv() { printf '%s\n' "$@" | awk '{ x[NR] = 100 * $1; s += 100 * $1 } END {
        m = s / NR; v = 0; for (i = 1; i <= NR; i++) v += (x[i] - m) ^ 2; printf "%.2f", (NR > 1 ? sqrt(v / (NR - 1)) : 0) }'; }
seeds_of() { for f in "$out"/"$1"-[0-9]-"$2".json; do [ -f "$f" ] && basename "$f" .json | sed "s/^$1-\([0-9]\)-.*/\1/"; done; }
vals() {   # vals BENCH ROW JQ: the value over the seeds
    for s in $(seeds_of "$1" "$2"); do get "$1-$s-$2" "$3"; done
}
train_s() { for s in $(seeds_of "$1" "$2"); do cut -d' ' -f1 "$out/$1-$s-$2.time"; done | awk '{ s += $1 } END { printf "%.0f", s / NR }'; }
runtime() { awk '{ printf "%.0f", $1 }' "$out/$1.time"; }
epochs_of() { cut -d' ' -f3 "$out/$1.time"; }
nseeds() { seeds_of "$1" all | wc -l | tr -d ' '; }

row_full() {   # row_full BENCH ROW LABEL: a Table 2 line with every threshold
    b=$1 r=$2
    line="| $3"
    for i in 0 1 2 3 4 5 6; do line="$line | $(msd $(vals "$b" "$r" ".mAP[$i]"))"; done
    line="$line | $(msd $(vals "$b" "$r" '.averages["0.1:0.5"]')) | $(msd $(vals "$b" "$r" '.averages["0.3:0.7"]'))"
    line="$line | **$(msd $(vals "$b" "$r" '.averages["0.1:0.7"]'))** | $(train_s "$b" "$r") s |"
    echo "$line"
}
table2() {   # table2 BENCH
    echo "| modules | 0.1 | 0.2 | 0.3 | 0.4 | 0.5 | 0.6 | 0.7 | AVG 0.1:0.5 | AVG 0.3:0.7 | AVG 0.1:0.7 | train time |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    row_full "$1" base "baseline (video + point loss at the annotated points)"
    row_full "$1" A "+ A label extension"
    row_full "$1" B "+ B pseudo-label mining"
    row_full "$1" C "+ C score contrast"
    row_full "$1" D "+ D feature separation"
    row_full "$1" all "A + B + C + D (FS-PTAL)"
    row_full "$1" Bgrow "+ B mining, $GROW_NAME (chosen on held-out sequences)"
    row_full "$1" allgrow "A + B + C + D, mining $GROW_NAME"
}
# the change a module makes over the baseline: mean difference of paired seeds, its s.d.
delta() {   # delta BENCH ROW [BASE]
    for s in $(seeds_of "$1" "$2"); do
        echo "$(get "$1-$s-$2" .average) $(get "$1-$s-${3:-base}" .average)"
    done | awk '{ d[NR] = 100 * ($1 - $2); s += d[NR] } END {
        if (NR == 0) { printf "n/a (not run)"; exit }
        m = s / NR; v = 0; for (i = 1; i <= NR; i++) v += (d[i] - m) ^ 2; sd = (NR > 1 ? sqrt(v / (NR - 1)) : 0)
        verdict = (NR < 2 ? "one seed" : (m > 2 * sd / sqrt(NR) && m > sd ? "adds" : (m < -2 * sd / sqrt(NR) && -m > sd ? "hurts" : "within the spread")))
        printf "%+.1f (s.d. %.1f over %d seeds: %s)", m, sd, NR, verdict }'
}
short() {   # short RUN: 0.1 0.3 0.5 0.7 and AVG 0.1:0.7 of one run
    printf '%s | %s | %s | %s | **%s**' "$(pct "$(get "$1" '.mAP[0]')")" "$(pct "$(get "$1" '.mAP[2]')")" \
        "$(pct "$(get "$1" '.mAP[4]')")" "$(pct "$(get "$1" '.mAP[6]')")" "$(pct "$(get "$1" .average)")"
}
q() { jq -r "$2" "$out/$1.quality" | awk '{ printf "%.1f", 100 * $1 }'; }
qs() { jq -r "$2" "$out/$1.quality" | awk '{ printf "%.1f", $1 }'; }
diag_col() {   # diag_col RUN CATEGORY: the 1G column (top-1 prediction) of tal-map --diagnose
    awk -v c="$2" 'index($0, c) == 3 && NF >= 12 && !done { print $(NF - 10); done = 1 }' "$out/$1.diagnose"
}
diag_gain() { awk -v c="$2" '/removing each error type adds/ { on = 1; next } on && index($0, c) == 3 { print $NF; exit }' "$out/$1.diagnose"; }

# the mining rule of points.sh's test rows (its GROW) and its name
: "${GROW:?points-report: GROW (points.sh's mining rule) is not set}" "${GROW_NAME:?points-report: GROW_NAME is not set}"
th=thumos
for f in "$out/thumos-0-all.bscore" "$out/thumos-0-base.bscore" "$out/dev-thumos/all.curve" "$out/dev-hapt/all.curve" \
         "$out/thumos-0-all.diagnose" "$out/recipe.log"; do
    [ -f "$f" ] || { echo "points-report: '$f' is missing: run pipelines/points.sh" >&2; exit 1; }
done
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
total=$(cat "$out"/*.time | awk '{ s += $1 + $2 } END { printf "%.0f", s }')
total_cpu=$(cat "$out"/*.time | awk '{ s += $4 } END { printf "%.0f", s }')
echo "# FS-PTAL: point-supervised temporal action localization (\`make results-points\`)"
echo
echo "Regenerated by \`make results-points\` (pipelines/points.sh$([ "$quick" = 1 ] && echo ', QUICK=1: a smoke run, not results')) on"
echo "$(date -u +%Y-%m-%d), $(nproc) cores ($cpu), $jobs part(s) side by side, $threads thread(s) per tool,"
echo "$(sh pipelines/products.sh) matrix products in this invocation's tools (parts kept from earlier runs keep theirs)."
echo "Costs are what this run measured on a machine that may be shared with other jobs: upper bounds."
echo "The method: \`man -l man/fs-ptal.7\` (and \`man -l man/lblext.1\` for label"
echo "extension), with every reading of the paper's garbled formulas.  mAP (%) on"
echo "the test sequences at tIoU 0.1:0.1:0.7, ActivityNet protocol"
echo "(\`tal-map --tiou 0.1:0.1:0.7\`); \"± s.d.\" over $(nseeds $th) seeds: seed s draws the"
echo "synthetic features (talsynth --seed s) or HAPT's points (labelsplit --seed s),"
echo "and trains with --seed s.  No setting was chosen on the test sequences: the"
echo "epochs come from the dev curve below (40 training videos held out)."
echo
echo "| benchmark | training | test | points | features |"
echo "|---|---|---|---|---|"
echo "| THUMOS14 layout | 200 validation videos | 212 test videos | LACP's (automatic, near each instance's centre), 3003 | talsynth default preset, 128-d, 16-frame snippets at 30 fps (0.53 s) |"
echo "| UCI HAPT (real) | 42 recordings | 19 recordings | one per instance, labelsplit --points gaussian (s.d. 0.1 of its length) | 48 window statistics, 0.5 s snippets |"
echo "| GTEA layout | 21 videos | 7 videos | SF-Net's manual (annotator 1) | talsynth default, 8-frame snippets (0.27 s) |"
echo "| BEOID layout | 46 videos | 12 videos | SF-Net's manual (annotator 1) | talsynth default, 8-frame snippets (0.27 s) |"
echo
echo "Commands of one run (here THUMOS14, seed 0, the full model; the others"
echo "change the stream and the \`-s\` settings as the tables say):"
echo
echo '```'
echo "featpack -a data/thumos14/gt_full.json -s validation -o - | talsynth --seed 0 -o train.tal"
echo "featpack -a data/thumos14/gt_full.json -s test -o - | talsynth --seed 0 -o test.tal"
echo "labelsplit -r 1 --points-file data/thumos14/lacp/point_labels.csv -o pts.tal train.tal"
echo "lblext pts.tal -o ext.tal                                   # module A"
echo "tal-train --threads $threads -c pipelines/configs/fs-ptal-synth.yaml --seed 0 ext.tal -o all.ckpt"
echo "tal-detect all.ckpt test.tal | tal-map --gt test.tal --tiou 0.1:0.1:0.7 -"
echo "# without a module: -s fs_ptal.mining=none (B), -s fs_ptal.score_contrast=false (C),"
echo "# -s fs_ptal.feature_separation=false (D), pts.tal instead of ext.tal (A)"
echo '```'
echo
echo "## Ablation (the paper's Table 2), THUMOS14 layout, $(epochs_of "$th-0-all") epochs"
echo
table2 $th
echo
echo "## The same layout without action look-alikes in the background"
echo
echo "talsynth (man talsynth) puts a look-alike of the neighbouring action's class"
echo "(weight 0.65) on each side of half the instances: background that looks like"
echo "the action it borders.  The same seeds and settings on features made without"
echo "them (\`talsynth --lookalike-rate 0\`):"
echo
echo "| modules | 0.1 | 0.3 | 0.5 | 0.7 | AVG 0.1:0.5 | AVG 0.3:0.7 | AVG 0.1:0.7 | train time |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for r in base:"baseline" B:"+ B pseudo-label mining" all:"A + B + C + D (FS-PTAL)"; do
    n=${r%%:*}
    echo "| ${r#*:} | $(msd $(vals thumos-nolook "$n" '.mAP[0]')) | $(msd $(vals thumos-nolook "$n" '.mAP[2]')) | $(msd $(vals thumos-nolook "$n" '.mAP[4]')) | $(msd $(vals thumos-nolook "$n" '.mAP[6]')) | $(msd $(vals thumos-nolook "$n" '.averages["0.1:0.5"]')) | $(msd $(vals thumos-nolook "$n" '.averages["0.3:0.7"]')) | **$(msd $(vals thumos-nolook "$n" .average))** | $(train_s thumos-nolook "$n") s |"
done
echo
echo "Paired by seed: mining over the baseline $(delta thumos-nolook B); all four over"
echo "the baseline $(delta thumos-nolook all).  Label extension alone (A) over the baseline here:"
echo "$(delta thumos-nolook A), against $(delta thumos A) with the look-alikes."
echo
echo "Without talsynth's white noise per snippet (\`--ambient 0\`), which label"
echo "extension's interpolation averages away near the points: baseline"
echo "$(msd $(vals thumos-noamb base .average)), label extension alone"
echo "$(msd $(vals thumos-noamb A .average)); over the baseline $(delta thumos-noamb A) (finding 4)."
echo "Without its change from an action's start to its middle and end (\`--drift 0\`):"
echo "the label-extension table under the HAPT ablation."
echo
echo "How much the features change from one snippet to the next (mean distance;"
echo "pipelines/step-change.jq, the first 20 training sequences of seed 0), within"
echo "1 s of a point and further away, on the pointed sequences and after label extension:"
echo
echo "| benchmark | near, points | near, extended | away, points | away, extended |"
echo "|---|---:|---:|---:|---:|"
for b in thumos:"THUMOS14 layout" thumos-noamb:"THUMOS14 layout, no white noise" hapt:"HAPT"; do
    jq -r --arg n "${b#*:}" 'def r: . * 1000 | round / 1000;
        "| \($n) | \(.pts.near | r) | \(.ext.near | r) | \(.pts.far | r) | \(.ext.far | r) |"' "$out/${b%%:*}-0.stepchange"
done
echo
echo "## Ablation, UCI HAPT, $(epochs_of hapt-0-all) epochs"
echo
table2 hapt
echo
echo "Score contrast on the extended points (A + C against A, paired by seed):"
echo "$(delta hapt AC A); on the annotated points alone (C against the baseline): $(delta hapt C)."
echo
echo "HAPT's config leaves the video loss out (\`fs_ptal.lambda_vid: 0\`): every"
echo "recording holds all 12 classes, so the tags the points imply are all ones and"
echo "the loss has no negative to learn from (man fs-ptal).  Its inference keeps"
echo "every class (\`test.fs_ptal_video_thresh: 0\`) for the same reason: the video"
echo "score the paper's class filter reads is not trained without that loss, and a"
echo "class whose scores the point loss holds down elsewhere falls under 0.25 on"
echo "every recording and loses all its detections (chosen on held-out recordings:"
echo "the baseline there goes from $(msd $(vals mdev-hapt base-vf .average)) with the filter to $(msd $(vals mdev-hapt base .average)) without;"
echo "mining as the paper does, from $(msd $(vals mdev-hapt B-vf .average)) to $(msd $(vals mdev-hapt B .average))).  With the paper's"
echo "video loss and class filter (lambda_vid 1, fs_ptal_video_thresh 0.25), the"
echo "same runs otherwise (seed 0):"
echo
echo "| modules | 0.1 | 0.3 | 0.5 | 0.7 | AVG 0.1:0.7 |"
echo "|---|---:|---:|---:|---:|---:|"
for r in base-vid:baseline all-vid:"A + B + C + D (FS-PTAL)"; do
    n=${r%%:*}
    echo "| ${r#*:}, lambda_vid 1 | $(msd $(vals hapt "$n" '.mAP[0]')) | $(msd $(vals hapt "$n" '.mAP[2]')) | $(msd $(vals hapt "$n" '.mAP[4]')) | $(msd $(vals hapt "$n" '.mAP[6]')) | **$(msd $(vals hapt "$n" .average))** |"
done
echo
echo "What each module changes, paired by seed (AVG 0.1:0.7, points):"
echo
echo "| module | THUMOS14 layout | HAPT |"
echo "|---|---|---|"
for r in A B C D; do
    case $r in A) n="A label extension" ;; B) n="B mining" ;; C) n="C score contrast" ;; D) n="D feature separation" ;; esac
    echo "| $n, over the baseline | $(delta $th $r) | $(delta hapt $r) |"
done
echo "| all four, over the baseline | $(delta $th all) | $(delta hapt all) |"
echo "| B mining background only (gamma_act 0: no mined action; a diagnostic), over the baseline | $(delta $th Bbkg) | $(delta hapt Bbkg) |"
echo "| B mining, $GROW_NAME (chosen below), over the baseline | $(delta $th Bgrow) | $(delta hapt Bgrow) |"
echo "| all four, mining $GROW_NAME, over the baseline | $(delta $th allgrow) | $(delta hapt allgrow) |"
echo "| all four, mining $GROW_NAME, over all four as the paper mines | $(delta $th allgrow all) | $(delta hapt allgrow all) |"
echo
echo "Label extension taken apart (\`lblext\` twice more on the same points, the"
echo "baseline's settings otherwise): the labels spread at the original positions"
echo "(\`--tau1 1 --tau2 1\`: the features keep their bytes, each point labels itself"
echo "and the snippet either side), and the features resampled with each point"
echo "labelling only its nearest new position (\`--theta 0.2\`).  AVG 0.1:0.7, mean ±"
echo "s.d., and below it the change over the baseline paired by seed:"
echo
echo "| training stream | THUMOS14 layout | THUMOS14 layout, no drift | HAPT |"
echo "|---|---:|---:|---:|"
for r in base:"points (the baseline)" Alab:"labels spread, features as they are" Awarp:"features resampled, labels not spread" A:"both (label extension)"; do
    n=${r%%:*} line="| ${r#*:} |" dline="| over the baseline |"
    for b in $th thumos-nodrift hapt; do
        line="$line $(msd $(vals $b "$n" .average)) |"
        [ "$n" = base ] || dline="$dline $(delta $b "$n") |"
    done
    echo "$line"
    [ "$n" = base ] || echo "$dline"
done
echo
echo "Without the video loss (lambda_vid 0, every class kept at inference), THUMOS14"
echo "layout: the baseline $(msd $(vals $th base-novid .average)), the features resampled"
echo "$(msd $(vals $th Awarp-novid .average)); over that baseline $(delta $th Awarp-novid base-novid)."
echo
echo "## Mining that cannot feed on itself, compared on held-out training sequences"
echo
echo "Alg. 2 mines, as action, every snippet of low b between an annotated point"
echo "and the nearest background point, whatever lies between (finding 2).  Two"
echo "switches limit how mining can feed on itself (man fs-ptal):"
echo "\`fs_ptal.mine_reach=contiguous\` (c: action grows outward from each point"
echo "and stops at the first snippet that fails the threshold or the class check)"
echo "and \`fs_ptal.mined_trains_b=false\` (d: b is a constant wherever mining's"
echo "labels enter a loss).  Each seed holds out part of its training sequences"
echo "with their ground truth (THUMOS14: 40 of 200 videos; HAPT: a quarter of the"
echo "recordings, points drawn for the rest) and trains on the others as the test"
echo "rows do; AVG 0.1:0.7 mAP (%) on the held-out part, mean ± s.d. over 3 seeds,"
echo "and the change over the baseline paired by seed.  The rule the test rows above"
echo "use is chosen from this table."
echo
echo "| rule | THUMOS14 layout, held out | over the baseline | HAPT, held out | over the baseline |"
echo "|---|---:|---|---:|---|"
for r in base B Bbkg Bc Bd Bcd all allc alld allcd; do
    case $r in
    base) n="baseline (no mining)" ;; B) n="B: Alg. 2 (the paper)" ;; Bbkg) n="B, background only (gamma_act 0)" ;;
    Bc) n="B, c" ;; Bd) n="B, d" ;; Bcd) n="B, c + d" ;; all) n="A + B + C + D (the paper)" ;;
    allc) n="A + B + C + D, c" ;; alld) n="A + B + C + D, d" ;; allcd) n="A + B + C + D, c + d" ;;
    esac
    if [ "$r" = base ]; then
        echo "| $n | $(msd $(vals mdev-$th base .average)) | | $(msd $(vals mdev-hapt base .average)) | |"
    else
        echo "| $n | $(msd $(vals mdev-$th "$r" .average)) | $(delta mdev-$th "$r") | $(msd $(vals mdev-hapt "$r" .average)) | $(delta mdev-hapt "$r") |"
    fi
done
echo
echo "The models of the THUMOS14 column, trained on 160 videos, on the 212 test"
echo "videos instead of the 40 held out: baseline $(msd $(vals mdev-thumos base-ontest .average)), A + B + C + D"
echo "$(msd $(vals mdev-thumos all-ontest .average)) ($(delta mdev-thumos all-ontest base-ontest)), with $GROW_NAME"
echo "$(msd $(vals mdev-thumos all$GROW-ontest .average)) ($(delta mdev-thumos all$GROW-ontest base-ontest)) (finding 6)."
echo
echo "Score contrast alone (C) on the same held-out HAPT recordings, at its"
echo "weight and at a tenth of it, over the baseline: lambda_score 1"
echo "$(msd $(vals mdev-hapt C-w1 .average)), $(delta mdev-hapt C-w1); lambda_score 0.1 $(msd $(vals mdev-hapt C-w0.1 .average)),"
echo "$(delta mdev-hapt C-w0.1) (finding 4)."
echo
echo "Per class on HAPT's test recordings (seed 0): AP (%) averaged over tIoU"
echo "0.1:0.7, and in brackets the detections the class gets.  Alg. 2 mines a"
echo "snippet for the point on either side whose class is its top class; across a"
echo "gap that can be the next instance's class, so a class the network confuses"
echo "with a neighbour can lose snippets, and detections, to it (finding 2):"
echo
hdr="| model" sep="|---"
for l in $(jq -r '.per_class[].label' "$out/hapt-0-base.json"); do hdr="$hdr | $(echo "$l" | tr 'A-Z_' 'a-z ')"; sep="$sep|---:"; done
echo "$hdr |"
echo "$sep|"
for r in base:"baseline" B:"B: Alg. 2" Bgrow:"B, $GROW_NAME" Bbkg:"B, background only"; do
    echo "| ${r#*:} | $(jq -r '[.per_class[] | "\(.average * 1000 | round / 10) (\(.detections))"] | join(" | ")' "$out/hapt-0-${r%%:*}.json") |"
done
echo
echo "## The schedule: THUMOS14 at 150 epochs"
echo
echo "The baseline's held-out curve (Cost, below) still rises at 150 epochs, the"
echo "full model's levelled off from 60: the same runs at 150 epochs, 3 seeds."
echo
echo "| model | 80 epochs | 150 epochs | train time at 150 |"
echo "|---|---:|---:|---:|"
for r in base:"baseline" all:"A + B + C + D (FS-PTAL)" allgrow:"A + B + C + D, mining $GROW_NAME"; do
    n=${r%%:*}
    echo "| ${r#*:} | $(msd $(vals $th "$n" .average)) | $(msd $(vals $th "$n-e150" .average)) | $(train_s $th "$n-e150") s |"
done
echo
echo "Paired by seed at 150 epochs: all four over the baseline $(delta $th all-e150 base-e150); with"
echo "mining $GROW_NAME, $(delta $th allgrow-e150 base-e150)."
echo
echo "## GTEA and BEOID layouts (the paper's Table 5), $(epochs_of gtea-0-all) and $(epochs_of beoid-0-all) epochs"
echo
echo "| benchmark | model | 0.1 | 0.3 | 0.5 | 0.7 | AVG 0.1:0.7 | train time |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for b in gtea beoid; do
    for r in base all; do
        echo "| $b | $([ $r = all ] && echo FS-PTAL || echo baseline) | $(msd $(vals $b $r '.mAP[0]')) | $(msd $(vals $b $r '.mAP[2]')) | $(msd $(vals $b $r '.mAP[4]')) | $(msd $(vals $b $r '.mAP[6]')) | **$(msd $(vals $b $r .average))** | $(train_s $b $r) s |"
    done
done
echo
echo "## Variants, THUMOS14 layout, seed 0"
echo
echo "| variant | 0.1 | 0.3 | 0.5 | 0.7 | AVG 0.1:0.7 | train time |"
echo "|---|---:|---:|---:|---:|---:|---:|"
echo "| FS-PTAL (mining Alg. 2, optimised OIC, LACP's automatic points, tau [2.5, 1.67], psi 0.9 / 0.1) | $(short $th-0-all) | $(runtime $th-0-all) s |"
echo "| mining: LACP's rule (gamma_bkg 0.95, gamma_act 0.1, no class check) | $(short $th-0-lacp-mining) | $(runtime $th-0-lacp-mining) s |"
echo "| OIC: the original, flanks clipped only at the ends (Table 7) | $(short $th-0-original-oic) | $(runtime $th-0-original-oic) s |"
echo "| points: SF-Net's manual ones, annotator 1 (Table 6) | $(short $th-0-sfnet) | $(runtime $th-0-sfnet) s |"
for tau in 2.5:2 2.5:1.5 2:1.67 3:1.67; do
    echo "| tau [${tau%:*}, ${tau#*:}] (Table 3) | $(short "$th-0-tau-$tau") | $(runtime "$th-0-tau-$tau") s |"
done
for p in 0.75 0.8 0.85 0.95; do
    echo "| psi_same $p (Table 3) | $(short "$th-0-psi_same-$p") | $(runtime "$th-0-psi_same-$p") s |"
done
for p in 0.05 0.15 0.2 0.25; do
    echo "| psi_diff $p (Table 3) | $(short "$th-0-psi_diff-$p") | $(runtime "$th-0-psi_diff-$p") s |"
done
echo
echo "Differences between one-seed variants smaller than the seed spread of the"
echo "full model above ($(sdv $(vals $th all .average)) points on THUMOS14) are not findings."
echo
echo "## Side by side: the segment detector on full labels and on widened points"
echo
echo "The ActionFormer-style detector (pipelines/configs/actionformer-{synth,hapt}.yaml,"
echo "as in RESULTS-supervised.md) trained on the full segments (the upper bound the"
echo "paper measures its gap to) and on segments of fixed length around each point"
echo "(\`labelsplit --point-segments W\`, W half the median gap between consecutive"
echo "points of a sequence: $(cat "$out/$th-0-naive.width") s on THUMOS14, $(cat "$out/hapt-0-naive.width") s on HAPT,"
echo "from the points alone), seed 0, against FS-PTAL on the same sequences."
echo
echo "| benchmark | model | supervision | 0.1 | 0.3 | 0.5 | 0.7 | AVG 0.1:0.7 | train time |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|"
for b in $th hapt; do
    echo "| $b | ActionFormer-style | full segments | $(short "$b-0-af-full") | $(runtime "$b-0-af-full") s |"
    echo "| $b | ActionFormer-style | points widened to segments | $(short "$b-0-af-naive") | $(runtime "$b-0-af-naive") s |"
    echo "| $b | FS-PTAL | points | $(short "$b-0-all") | $(runtime "$b-0-all") s |"
    echo "| $b | FS-PTAL baseline | points | $(short "$b-0-base") | $(runtime "$b-0-base") s |"
done
echo
echo "## Error analysis (the paper's Fig. 7), THUMOS14 layout, seed 0"
echo
echo "\`tal-map --diagnose\`: the top-1 prediction per ground-truth instance of each"
echo "class at tIoU 0.5 (DETAD's 1G column), and the mAP at 0.5 each error type costs."
echo
echo "| | true positive | double detection | wrong label | localization | confusion | background |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for m in all base; do
    echo "| $([ $m = all ] && echo FS-PTAL || echo baseline), top-1 (%) | $(diag_col $th-0-$m 'true positive') | $(diag_col $th-0-$m 'double detection') | $(diag_col $th-0-$m 'wrong label') | $(diag_col $th-0-$m 'localization') | $(diag_col $th-0-$m 'confusion') | $(diag_col $th-0-$m 'background') |"
    echo "| $([ $m = all ] && echo FS-PTAL || echo baseline), mAP@0.5 removing it adds | | $(diag_gain $th-0-$m 'double detection') | $(diag_gain $th-0-$m 'wrong label') | $(diag_gain $th-0-$m 'localization') | $(diag_gain $th-0-$m 'confusion') | $(diag_gain $th-0-$m 'background') |"
done
echo
echo "The full reports: $out/thumos-0-{all,base}.diagnose."
echo
echo "## Pseudo labels (the paper's Fig. 4)"
echo
echo "What mining labels on the training videos with each trained model's scores"
echo "(\`tal-detect --pseudo\`; at inference, without dropout), against their ground"
echo "truth (pipelines/pseudo-quality.jq): the share of pseudo action time inside an"
echo "instance of its class (precision) and of instance time it covers (coverage);"
echo "the same for pseudo background outside every instance."
echo
echo "| model, benchmark | action precision | action coverage | background precision | background coverage | action s / sequence | background s / sequence |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for r in $th-0-all:"FS-PTAL, THUMOS14" $th-0-B:"+ B only, THUMOS14" $th-0-lacp-mining:"FS-PTAL with LACP's rule, THUMOS14" \
         thumos-nolook-0-all:"FS-PTAL, THUMOS14 without look-alikes" thumos-nolook-0-B:"+ B only, THUMOS14 without look-alikes" \
         hapt-0-all:"FS-PTAL, HAPT" hapt-0-B:"+ B only, HAPT"; do
    n=${r%%:*}
    echo "| ${r#*:} | $(q "$n" .act_precision) | $(q "$n" .act_coverage) | $(q "$n" .bkg_precision) | $(q "$n" .bkg_coverage) | $(qs "$n" .act_s) | $(qs "$n" .bkg_s) |"
done
echo
echo "The background score b the thresholds of mining read, on the THUMOS14"
echo "training snippets (seed 0; \`tal-detect --dist\`), inside and outside their instances:"
echo
echo "| model | snippets | median b | share with b > 0.85 (gamma_bkg) | share with b <= 0.25 (gamma_act) |"
echo "|---|---:|---:|---:|---:|"
for r in thumos-0-all:"FS-PTAL" thumos-0-base:"baseline" thumos-0-B:"+ B only" thumos-0-Bgrow:"+ B only, $GROW_NAME" \
         thumos-0-Bbkg:"+ B only, background (gamma_act 0)" \
         mdev-thumos-0-base:"baseline, 160 videos" mdev-thumos-0-B:"+ B only, 160 videos" \
         mdev-thumos-0-Bd:"+ B only, b not trained by mining's labels, 160 videos"; do
    while read -r where n med hi lo; do
        echo "| ${r#*:}, $where instances | $n | $med | $(pct "$hi") % | $(pct "$lo") % |"
    done < "$out/${r%%:*}.bscore"
done
echo
echo "(The last three: the models of the held-out comparison below, on all 200"
echo "training videos, 40 of which they did not train on.)"
echo
echo "How that comes about: what mining labels during training (the metrics'"
echo "mined_act and mined_bkg, snippets per sequence, averaged over each quarter"
echo "of the epochs, then over the seeds), with its own scores of each step:"
echo
echo "| model, benchmark | 1st quarter: action / background | 2nd | 3rd | 4th |"
echo "|---|---:|---:|---:|---:|"
for r in $th:B:"+ B only, THUMOS14" $th:all:"FS-PTAL, THUMOS14" hapt:B:"+ B only, HAPT" hapt:all:"FS-PTAL, HAPT"; do
    b=${r%%:*} rest=${r#*:}
    m=${rest%%:*}
    cells=$(for s in $(seeds_of "$b" "$m"); do
                jq -rs '[.[] | select(.kind == "epoch")] | length as $n
                        | [range(0; 4) as $q | .[($n * $q / 4 | floor):($n * ($q + 1) / 4 | floor)]
                           | if length > 0 then [(map(.mined_act) | add / length), (map(.mined_bkg) | add / length)]
                             else [-1, -1] end] | flatten | @tsv' \
                    "$out/$b-$s-$m.metrics"
            done | awk -F'\t' '{ for (i = 1; i <= NF; i++) { s[i] += $i; if ($i < 0) bad[i] = 1 } n++ }
                        END { for (q = 0; q < 4; q++)   # n/a: no run, or a quarter without an epoch
                                  if (n && !bad[2*q+1]) printf "%s%.1f / %.1f", (q ? " | " : ""), s[2*q+1] / n, s[2*q+2] / n
                                  else printf "%sn/a", (q ? " | " : "") }')
    echo "| ${rest#*:} | $cells |"
done
echo
echo "A test sequence (video_test_0000173, the paper's Fig. 6; points drawn near"
echo "each instance's centre as LACP's are): ground truth, points, what the full"
echo "model mines with them, its detections and its final class scores:"
echo "$out/timeline.svg (\`talplot\`)."
echo
echo "## Cost, and the curve the epochs were chosen on"
echo
echo "The paper trains THUMOS14 for 1500 epochs of 16 videos (18,750 steps); LACP"
echo "for 2000 steps.  Here $(epochs_of "$th-0-all") epochs of 16 on THUMOS14 (about $(( $(epochs_of "$th-0-all") * 12 )) steps) and"
echo "$(epochs_of hapt-0-all) of 8 on HAPT ($(( $(epochs_of hapt-0-all) * 5 )) steps), chosen on curves of training sequences held"
echo "out with their ground truth (THUMOS14: 40 of the 200, the model trained on the"
echo "other 160; HAPT: 10 of the 42 recordings): AVG 0.1:0.7 mAP (%) on them."
echo
for b in thumos hapt; do
    printf '| %s, epochs |' "$b"
    awk '{ printf " %s |", $1 }' "$out/dev-$b/all.curve"
    echo
    printf '|---|'
    awk '{ printf "---:|" }' "$out/dev-$b/all.curve"
    echo
    printf '| FS-PTAL |'
    awk '{ printf " %.1f |", 100 * $2 }' "$out/dev-$b/all.curve"
    echo
    printf '| baseline |'
    awk '{ printf " %.1f |", 100 * $2 }' "$out/dev-$b/base.curve"
    echo
    echo
done
echo "Training loss of the full model on THUMOS14 (seed 0; the loss terms, and the"
echo "snippets per video that mining labelled in the last step of the epoch):"
echo
echo "| epoch | loss | vid | point | score | fs | mined action | mined background |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
grep '"kind":"epoch"' "$out/$th-0-all.metrics" | jq -r 'select(.epoch % 10 == 0 or .epoch == 1) |
    "| \(.epoch) | \(.loss * 100 | round / 100) | \(.vid * 100 | round / 100) | \(.point * 100 | round / 100) | \(.score * 1000 | round / 1000) | \(.fs * 1000 | round / 1000) | \(.mined_act | round) | \(.mined_bkg | round) |"'
echo
echo "| stage | runs | wall seconds (training + detection) | CPU seconds |"
echo "|---|---:|---:|---:|"
abl="base A Alab Awarp base-novid Awarp-novid B C D all Bbkg Bgrow allgrow base-e150 all-e150 allgrow-e150"
for g in "$(for r in $abl; do printf 'thumos-[0-9]-%s ' "$r"; done):ablation, THUMOS14" \
         "thumos-nolook-* thumos-noamb-* thumos-nodrift-*:THUMOS14 without look-alikes, white noise, drift" \
         "$(for r in $abl AC; do printf 'hapt-[0-9]-%s ' "$r"; done)hapt-[0-9]-*-vid:ablation, HAPT" \
         "mdev-*:mining rules on held-out sequences" \
         "gtea-[0-9]-* beoid-[0-9]-*:GTEA and BEOID" "thumos-0-lacp* thumos-0-orig* thumos-0-sf* thumos-0-tau* thumos-0-psi*:variants" \
         "*-af-*:ActionFormer-style side by side"; do
    pats=${g%%:*} n=0 secs=0 cpus=0
    for p in $pats; do
        for f in "$out"/$p.time; do
            [ -f "$f" ] || continue
            n=$((n + 1))
            secs=$(awk -v s="$secs" '{ printf "%.0f", s + $1 + $2 }' "$f")
            cpus=$(awk -v s="$cpus" '{ printf "%.0f", s + $4 }' "$f")
        done
    done
    echo "| ${g#*:} | $n | $secs | $cpus |"
done
echo "| all runs | $(ls "$out"/*.time | wc -l | tr -d ' ') | $total | $total_cpu |"
echo
invocations "$out/recipe.log" "the whole recipe from nothing, with data, diagnostics and the dev curves"
[ -f pipelines/points-findings.md ] && { echo; cat pipelines/points-findings.md; }
exit 0
