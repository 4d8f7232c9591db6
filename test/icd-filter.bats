#!/usr/bin/env bats
# icd-filter: training the discriminator (repeatable, resumable, its
# progress and metrics), scoring pseudo labels, EAP and MPP, standard input
# and output, and bad input.

load test_helper

TINY=(-c "$TOP/pipelines/configs/actionformer-tiny.yaml" -c "$TOP/pipelines/configs/apl.yaml")

# 40 sequences, a stratified half labelled; a tiny detector's pseudo labels
# of the rest: 3 positives a sequence, then adaptive ones (positives and
# candidates)
setup_pseudo() {
    mkstream gt.tal
    talcat -q -n 40 gt.tal | talsynth -q -p easy -d 16 -o all.tal
    labelsplit -q -r 0.5 --stratify --seed 1 -o lab.tal -u unl.tal --oracle truth.tal all.tal
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=20 -o m0.ckpt lab.tal
    tal-detect -q --threads 1 --keep-features m0.ckpt unl.tal -o dets.tal
    pseudolabel -q --instances --select topk:3 -o top.tal dets.tal
}

@test "icd-filter --help prints usage on stdout and exits 0; usage errors exit 2" {
    run --separate-stderr icd-filter --help
    [ "$status" -eq 0 ]
    [[ "$output" == Usage:\ icd-filter\ train* ]]
    [ -z "$stderr" ]
    run icd-filter --version
    [[ "$output" == "icd-filter (talcore) "* ]]
    run -2 icd-filter
    run -2 icd-filter squash x.tal
    run -2 icd-filter train x.tal
    run -2 icd-filter train -o - x.tal
    run -2 icd-filter train --eap -o i.ckpt x.tal
    run -2 icd-filter apply --model i.ckpt x.tal
    run -2 icd-filter apply --reference r.tal x.tal
    run -2 icd-filter apply -m i.ckpt -r r.tal --resume x.tal
    run -2 icd-filter apply -m i.ckpt -r r.tal --tau1 2 x.tal
    run -2 icd-filter apply -m i.ckpt -r r.tal a.tal b.tal
}

@test "icd-filter train: learns, repeats bit for bit, refuses other model kinds" {
    setup_pseudo
    run --separate-stderr icd-filter train --threads 1 --metrics m.jsonl lab.tal -o a.ckpt
    [ "$status" -eq 0 ]
    [ -s a.ckpt ]
    [ "$(grep -c '"kind":"epoch"' m.jsonl)" -eq 100 ]
    # the pair loss falls well below chance (log 2 = 0.693)
    jq -e -s 'map(select(.kind == "epoch")) | (.[0].bce > 0.6) and (.[-1].bce < 0.45)' m.jsonl
    icd-filter train -q --threads 1 lab.tal -o b.ckpt
    cmp a.ckpt b.ckpt
    # another seed, other weights
    icd-filter train -q --threads 1 --seed 5 lab.tal -o d.ckpt
    ! cmp -s a.ckpt d.ckpt
    run --separate-stderr icd-filter train -q -s model.kind=actionformer lab.tal -o x.ckpt
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"icd-filter trains model.kind icd"* ]]
    # a detector cannot use the discriminator
    run --separate-stderr tal-detect a.ckpt unl.tal -o x.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"scores instances (icd-filter apply)"* ]]
    [ ! -e x.tal ]
}

@test "icd-filter train --resume continues to the same weights" {
    setup_pseudo
    icd-filter train -q --threads 1 -s train.epochs=12 -s train.checkpoint_every=4 lab.tal -o full.ckpt
    icd-filter train -q --threads 1 -s train.epochs=12 -s train.checkpoint_every=4 --stop-after-epochs 5 lab.tal -o part.ckpt
    ! cmp -s full.ckpt part.ckpt
    icd-filter train -q --threads 1 --resume -o part.ckpt lab.tal
    cmp full.ckpt part.ckpt
}

