#!/usr/bin/env bats
# fs-ptal.bats — the point-supervised FS-PTAL detector (man fs-ptal)
# through lblext, tal-train, tal-detect and tal-map: a tiny model on 16
# synthetic THUMOS14 layouts with LACP's points, its modules and
# variants, its inference settings, and config errors.

load test_helper

# 16 sequences of the THUMOS14 validation layout, easy 16-d features;
# LACP's points on them, and the points extended
small() {
    mkstream gt.tal
    talsynth -q -p easy -d 16 -o all.tal gt.tal
    talcat -q -n 16 all.tal -o small.tal
    labelsplit -q -r 1 --points-file "$DATA/thumos14/lacp/point_labels.csv" -o pts.tal small.tal
}

TINY=(-c "$TOP/pipelines/configs/fs-ptal-synth.yaml" -s model.channels=16 -s train.batch_size=4 -s train.lr=3e-3)

@test "fs-ptal: a tiny model learns from points; detections in seconds, scored by tal-map against the segments" {
    small
    run --separate-stderr sh -c "lblext pts.tal | tal-train -q --threads 1 ${TINY[*]} -s train.epochs=40 --metrics m.jsonl - -o m.ckpt"
    [ "$status" -eq 0 ]
    # the loss terms and the mining counts are logged; the loss went down
    grep -q '"vid":.*"point":.*"score":.*"fs":.*"mined_act":.*"mined_bkg":' m.jsonl
    first=$(grep '"kind":"epoch"' m.jsonl | head -1 | jq .loss)
    last=$(grep '"kind":"epoch"' m.jsonl | tail -1 | jq .loss)
    awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.85 * a) }'
    # mining found action and background snippets
    tail -1 m.jsonl | jq -e '.mined_act > 1 and .mined_bkg > 1' > /dev/null
    run --separate-stderr tal-detect -q --threads 1 m.ckpt small.tal -o d.tal
    [ "$status" -eq 0 ]
    talcat -j d.tal | jq -e -s 'all(.[]; .duration as $d | all(.detections[]; .start >= 0 and .end <= $d + 1e-9
                                      and .start < .end))' > /dev/null
    run --separate-stderr tal-map --gt small.tal --tiou 0.3 d.tal
    [ "$status" -eq 0 ]
    map=$(echo "$output" | awk '$1 == "0.3" { print $2 }')
    awk -v m="$map" 'BEGIN { exit !(m > 35) }'
}

@test "fs-ptal: trains only on point-supervised sequences" {
    small
    run --separate-stderr tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=1 small.tal -o m.ckpt
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"no sequences with point supervision to train on (16 with other supervision)"* ]]
    talcat -q pts.tal -o both.tal
    run --separate-stderr tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=1 both.tal -o m.ckpt
    [ "$status" -eq 0 ]
}

@test "fs-ptal: the same seed gives the same model, with and without the modules" {
    small
    for opts in "" "-s fs_ptal.mining=lacp -s fs_ptal.oic=original" \
                "-s fs_ptal.mine_reach=contiguous -s fs_ptal.mined_trains_b=false" \
                "-s fs_ptal.mining=none -s fs_ptal.score_contrast=false -s fs_ptal.feature_separation=false"; do
        tal-train -q --threads 1 "${TINY[@]}" $opts -s train.epochs=2 pts.tal -o a.ckpt
        tal-train -q --threads 1 "${TINY[@]}" $opts -s train.epochs=2 pts.tal -o b.ckpt
        cmp a.ckpt b.ckpt
    done
    # without feature separation the embedding is not in the model
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=1 pts.tal -o f.ckpt
    tal-train -q --threads 1 "${TINY[@]}" -s fs_ptal.feature_separation=false -s train.epochs=1 pts.tal -o c.ckpt
    [ "$(stat -c %s c.ckpt)" -lt "$(stat -c %s f.ckpt)" ]
}

