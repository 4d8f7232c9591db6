#!/usr/bin/env bats
# talsynth: synthetic features on real annotation layouts.

load test_helper

# Every 20th THUMOS14 video of each role (small: the tests stay fast).
small_gt() {
    featpack -q -a "$DATA/thumos14/gt_full.json" -o all.tal
    talcat -j all.tal | jq -r 'select(.role == "train") | .id' | awk 'NR % 20 == 1' > tr.ids
    talcat -j all.tal | jq -r 'select(.role == "test") | .id' | awk 'NR % 20 == 1' > te.ids
    talcat -q --ids tr.ids all.tal -o tr.tal
    talcat -q --ids te.ids all.tal -o te.tal
    cat tr.tal te.tal > gt.tal
}

@test "talsynth --help prints usage on stdout and exits 0" {
    run --separate-stderr talsynth --help
    [ "$status" -eq 0 ]
    [[ "$output" == Usage:\ talsynth* ]]
    [[ "$output" == *"--preset"*"--report"* ]]
    [ -z "$stderr" ]
    run talsynth --version
    [ "$status" -eq 0 ]
    [[ "$output" == "talsynth (talcore) "* ]]
}

@test "talsynth: usage errors (exit 2) name the option, and write nothing" {
    run --separate-stderr talsynth --bogus
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"unrecognized option"* ]]
    run --separate-stderr talsynth --preset medium x.tal
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"invalid --preset 'medium'"* ]]
    run -2 talsynth --preset easy,,thumos -o x.tal
    run -2 talsynth --share 1.5 -o x.tal
    run -2 talsynth --dim 0 -o x.tal
    run -2 talsynth --lookalike -0.1 -o x.tal
    run -2 talsynth --seed abc -o x.tal
    run -2 talsynth --dtype f64 -o x.tal
    run -2 talsynth a.tal b.tal -o x.tal
    run -2 talsynth --measure -o x.tal a.tal
    [ ! -e x.tal ]
}

@test "talsynth: the same sequences, segments and roles with generated features on the grid" {
    small_gt
    talsynth gt.tal -o s.tal
    run sh -c 'talcat -H --json s.tal | jq -c "[.feature_dim, .feature_dtype, .fps, .stride, .clip, (.classes | length)]"'
    [ "$output" = '[128,"f32",30,16,16,20]' ]
    run sh -c 'talcat -H --json s.tal | jq -r .meta.talsynth'
    [[ "$output" == "seed 0 dim 128 latent 32 fps 30 stride 16 clip 16 group-size 3 share 0.95 "* ]]
    cmp <(talcat -j gt.tal | jq -c '[.id, .role, .duration, .segments]') \
        <(talcat -j s.tal | jq -c '[.id, .role, .duration, .segments]')
    # T = floor((duration * fps - clip) / stride) + 1
    run sh -c 'talcat -j s.tal | jq -r "[.T == ((.duration * 30 - 16) / 16 | floor) + 1] | .[]" | sort -u'
    [ "$output" = "true" ]
    talsynth --dim 8 gt.tal -o s8.tal
    run sh -c 'talcat -j --features s8.tal | jq "[.features[][]] | map(select(isnan or isinfinite)) | length" | sort -u'
    [ "$output" = "0" ]
}

@test "talsynth: deterministic by seed: the same command gives identical bytes" {
    small_gt
    talsynth -s 5 -d 32 gt.tal > a.tal
    talsynth -s 5 -d 32 gt.tal > b.tal
    cmp a.tal b.tal
    talsynth -s 6 -d 32 gt.tal > c.tal
    ! cmp -s <(talcat -j --features a.tal) <(talcat -j --features c.tal)
    # a sequence's features do not depend on the other sequences or their order
    talcat -q -n 1 te.tal -o one.tal
    talsynth -s 5 -d 32 one.tal > d.tal
    talcat -j one.tal | jq -r .id > one.ids
    cmp <(talcat -j --features d.tal) <(talcat -j --features --ids one.ids a.tal)
    cat te.tal tr.tal | talsynth -s 5 -d 32 - > e.tal
    cmp <(talcat -j --features e.tal | sort) <(talcat -j --features a.tal | sort)
}

@test "talsynth: reads standard input, writes standard output, keeps point labels" {
    run sh -c "featpack -a '$DATA/thumos14/gt_full.json' -s validation -p '$DATA/thumos14/lacp/point_labels.csv' -o - |
               talcat -n 3 -o - | talsynth -q --dim 64 | talcat --stats -"
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "3 sequences, "* ]]
    [[ "$output" == *"64-d"* ]]
    featpack -q -a "$DATA/thumos14/gt_full.json" -s validation -p "$DATA/thumos14/lacp/point_labels.csv" -o p.tal
    talcat -q -n 2 p.tal -o p2.tal
    talsynth p2.tal -o s.tal
    cmp <(talcat -j p2.tal | jq -c .points) <(talcat -j s.tal | jq -c .points)
}

