#!/usr/bin/env bats
# Semi-supervised training (tal-train --unlabelled): every loss on both
# detectors, reproducibility and resuming, no true label of an unlabelled
# sequence reaching training, and what it refuses.

load test_helper

AF="$TOP/pipelines/configs/actionformer-tiny.yaml"
NT="$TOP/pipelines/configs/nontarget.yaml"

# the fixture (test_helper.bash) and pseudo labels of its unlabelled half
setup_semi() {
    selftrain_fixture
    pseudolabel -q -S -I --select fixed:0.15 out.tal -o pseudo.tal
}

# a few quick epochs of stage 2
STAGE2=(-s train.epochs=3 -s train.checkpoint_every=1)

@test "semi: every loss trains the ActionFormer-style detector, its terms logged" {
    setup_semi
    for loss in hard soft complementary nontarget; do
        tal-train -q -c "$AF" -c "$NT" "${STAGE2[@]}" -s semi.loss=$loss --init m0.ckpt --unlabelled pseudo.tal \
            --metrics $loss.jsonl lab.tal -o $loss.ckpt
        # an epoch is a pass over the 8 pseudo-labelled sequences, 2 a step
        [ "$(jq -s '[.[] | select(.kind == "epoch")] | last | .step' $loss.jsonl)" -eq 12 ]
        jq -e 'select(.kind == "epoch") | has("cls") and has("reg") and has("u_cls") and has("u_reg") and
            (.loss | isfinite)' $loss.jsonl >/dev/null
        tal-detect -q $loss.ckpt unl.tal -o $loss.dets
        tal-map --gt truth.tal --thumos $loss.dets >/dev/null
    done
    # the losses differ: they are not the same training (compared on what the
    # models detect and on the logged losses, not on the checkpoints, whose
    # config text alone differs)
    dets() { talcat -j "$1.dets" | jq -c .detections; }
    ucls() { jq -s -c '[.[] | select(.kind == "epoch") | .u_cls]' "$1.jsonl"; }
    [ "$(dets hard)" != "$(dets soft)" ]
    [ "$(dets hard)" != "$(dets complementary)" ]
    [ "$(dets soft)" != "$(dets complementary)" ]
    # lambda reaches the loss: at 0.5 a class with half the top class's
    # probability is positive (even where the bottom-k rule makes it negative)
    tal-train -q -c "$AF" -c "$NT" "${STAGE2[@]}" -s semi.lambda=0.5 --init m0.ckpt --unlabelled pseudo.tal \
        --metrics l50.jsonl lab.tal -o l50.ckpt
    tal-detect -q l50.ckpt unl.tal -o l50.dets
    [ "$(ucls l50)" != "$(ucls nontarget)" ]
    [ "$(dets l50)" != "$(dets nontarget)" ]
    # and positives reach it: without them, lambda changes nothing
    tal-train -q -c "$AF" -c "$NT" "${STAGE2[@]}" -s semi.lambda=0.5 -s semi.pos=false --init m0.ckpt \
        --unlabelled pseudo.tal --metrics l50nopos.jsonl lab.tal -o l50nopos.ckpt
    [ "$(ucls l50nopos)" != "$(ucls l50)" ]
}

@test "semi: the SPOT-style detector logs target, positive and negative terms" {
    setup_semi
    printf 'model:\n  kind: spot\n  channels: 16\n  heads: 2\n  embd_layers: 1\n  stem_blocks: 1\n  window: 0\nspot:\n  temporal_scale: 32\ntrain:\n  epochs: 2\n  warmup_epochs: 0\n  ema_decay: 0\n  lr: 1.0e-3\n' > spot.yaml
    tal-train -q -c spot.yaml lab.tal -o s0.ckpt
    tal-detect -q --dist s0.ckpt unl.tal | pseudolabel -q -S -o snip.tal
    tal-train -q -c spot.yaml -c "$NT" "${STAGE2[@]}" --init s0.ckpt --unlabelled snip.tal --metrics s.jsonl lab.tal -o s1.ckpt
    jq -e 'select(.kind == "epoch") | has("cls") and has("neg") and has("u_tgt") and has("u_pos") and has("u_neg") and
        has("u_mask_bce") and has("u_dice") and has("u_recon")' s.jsonl >/dev/null
    tal-train -q -c spot.yaml -c "$NT" "${STAGE2[@]}" -s semi.loss=hard --init s0.ckpt --unlabelled snip.tal --metrics h.jsonl \
        lab.tal -o h.ckpt
    jq -e 'select(.kind == "epoch") | (has("u_tgt") and (has("neg") or has("u_pos") or has("u_neg")) | not)' h.jsonl >/dev/null
    tal-detect -q s1.ckpt unl.tal | tal-map --gt truth.tal --thumos - >/dev/null
}