@test "fs-ptal: each module can be switched off, and the loss logs only the terms in use" {
    small
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=1 -s fs_ptal.mining=none -s fs_ptal.score_contrast=false \
        -s fs_ptal.feature_separation=false --metrics m.jsonl pts.tal -o m.ckpt
    tail -1 m.jsonl | jq -e '.mined_act == 0 and .mined_bkg == 0 and .score == 0 and .fs == 0 and .point > 0' > /dev/null
}

@test "fs-ptal: mining that does not train b: the same losses at the first step, another model after it" {
    small
    # one step an epoch: epoch 1's loss is the first step's, from the same weights
    for v in true false; do
        tal-train -q --threads 1 "${TINY[@]}" -s train.batch_size=16 -s train.epochs=3 -s fs_ptal.mined_trains_b=$v \
            --metrics m-$v.jsonl pts.tal -o m-$v.ckpt
    done
    # (the point loss sums annotated and mined points apart: equal to rounding)
    jq -s -e '.[0] as $a | .[1] as $b | ["loss", "point", "score"]
              | all((($a[.] - $b[.]) | fabs) <= 1e-6 * $a[.]) and $a.mined_act > 0' \
        <(head -1 m-true.jsonl) <(head -1 m-false.jsonl) > /dev/null
    # (not `! cmp`: bats does not fail a test on a negated command before its last line)
    run cmp -s m-true.ckpt m-false.ckpt
    [ "$status" -eq 1 ]
}

@test "fs-ptal: --dist gives each snippet's final class scores and background score" {
    small
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=2 pts.tal -o m.ckpt
    talcat -q -n 3 small.tal -o three.tal
    run --separate-stderr tal-detect -q --threads 1 --dist m.ckpt three.tal -o d.tal
    [ "$status" -eq 0 ]
    talcat -j --features d.tal | jq -e '.dist_T == (.dist | length) and .dist_K == 21 and
        all(.dist[][]; . >= 0 and . <= 1)' > ok.txt
    [ "$(grep -c true ok.txt)" -eq 3 ]
}

@test "fs-ptal: inference settings can be changed at detection" {
    small
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=10 pts.tal -o m.ckpt
    tal-detect -q m.ckpt small.tal -o a.tal
    tal-detect -q -s 'test.fs_ptal_thresh=[0.5]' -s test.fs_ptal_video_thresh=0.9 m.ckpt small.tal -o b.tal
    na=$(talcat -j a.tal | jq -s '[.[].detections | length] | add')
    nb=$(talcat -j b.tal | jq -s '[.[].detections | length] | add')
    [ "$nb" -lt "$na" ]
    run --separate-stderr tal-detect -q -s 'test.fs_ptal_thresh=[]' m.ckpt small.tal -o c.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"'test.fs_ptal_thresh' is empty"* ]]
    [ ! -e c.tal ]
}

@test "fs-ptal: config errors name the key" {
    small
    run --separate-stderr tal-train "${TINY[@]}" -s fs_ptal.mining=greedy pts.tal -o m.ckpt
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"fs_ptal.mining"* ]]
    run --separate-stderr tal-train "${TINY[@]}" -s fs_ptal.gamma_bkg=1.5 pts.tal -o m.ckpt
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"fs_ptal.gamma_bkg"* ]]
    printf 'model:\n  kind: fs-ptal\nfs_ptal:\n  oic: best\n' > bad.yaml
    run --separate-stderr tal-train -c bad.yaml pts.tal -o m.ckpt
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"'bad.yaml'"*"line 4"*"fs_ptal.oic"* ]]
    [ ! -e m.ckpt ]
}

@test "fs-ptal: the shipped configs are valid" {
    for c in "$TOP"/pipelines/configs/fs-ptal-*.yaml; do
        run --separate-stderr tal-train -c "$c" --print-config
        [ "$status" -eq 0 ]
        [[ "$output" == *"model.kind: fs-ptal"* ]]
    done
}
