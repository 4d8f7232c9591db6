#!/usr/bin/env bats
# tal-pretrain-acp: pre-training without labels on several streams, its
# loss terms, repeatability and exact resume, the checkpoint a detector
# starts from, the ablation switches, bad input.

load test_helper

TINY=(-c "$TOP/pipelines/configs/actionformer-tiny.yaml")

small() {
    mkstream gt.tal
    talcat -q -n 16 gt.tal | talsynth -q -p easy -d 16 -o all.tal
    labelsplit -q -r 0.5 --seed 1 -o lab.tal -u unl.tal all.tal
}

@test "tal-pretrain-acp --help prints usage on stdout and exits 0; usage errors exit 2" {
    run --separate-stderr tal-pretrain-acp --help
    [ "$status" -eq 0 ]
    [[ "$output" == Usage:\ tal-pretrain-acp* ]]
    [ -z "$stderr" ]
    run -2 tal-pretrain-acp "${TINY[@]}" lab.tal
    run -2 tal-pretrain-acp "${TINY[@]}" -o -
    run -2 tal-pretrain-acp "${TINY[@]}" -o a.ckpt
    run -2 tal-pretrain-acp -o a.ckpt x.tal
    run -2 tal-pretrain-acp "${TINY[@]}" --resume -o a.ckpt x.tal
    run -2 tal-pretrain-acp "${TINY[@]}" -s acp.coarse=false -s acp.fine=false -o a.ckpt x.tal
    run -2 tal-pretrain-acp -c "$TOP/pipelines/configs/spot-synth.yaml" -o a.ckpt x.tal
}

@test "tal-pretrain-acp: learns from labelled and unlabelled sequences, repeats bit for bit, seeds a detector" {
    small
    run --separate-stderr tal-pretrain-acp -q --threads 1 "${TINY[@]}" --metrics m.jsonl lab.tal unl.tal -o a.ckpt
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    # 15 epochs over all 16 sequences; both contrasts fall
    [ "$(grep -c '"kind":"epoch"' m.jsonl)" -eq 15 ]
    jq -e -s 'map(select(.kind == "epoch")) | (.[-1].coarse < .[0].coarse) and (.[-1].fine < .[0].fine) and .[0].positives == 64' m.jsonl
    tal-pretrain-acp -q --threads 1 "${TINY[@]}" lab.tal unl.tal -o b.ckpt
    cmp a.ckpt b.ckpt
    # a detector starts from it: the backbone differs from a fresh start
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=1 --init a.ckpt lab.tal -o m1.ckpt
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=1 lab.tal -o m0.ckpt
    tal-detect -q m1.ckpt lab.tal | talcat -j > d1
    tal-detect -q m0.ckpt lab.tal | talcat -j > d0
    ! cmp -s d0 d1
    # the pre-trained model itself does not detect
    run --separate-stderr tal-detect a.ckpt lab.tal -o x.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"has no heads"* ]]
}

@test "tal-pretrain-acp --resume: stopped after 5 epochs, resumed, the same weights" {
    small
    tal-pretrain-acp -q --threads 1 "${TINY[@]}" -s train.epochs=7 -s train.checkpoint_every=2 lab.tal unl.tal -o full.ckpt
    tal-pretrain-acp -q --threads 1 "${TINY[@]}" -s train.epochs=7 -s train.checkpoint_every=2 --stop-after-epochs 5 \
        lab.tal unl.tal -o part.ckpt
    ! cmp -s full.ckpt part.ckpt
    tal-pretrain-acp -q --threads 1 --resume lab.tal unl.tal -o part.ckpt
    cmp full.ckpt part.ckpt
}

