#!/usr/bin/env bats
# apl.bats — APL's quality branches (alqa.*) through tal-train, tal-detect
# and pseudolabel: the loss term, the quality fields and the joint score of
# every detection, the one-branch variants, repeatability, config errors.

load test_helper

TINY=(-c "$TOP/pipelines/configs/actionformer-tiny.yaml")
APL=(-c "$TOP/pipelines/configs/apl.yaml")

# 16 sequences of the THUMOS14 validation layout, easy 16-d features,
# half labelled
small() {
    mkstream gt.tal
    talcat -q -n 16 gt.tal | talsynth -q -p easy -d 16 -o all.tal
    labelsplit -q -r 0.5 --seed 1 -o lab.tal -u unl.tal --oracle truth.tal all.tal
}

@test "apl: two branches and the soft-label loss train; detections carry cls, tiou, tnd and the joint score" {
    small
    run --separate-stderr tal-train -q --threads 1 "${TINY[@]}" "${APL[@]}" --metrics m.jsonl lab.tal -o m.ckpt
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    # L_q is a term of its own, positive
    jq -e -s 'map(select(.kind == "epoch")) | length > 0 and all(.[]; .q > 0 and (.cls | type) == "number")' m.jsonl
    tal-detect -q --threads 1 m.ckpt unl.tal -o d.tal
    talcat -j d.tal > d.jsonl
    [ "$(jq -s '[.[].detections[]] | length' d.jsonl)" -gt 0 ]
    # every detection: the fields, in range, and (no suppression decay for
    # the first of a sequence, the best) score = cls x max(tiou - tnd, 1e-3)
    jq -e -s 'all(.[].detections[]; has("tiou") and has("tnd") and has("cls") and .cls >= 0 and .cls <= 1
                                     and .tiou >= 0 and .tiou <= 1 and .tnd >= 0 and .tnd <= 1)' d.jsonl
    jq -e -s 'all(.[] | select(.detections | length > 0) | .detections[0];
                  (.score - .cls * ([.tiou - .tnd, 0.001] | max)) | fabs < 1e-6)' d.jsonl
    # pseudolabel ranks by the joint score
    tal-detect -q --threads 1 --keep-features m.ckpt unl.tal |
        pseudolabel -q --instances --select topk:3 --rank joint -o p.tal
    [ "$(talcat -j p.tal | jq -s '[.[].segments[]] | length')" -gt 0 ]
}

@test "apl: the same seed gives the same weights; a model without branches is unchanged by the new settings" {
    small
    tal-train -q --threads 1 "${TINY[@]}" "${APL[@]}" -s train.epochs=2 lab.tal -o a.ckpt
    tal-train -q --threads 1 "${TINY[@]}" "${APL[@]}" -s train.epochs=2 lab.tal -o b.ckpt
    cmp a.ckpt b.ckpt
    # the branches change what is learnt
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=2 lab.tal -o plain.ckpt
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=2 -s alqa.weight=0.1 -s alqa.beta=2 lab.tal -o plain2.ckpt
    tal-detect -q plain.ckpt unl.tal | talcat -j > p1.jsonl
    tal-detect -q plain2.ckpt unl.tal | talcat -j > p2.jsonl
    cmp p1.jsonl p2.jsonl
    tal-detect -q a.ckpt unl.tal | talcat -j > a.jsonl
    ! cmp -s p1.jsonl a.jsonl
    # no quality fields without branches
    jq -e -s 'all(.[].detections[]; has("tiou") | not)' p1.jsonl
}

@test "apl: one-branch variants write tiou without tnd, and their joint score ranks" {
    small
    for v in tiou diou; do
        tal-train -q --threads 1 "${TINY[@]}" "${APL[@]}" -s alqa.branches=$v -s train.epochs=2 lab.tal -o $v.ckpt
        tal-detect -q --threads 1 $v.ckpt unl.tal | talcat -j > $v.jsonl
        jq -e -s 'all(.[].detections[]; has("tiou") and has("cls") and (has("tnd") | not))' $v.jsonl
        jq -e -s 'all(.[] | select(.detections | length > 0) | .detections[0];
                      (.score - .cls * ([.tiou, 0.001] | max)) | fabs < 1e-6)' $v.jsonl
        tal-detect -q --threads 1 --keep-features $v.ckpt unl.tal |
            pseudolabel -q --instances --select topk:2 --rank joint -o $v-p.tal
    done
    # without the soft-label loss the branches are still trained and used
    tal-train -q --threads 1 "${TINY[@]}" -s alqa.branches=tiou-tnd -s train.epochs=2 lab.tal -o nosoft.ckpt
    tal-detect -q nosoft.ckpt unl.tal | talcat -j | jq -e -s 'all(.[].detections[]; has("tnd"))'
}

@test "apl: settings that cannot hold are refused, naming the setting" {
    small
    run --separate-stderr tal-train -q "${TINY[@]}" -s alqa.soft_label=true lab.tal -o m.ckpt
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"'alqa.soft_label'"*"'alqa.branches'"* ]]
    run --separate-stderr tal-train -q -c "$TOP/pipelines/configs/spot-synth.yaml" -s alqa.branches=tiou lab.tal -o m.ckpt
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"'alqa.branches' belong to the ActionFormer-style detector"* ]]
    run --separate-stderr tal-train -q "${TINY[@]}" -s alqa.branches=three lab.tal -o m.ckpt
    [ "$status" -eq 2 ]
    [ ! -e m.ckpt ]
}

@test "apl: acp.weight adds L_acp by true and pseudo classes; acp.on_pseudo leaves the pseudo-labelled out" {
    small
    tal-pretrain-acp -q --threads 1 "${TINY[@]}" -s train.epochs=1 lab.tal unl.tal -o acp.ckpt
    tal-train -q --threads 1 "${TINY[@]}" "${APL[@]}" -s acp.weight=0.1 -s train.epochs=2 --init acp.ckpt \
        --metrics m.jsonl lab.tal -o m0.ckpt
    jq -e -s 'map(select(.kind == "epoch")) | all(.[]; .acp > 0)' m.jsonl
    tal-detect -q --threads 1 --keep-features m0.ckpt unl.tal | pseudolabel -q --instances --select topk:3 -o p.tal
    for on in true false; do
        tal-train -q --threads 1 "${TINY[@]}" "${APL[@]}" -s acp.weight=0.1 -s acp.on_pseudo=$on -s train.epochs=1 \
            --init m0.ckpt --unlabelled p.tal --metrics s-$on.jsonl lab.tal -o s-$on.ckpt
        jq -e -s '.[-1].acp > 0' s-$on.jsonl
    done
    ! cmp -s s-true.ckpt s-false.ckpt
    # without the weight, no term and no change to what was learnt before it existed
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=1 --metrics n.jsonl lab.tal -o n.ckpt
    jq -e -s 'all(.[]; has("acp") | not)' n.jsonl
    run --separate-stderr tal-train -q -c "$TOP/pipelines/configs/spot-synth.yaml" -s acp.weight=0.1 lab.tal -o x.ckpt
    [ "$status" -eq 2 ]
}