@test "semi: the same seed gives the same weights, and a killed run resumes to them" {
    setup_semi
    args=(-c "$AF" -c "$NT" -s train.epochs=4 -s train.checkpoint_every=1 --init m0.ckpt --unlabelled pseudo.tal)
    tal-train -q "${args[@]}" lab.tal -o a.ckpt
    tal-train -q "${args[@]}" lab.tal -o b.ckpt
    cmp a.ckpt b.ckpt
    tal-train -q "${args[@]}" --stop-after-epochs 2 lab.tal -o c.ckpt
    ! cmp -s a.ckpt c.ckpt
    tal-train -q --resume --unlabelled pseudo.tal lab.tal -o c.ckpt
    cmp a.ckpt c.ckpt
}

@test "semi: changing the true labels of the unlabelled sequences changes nothing" {
    setup_semi
    # the same features, with every unlabelled sequence's labels moved and
    # renamed: featpack of the changed annotations, merged onto the features
    talcat -H --json all.tal | jq -r '.classes[].label' > classes.txt
    talcat -A all.tal | jq --rawfile keep split.txt '($keep | split("\n")) as $k | .database |= with_entries(
        if (.key | IN($k[])) then . else .value.annotations |= map(.segment |= map(. * 0.5) | .label = "Diving") end)' > moved.json
    featpack -q -a moved.json -c classes.txt --fps 30 --stride 16 --clip 16 -o labels.tal
    talcat -q --merge all.tal labels.tal -o all2.tal
    ! cmp -s <(talcat -j all.tal) <(talcat -j all2.tal)
    for v in 1 2; do
        mkdir $v
        cp split.txt m0.ckpt $v/
        if [ $v = 1 ]; then cp all.tal 1/all.tal; else cp all2.tal 2/all.tal; fi
        (cd $v && labelsplit -q --split-file split.txt -o lab.tal -u unl.tal all.tal &&
            tal-detect -q --dist m0.ckpt unl.tal | pseudolabel -q -S -I --select fixed:0.15 -o pseudo.tal &&
            tal-train -q -c "$AF" -c "$NT" -s train.epochs=2 --init m0.ckpt --unlabelled pseudo.tal lab.tal -o m1.ckpt)
    done
    # the streams' records are equal (their headers' provenance is not)
    cmp <(talcat -j --features 1/lab.tal) <(talcat -j --features 2/lab.tal)
    cmp <(talcat -j --features 1/pseudo.tal) <(talcat -j --features 2/pseudo.tal)
    cmp 1/m1.ckpt 2/m1.ckpt
}

@test "semi: what --unlabelled refuses" {
    setup_semi
    # not pseudo-labelled
    run --separate-stderr tal-train -c "$AF" --unlabelled unl.tal lab.tal -o m.ckpt
    [ "$status" -eq 1 ]
    [ "$stderr" = "tal-train: 'unl.tal' holds no pseudo labels: make them with pseudolabel --snippets and/or --instances" ]
    [ ! -e m.ckpt ]
    # true labels in the pseudo-labelled stream (the merge brings the
    # truth's supervision kind with its segments)
    talcat -q --merge pseudo.tal truth.tal -o leak.tal
    run --separate-stderr tal-train -c "$AF" --unlabelled leak.tal lab.tal -o m.ckpt
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"has full supervision: --unlabelled takes unlabelled sequences with pseudo labels" ]]
    # a sequence on both sides
    run --separate-stderr tal-train -c "$AF" --unlabelled pseudo.tal all.tal -o m.ckpt
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"is both in 'all.tal' and in 'pseudo.tal'" ]]
    # another class table
    featpack -q -a "$DATA/gtea/gt_full.json" -o - | talcat --head 4 | talsynth -q -p easy -d 16 -o gtea.tal
    run --separate-stderr tal-train -c "$AF" --unlabelled pseudo.tal gtea.tal -o m.ckpt
    [ "$status" -eq 1 ]
    [ "$stderr" = "tal-train: 'pseudo.tal' and 'gtea.tal' have different class tables" ]
    # a model that does not learn from pseudo labels
    printf 'model:\n  kind: linear\n' > lin.yaml
    run --separate-stderr tal-train -c lin.yaml --unlabelled pseudo.tal lab.tal -o m.ckpt
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"model.kind linear does not learn from pseudo labels"* ]]
    # non-target learning needs snippet distributions
    tal-detect -q --dist m0.ckpt unl.tal | pseudolabel -q -I --select fixed:0.15 -o inst.tal
    run --separate-stderr tal-train -c "$AF" -c "$NT" --unlabelled inst.tal lab.tal -o m.ckpt
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"semi.loss nontarget needs pseudo distributions (pseudolabel --snippets)"* ]]
    [ ! -e m.ckpt ]
    # a sigmoid head without negatives has nothing to learn from
    run --separate-stderr tal-train -c "$AF" -c "$NT" -s semi.neg=false --unlabelled pseudo.tal lab.tal -o m.ckpt
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"'semi.neg' false"* ]]
}