@test "talsynth: presets: thumos size (2048-d, stride 4, clip 16, 30 fps) and f16; knobs override presets" {
    small_gt
    talcat -q -n 1 gt.tal -o one.tal
    talsynth --preset thumos --dtype f16 one.tal -o big.tal
    run sh -c 'talcat -H --json big.tal | jq -c "[.feature_dim, .feature_dtype, .fps, .stride, .clip]"'
    [ "$output" = '[2048,"f16",30,4,16]' ]
    run sh -c 'talcat -j big.tal | jq -c "[.T == ((.duration * 30 - 16) / 4 | floor) + 1, .D]"'
    [ "$output" = '[true,2048]' ]
    # an explicit knob wins over a preset, wherever it stands
    talsynth --share 0.5 --preset hard,small one.tal -o k.tal
    run sh -c 'talcat -H --json k.tal | jq -r .meta.talsynth'
    [[ "$output" == *" share 0.5 drift 1 "* ]]
    [[ "$output" == *" dim 128 "* ]]
}

@test "talsynth --report: default difficulty is calibrated on THUMOS14 (40-70 % nearest-class-mean accuracy)" {
    featpack -q -a "$DATA/thumos14/gt_full.json" -o all.tal
    run --separate-stderr talsynth --report all.tal
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${lines[2]}" = "sequences     200 reference (role train), 212 held out (role test)" ]
    acc=$(echo "$output" | sed -n 's/^nearest-class-mean snippet accuracy *\([0-9.]*\) %.*/\1/p')
    echo "accuracy $acc"
    awk -v a="$acc" 'BEGIN { exit !(a >= 40 && a <= 70) }'
    [[ "$output" == *"action vs background separability   AUC 0."* ]]
    [[ "$output" == *"most confused class pairs"* ]]
    [[ "$output" == *"confusable groups {"* ]]
    # nothing is written without -o
    [ "$(ls)" = "all.tal" ]
}

@test "talsynth --report: easy > default > hard, and the report matches --measure of the written stream" {
    small_gt
    for p in easy default hard; do
        talsynth -q --report -p "$p" --dim 64 gt.tal > "r-$p.txt"
        sed -n 's/^nearest-class-mean snippet accuracy *\([0-9.]*\) %.*/\1/p' "r-$p.txt" > "a-$p"
    done
    cat r-*.txt
    awk -v e="$(cat a-easy)" -v d="$(cat a-default)" -v h="$(cat a-hard)" 'BEGIN { exit !(e > d && d > h) }'
    talsynth -q --report -p hard --dim 64 gt.tal -o h.tal > r2.txt
    cmp r-hard.txt r2.txt
    talsynth --measure h.tal > m.txt
    cmp <(sed -n '4,6p;8p' r2.txt) <(sed -n '4,7p' m.txt)
    grep -q '^features      64-d, grid fps 30 stride 16 clip 16$' m.txt
}

@test "talsynth --measure: real sensor features (HAPT built by featpack)" {
    mkdir s
    for id in exp01_user01 exp03_user02; do
        cp "$DATA/hapt/RawData/acc_$id.txt.gz" "$DATA/hapt/RawData/gyro_$id.txt.gz" s/
    done
    featpack -q -F s --feature-ext txt.gz --parts 'acc_{},gyro_{}' --sample-rate 50 --window 100 --hop 50 \
        --segment-table "$DATA/hapt/RawData/labels.txt" --table-id 'exp{1:02}_user{2:02}' --table-columns 4,5,3 \
        --classes "$DATA/hapt/activity_labels.txt" --skip-missing -o h.tal 2>/dev/null
    run talsynth --measure h.tal
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "talsynth report on the input's own features" ]
    [ "${lines[2]}" = "sequences     1 reference, 1 held out (halves by id: the input has not both roles)" ]
    [[ "$output" == *"12 classes)"* ]]
}

@test "talsynth: bad input gets one clear line and exit 1, with nothing written" {
    printf 'not a stream' > bad.tal
    run --separate-stderr talsynth bad.tal -o x.tal
    [ "$status" -eq 1 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ "$stderr" == "talsynth: "*"bad.tal"* ]]
    run --separate-stderr talsynth /nonexistent.tal -o x.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"cannot open '/nonexistent.tal'"* ]]
    # features without labels have no class table
    mkdir f
    write_npy f/a.npy 4 3
    featpack -q -F f --fps 10 -o nolab.tal
    run --separate-stderr talsynth nolab.tal -o x.tal
    [ "$status" -eq 1 ]
    [ "$stderr" = "talsynth: 'nolab.tal' has no class table: talsynth needs ground truth" ]
    # a sequence without a duration
    printf 'v 0 9 a\n' > t.txt
    featpack -q --segment-table t.txt --sample-rate 10 -o nodur.tal
    run --separate-stderr talsynth nodur.tal -o x.tal
    [ "$status" -eq 1 ]
    [ "$stderr" = "talsynth: 'v': duration 0 s gives no snippets on the grid" ]
    run --separate-stderr talsynth --measure nodur.tal
    [ "$status" -eq 1 ]
    [ "$stderr" = "talsynth: 'nodur.tal' has no features to measure" ]
    [ ! -e x.tal ]
    # a truncated stream
    featpack -q -a "$DATA/thumos14/gt_full.json" -s test -o t.tal
    head -c 2000 t.tal > cut.tal
    run --separate-stderr talsynth cut.tal -o x.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"cut.tal"* ]]
    [ ! -e x.tal ]
}

@test "talsynth: a failed write (/dev/full) is an error" {
    featpack -q -a "$DATA/thumos14/gt_full.json" -s test -o t.tal
    talcat -q -n 2 t.tal -o two.tal
    run --separate-stderr talsynth two.tal -o /dev/full
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"/dev/full"* ]]
    run --separate-stderr sh -c "talsynth two.tal > /dev/full"
    [ "$status" -eq 1 ]
}