@test "icd-filter apply: scores every pseudo instance, drops and promotes by the thresholds" {
    setup_pseudo
    icd-filter train -q --threads 1 lab.tal -o icd.ckpt
    run --separate-stderr icd-filter apply -m icd.ckpt -r lab.tal top.tal -o f.tal
    [ "$status" -eq 0 ]
    [[ "$stderr" == "icd-filter: 20 sequences: 60 positives, "*" dropped (EAP, icd < 0.3); 0 candidates, 0 promoted (MPP, icd > 0.7)" ]]
    talcat -j top.tal > top.jsonl
    talcat -j f.tal > f.jsonl
    # every kept instance has its score, in [0, 1], none of the positives below tau1
    jq -e -s 'all(.[].segments[]; has("icd") and .icd >= 0.3 and .icd <= 1)' f.jsonl
    dropped=$(sed 's/.*positives, \([0-9]*\) dropped.*/\1/' <<< "$stderr")
    [ "$(jq -s '[.[].segments[]] | length' f.jsonl)" -eq $((60 - dropped)) ]
    # --mpp alone keeps every positive; scores are the same either way
    icd-filter apply -q --mpp -m icd.ckpt -r lab.tal top.tal -o m.tal
    [ "$(talcat -j m.tal | jq -s '[.[].segments[]] | length')" -eq 60 ]
    jq -s -c '[.[].segments[].icd]' f.jsonl > a
    talcat -j m.tal | jq -s -c '[.[].segments[] | select(.icd >= 0.3) | .icd]' > b
    cmp a b
    # candidates: the adaptive rule with a low floor makes some; a tau2 of 0
    # promotes them all, of 1 none
    pseudolabel -q --instances --select adaptive:0.001 -o ad.tal dets.tal
    nc=$(talcat -j ad.tal | jq -s '[.[].segments[] | select(.candidate)] | length')
    [ "$nc" -gt 0 ]
    icd-filter apply -q --mpp --tau2 0 -m icd.ckpt -r lab.tal ad.tal -o all.tal
    [ "$(talcat -j all.tal | jq -s '[.[].segments[] | select(.candidate)] | length')" -eq 0 ]
    icd-filter apply -q --mpp --tau2 1 -m icd.ckpt -r lab.tal ad.tal -o none.tal
    [ "$(talcat -j none.tal | jq -s '[.[].segments[] | select(.candidate)] | length')" -eq "$nc" ]
    # standard input and output; tal-train takes the result
    icd-filter apply -q -m icd.ckpt -r lab.tal - < top.tal > piped.tal
    cmp <(talcat -j piped.tal) <(talcat -j f.tal)
    talcat -j --header f.tal | jq -e '.meta."icd-filter" == "eap on tau1 0.3, mpp on tau2 0.7"'
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=1 --init m0.ckpt --unlabelled f.tal lab.tal -o m1.ckpt
}

@test "icd-filter apply: bad input is one line naming the file, nothing written" {
    setup_pseudo
    icd-filter train -q --threads 1 -s train.epochs=2 lab.tal -o icd.ckpt
    # a reference without the class of a pseudo label
    talcat -q -n 4 lab.tal -o small.tal
    run --separate-stderr icd-filter apply -q -m icd.ckpt -r small.tal top.tal -o x.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == "icd-filter: 'small.tal' has no labelled instance of class '"*"' to compare the pseudo labels of sequence '"*"' of 'top.tal' with" ]]
    [ ! -e x.tal ]
    # features of another width
    talsynth -q -p easy -d 8 -o wide.tal lab.tal
    run --separate-stderr icd-filter apply -q -m icd.ckpt -r wide.tal top.tal -o x.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"'wide.tal' has 8-d features, 'top.tal' 16-d"* ]]
    # a pseudo instance outside its sequence
    "$TALGEN" move-segment top.tal bad.tal 5000 5100
    run --separate-stderr icd-filter apply -q -m icd.ckpt -r lab.tal bad.tal -o x.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"pseudo instance 0: instance [5000, 5100] s lies outside the sequence"* ]]
    [ ! -e x.tal ]
}

@test "icd-filter apply: refuses a detector, true labels, and a model of other classes" {
    setup_pseudo
    icd-filter train -q --threads 1 -s train.epochs=2 lab.tal -o icd.ckpt
    run --separate-stderr icd-filter apply -m m0.ckpt -r lab.tal top.tal -o x.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"'m0.ckpt' holds a model of kind actionformer, not icd"* ]]
    run --separate-stderr icd-filter apply -m icd.ckpt -r lab.tal lab.tal -o x.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"carries true segments"* ]]
    [ ! -e x.tal ]
}