@test "tal-pretrain-acp: each contrast alone, and bad input" {
    small
    tal-pretrain-acp -q --threads 1 "${TINY[@]}" -s train.epochs=1 -s acp.fine=false --metrics c.jsonl lab.tal -o c.ckpt
    jq -e -s '.[-1] | has("coarse") and (has("fine") | not)' c.jsonl
    tal-pretrain-acp -q --threads 1 "${TINY[@]}" -s train.epochs=1 -s acp.coarse=false --metrics f.jsonl lab.tal -o f.ckpt
    jq -e -s '.[-1] | has("fine") and (has("coarse") | not)' f.jsonl
    # features of another width
    talsynth -q -p easy -d 8 -o narrow.tal unl.tal
    run --separate-stderr tal-pretrain-acp -q "${TINY[@]}" lab.tal narrow.tal -o x.ckpt
    [ "$status" -eq 1 ]
    [[ "$stderr" == "tal-pretrain-acp: 'narrow.tal' has 8-d features, 'lab.tal' 16-d" ]]
    # no features at all
    run --separate-stderr tal-pretrain-acp -q "${TINY[@]}" gt.tal -o x.ckpt
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"has no features"* ]]
    [ ! -e x.ckpt ]
}

@test "tal-pretrain-acp --probe: accuracies of the three representations, as a table and as JSON" {
    small
    tal-pretrain-acp -q --threads 1 "${TINY[@]}" -s train.epochs=2 lab.tal unl.tal -o a.ckpt
    run --separate-stderr tal-pretrain-acp --threads 1 --probe a.ckpt lab.tal all.tal
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "linear snippet probe: "*" training, "*" test snippets, 20 classes and background" ]]
    [[ "${lines[1]}" == "  input       accuracy "* ]]
    [[ "${lines[2]}" == "  pretrained  accuracy "* ]]
    [[ "${lines[3]}" == "  untrained   accuracy "* ]]
    tal-pretrain-acp --threads 1 --probe a.ckpt --json lab.tal all.tal > p.json
    jq -e '.input.accuracy > 0.5 and .input.accuracy <= 1 and .pretrained.class_mean > 0 and .test_snippets > .train_snippets' p.json
    # the same numbers again
    tal-pretrain-acp --threads 1 --probe a.ckpt --json lab.tal all.tal | cmp - p.json
    # a detector's checkpoint is not a pre-trained backbone
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=1 lab.tal -o m.ckpt
    run --separate-stderr tal-pretrain-acp --probe m.ckpt lab.tal all.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"'m.ckpt' holds a model of kind actionformer, not acp"* ]]
    run -2 tal-pretrain-acp --probe a.ckpt lab.tal
    run -2 tal-pretrain-acp --probe a.ckpt -o x.ckpt lab.tal all.tal
}

@test "tal-pretrain-acp --clusters: how often the clusters' positive pairs share a true label, as a table and as JSON" {
    small
    run --separate-stderr tal-pretrain-acp --clusters "${TINY[@]}" lab.tal
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "k-means stand-in labels on 8 labelled sequences: "*" frames in "*" batches" ]]
    [[ "${lines[2]}" == "  coarse "* ]]
    [[ "${lines[3]}" == "  fine "* ]]
    tal-pretrain-acp --clusters --json "${TINY[@]}" lab.tal > c.json
    # 15 passes over 8 sequences in batches of 2; shares are shares; k = 2
    # puts about half the pairs of a sequence in one cluster, k = 4 fewer
    jq -e '.sequences == 8 and .batches == 60 and ([.coarse, .fine][] | .class_precision >= 0 and .class_precision <= 1
           and .action_chance > 0 and .action_chance <= 1 and .pairs > 0)
           and .coarse.positive_rate > .fine.positive_rate' c.json
    # repeatable; the unlabelled part has nothing to count; another seed draws other frames
    tal-pretrain-acp --clusters --json "${TINY[@]}" lab.tal unl.tal | cmp - c.json
    tal-pretrain-acp --clusters --json "${TINY[@]}" --seed 5 lab.tal > c5.json
    run cmp -s c.json c5.json
    [ "$status" -ne 0 ]
    run --separate-stderr tal-pretrain-acp --clusters "${TINY[@]}" unl.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"no fully labelled sequences with features"* ]]
    run -2 tal-pretrain-acp --clusters "${TINY[@]}" -o a.ckpt lab.tal
    run -2 tal-pretrain-acp --clusters lab.tal
}
