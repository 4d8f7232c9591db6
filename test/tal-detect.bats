#!/usr/bin/env bats
# tal-detect: output records, inference settings, distributions, pipes,
# mismatched models and streams, damaged checkpoints, failed writes.

load test_helper

CFG="$TOP/pipelines/configs/actionformer-tiny.yaml"

# a model trained on 12 synthetic sequences, and 6 others to detect in
setup_model() {
    local c="$BATS_RUN_TMPDIR/detect-cache"
    if [ ! -f "$c/model.ckpt" ]; then
        mkdir -p "$c"
        featpack -q -a "$DATA/thumos14/gt_full.json" -s validation -o - | talcat --head 12 |
            talsynth -q -p easy -d 16 -o "$c/train.tal"
        featpack -q -a "$DATA/thumos14/gt_full.json" -s test -o - | talcat --head 6 |
            talsynth -q -p easy -d 16 -o "$c/test.tal"
        tal-train -q -c "$CFG" -s train.epochs=20 -s train.lr=3e-3 "$c/train.tal" -o "$c/model.part" &&
            mv "$c/model.part" "$c/model.ckpt"
    fi
    cp "$c/train.tal" "$c/test.tal" "$c/model.ckpt" "$TMP/"
}

@test "tal-detect --help prints usage on stdout and exits 0" {
    run --separate-stderr tal-detect --help
    [ "$status" -eq 0 ]
    [[ "$output" == Usage:\ tal-detect* ]]
    [ -z "$stderr" ]
    run tal-detect --version
    [[ "$output" == "tal-detect (talcore) "* ]]
}

@test "tal-detect: usage errors exit 2" {
    setup_model
    run -2 tal-detect
    run -2 tal-detect model.ckpt test.tal extra.tal
    run -2 tal-detect -s model.channels=8 model.ckpt test.tal
    run -2 tal-detect --threads x model.ckpt test.tal
    run -2 tal-detect --device tpu model.ckpt test.tal
    run --separate-stderr tal-detect -s test.nms=fancy model.ckpt test.tal -o d.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"test.nms"* ]]
    [ ! -e d.tal ]
}

@test "tal-detect --device: cpu detects; cuda without a usable GPU is one error line, exit 1" {
    setup_model
    run tal-detect --device cpu model.ckpt test.tal -o cpu.tal
    [ "$status" -eq 0 ]
    [ -s cpu.tal ]
    run --separate-stderr tal-detect --device cuda model.ckpt test.tal -o gpu.tal
    assert_cuda_refused tal-detect gpu.tal
}

@test "tal-detect: each record comes out with its detections, features dropped" {
    setup_model
    tal-detect model.ckpt test.tal -o d.tal
    run sh -c 'talcat -j d.tal | jq -c "[(.detections | length) > 0, (.detections | length) <= 50, has(\"T\"), (.segments | length) > 0]" | sort -u'
    [ "$output" = '[true,true,false,true]' ]
    cmp <(talcat -j test.tal | jq -r .id) <(talcat -j d.tal | jq -r .id)
    # detections in seconds, inside each sequence, best first
    run sh -c 'talcat -j d.tal | jq -c "[.duration as \$d | .detections[] | .start >= 0 and .end <= \$d and .end >= .start] | all" | sort -u'
    [ "$output" = "true" ]
    run sh -c 'talcat -j d.tal | jq -c "[.detections[].score] | . == (sort | reverse)" | sort -u'
    [ "$output" = "true" ]
    run sh -c 'talcat -H --json d.tal | jq -r ".provenance[-1].tool"'
    [ "$output" = "tal-detect" ]
    tal-detect --keep-features model.ckpt test.tal -o k.tal
    [ "$(talcat -j --features k.tal | jq -c '.features | length' | head -1)" -gt 0 ]
}

@test "tal-detect: it finds what it was trained on, and tal-map reads its output directly" {
    setup_model
    tal-detect --no-ema model.ckpt train.tal -o d.tal
    map=$(tal-map --json --tiou 0.5 d.tal | jq '.mAP[0]')
    [ "$(echo "$map > 0.3" | bc -l)" -eq 1 ]
}

@test "tal-detect: test.* overrides, --dist, --no-ema, pipes" {
    setup_model
    tal-detect -s test.max_seg_num=3 model.ckpt test.tal -o three.tal
    run sh -c 'talcat -j three.tal | jq -c ".detections | length" | sort -u'
    [ "$output" = "3" ]
    cat test.tal | tal-detect --dist -s test.nms=hard -s test.iou_thresh=0.5 model.ckpt > hard.tal
    # --dist keeps the features the distributions belong to (pseudolabel trains on them)
    run sh -c 'talcat -j hard.tal | jq -c "[.dist_K, .dist_T == .T]" | head -1'
    [ "$output" = '[21,true]' ]
    tal-detect --dist --drop-features model.ckpt test.tal | talcat -j | jq -e '.T == null and .dist_K == 21' >/dev/null
    run sh -c "talcat -j hard.tal | jq -c '.dist_T' | head -1"
    [ "$output" -eq "$(talcat -j test.tal | jq -c .T | head -1)" ]
    tal-detect --no-ema model.ckpt test.tal -o live.tal
    ! cmp -s <(talcat -j live.tal) <(talcat -j <(tal-detect model.ckpt test.tal))
    # the same model on the same input gives the same output
    tal-detect model.ckpt test.tal -o again.tal
    tal-detect model.ckpt test.tal -o again2.tal
    cmp <(talcat -j again.tal) <(talcat -j again2.tal)
}

@test "tal-detect: a model and a stream that do not fit" {
    setup_model
    featpack -q -a "$DATA/thumos14/gt_full.json" -s test -o - | talcat --head 2 | talsynth -q -p easy -d 32 -o wide.tal
    run --separate-stderr tal-detect model.ckpt wide.tal -o d.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"model.input_dim is 16 but the stream's features are 32-d"* ]]
    featpack -q -a "$DATA/thumos14/gt_full.json" -s test -o gt.tal
    run --separate-stderr tal-detect model.ckpt gt.tal -o d.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"has no features"* ]]
    [ ! -e d.tal ]
}

@test "tal-detect: damaged and missing checkpoints" {
    setup_model
    head -c 5000 model.ckpt > cut.ckpt
    run --separate-stderr tal-detect cut.ckpt test.tal -o d.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"cut.ckpt"* ]]
    cp model.ckpt flip.ckpt
    printf '\x55' | dd of=flip.ckpt bs=1 seek=30000 conv=notrunc 2>/dev/null
    run --separate-stderr tal-detect flip.ckpt test.tal -o d.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"flip.ckpt"*"CRC"* ]]
    run --separate-stderr tal-detect nothing.ckpt test.tal -o d.tal
    [ "$status" -eq 1 ]
    [ ! -e d.tal ]
}

@test "tal-detect: a failed write is an error" {
    setup_model
    run -1 tal-detect model.ckpt test.tal -o /dev/full
    run --separate-stderr sh -c 'tal-detect model.ckpt test.tal > /dev/full'
    [ "$status" -eq 1 ]
}
