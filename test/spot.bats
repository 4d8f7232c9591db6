#!/usr/bin/env bats
# spot.bats — the SPOT-style detector through tal-train, tal-detect and
# tal-map: a tiny model trained on a small synthetic stream, its
# detections and distributions, and config errors.

load test_helper

# 16 sequences of the THUMOS14 validation layout, easy 16-d features
small() {
    mkstream gt.tal
    talsynth -q -p easy -d 16 -o all.tal gt.tal
    talcat -q -n 16 all.tal -o small.tal
}

TINY=(-c "$TOP/pipelines/configs/spot-synth.yaml" -s model.channels=16 -s model.heads=2 -s model.stem_blocks=1
      -s model.embd_layers=1 -s spot.temporal_scale=64 -s train.warmup_epochs=1 -s train.lr=3e-3)

@test "spot: a tiny model learns its training sequences; detections in seconds, evaluated by tal-map" {
    small
    run --separate-stderr tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=60 --metrics m.jsonl small.tal -o m.ckpt
    [ "$status" -eq 0 ]
    # the four loss terms are logged, and the loss went down
    grep -q '"cls":.*"mask_bce":.*"dice":.*"recon":' m.jsonl
    first=$(grep '"kind":"epoch"' m.jsonl | head -1 | sed 's/.*"loss":\([^,]*\),.*/\1/')
    last=$(grep '"kind":"epoch"' m.jsonl | tail -1 | sed 's/.*"loss":\([^,]*\),.*/\1/')
    awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a / 2) }'
    run --separate-stderr tal-detect -q --threads 1 m.ckpt small.tal -o d.tal
    [ "$status" -eq 0 ]
    # every detection inside its sequence, with a class and a score
    talcat -j d.tal > d.jsonl
    jq -e -s 'all(.[]; .duration as $d | all(.detections[]; .start >= 0 and .end <= $d + 1e-9 and .start <= .end
                                             and .score > 0 and .score <= 1))' d.jsonl
    [ "$(jq -s '[.[].detections | length] | add' d.jsonl)" -gt 100 ]
    run --separate-stderr tal-map --gt small.tal --thumos d.tal
    [ "$status" -eq 0 ]
    map=$(echo "$output" | awk '$1 == "0.3" { print $2 }')
    awk -v m="$map" 'BEGIN { exit !(m > 50) }'
}

@test "spot: --dist gives each snippet's distribution over the classes and background" {
    small
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=2 small.tal -o m.ckpt
    talcat -q -n 3 small.tal -o three.tal
    run --separate-stderr tal-detect -q --threads 1 --dist m.ckpt three.tal -o d.tal
    [ "$status" -eq 0 ]
    # T x (C+1) = T x 21 per sequence, each row summing to 1
    talcat -j --features d.tal | jq -e '.dist_T == (.dist | length) and .dist_K == 21 and all(.dist[]; length == 21 and ((add - 1) | fabs) < 1e-4)' \
        > ok.txt
    [ "$(grep -c true ok.txt)" -eq 3 ]
}

@test "spot: the same seed gives the same model" {
    small
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=2 small.tal -o a.ckpt
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=2 small.tal -o b.ckpt
    cmp a.ckpt b.ckpt
}

@test "spot: inference thresholds can be changed at detection" {
    small
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=2 small.tal -o m.ckpt
    tal-detect -q m.ckpt small.tal -o a.tal
    tal-detect -q -s 'test.spot_class_thresh=[0.9]' -s 'test.spot_mask_thresh=[0.9]' -s test.spot_top_k=1 \
        m.ckpt small.tal -o b.tal
    na=$(talcat -j a.tal | jq -s '[.[].detections | length] | add')
    nb=$(talcat -j b.tal | jq -s '[.[].detections | length] | add')
    [ "$nb" -lt "$na" ]
    run --separate-stderr tal-detect -q -s 'test.spot_mask_thresh=[]' m.ckpt small.tal -o c.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"'test.spot_mask_thresh' is empty"* ]]
    [ ! -e c.tal ]
    run --separate-stderr tal-detect -q -s spot.temporal_scale=128 m.ckpt small.tal -o c.tal
    [ "$status" -eq 2 ]
}

@test "spot: config errors name the key" {
    small
    # a bad -s is a usage error (2), a bad config file a data error (1)
    run --separate-stderr tal-train "${TINY[@]}" -s spot.temporal_scale=63 small.tal -o m.ckpt
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"'spot.temporal_scale' must be even"* ]]
    run --separate-stderr tal-train "${TINY[@]}" -s 'test.spot_class_thresh=[]' small.tal -o m.ckpt
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"'test.spot_class_thresh' is empty"* ]]
    run --separate-stderr tal-train "${TINY[@]}" -s 'test.spot_class_thresh=[0.5, 1.5]' small.tal -o m.ckpt
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"test.spot_class_thresh"* ]]
    run --separate-stderr tal-train "${TINY[@]}" -s spot.resample=cubic small.tal -o m.ckpt
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"spot.resample"* ]]
    run --separate-stderr tal-train "${TINY[@]}" -s spot.temporal_scale=4 small.tal -o m.ckpt
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"spot.temporal_scale"* ]]
    printf 'model:\n  kind: spot\nspot:\n  mask_bce_weight: 2\n' > bad.yaml
    run --separate-stderr tal-train -c bad.yaml small.tal -o m.ckpt
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"'bad.yaml'"*"line 4"*"spot.mask_bce_weight"* ]]
    [ ! -e m.ckpt ]
}

@test "spot: a model for 16-d features refuses other streams" {
    small
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=1 small.tal -o m.ckpt
    talsynth -q -p easy -d 8 -o other.tal gt.tal
    run --separate-stderr tal-detect -q m.ckpt other.tal -o d.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"16"*"8-d"* ]]
    [ ! -e d.tal ]
}

@test "spot: the shipped configs are valid" {
    for c in spot-hapt spot-synth spot-thumos; do
        run --separate-stderr tal-train -c "$TOP/pipelines/configs/$c.yaml" --print-config
        [ "$status" -eq 0 ]
        [[ "$output" == *"model.kind: spot"* ]]
    done
}
