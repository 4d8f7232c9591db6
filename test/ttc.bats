#!/usr/bin/env bats
# ttc.bats — the TTC-Loc detector through labelsplit, tal-train, tal-detect,
# tal-map and talplot: Semi(1) and Weak training of a tiny model on a small
# synthetic stream, inference settings, distributions, every variant config
# of the paper's tables, and bad input.

load test_helper

# 40 sequences of the THUMOS14 validation layout, easy 16-d features;
# Semi(1) (full.tal + tags.tal = semi.tal) and Weak (weak.tal)
small() {
    mkstream gt.tal
    talsynth -q -p easy -d 16 -o all.tal gt.tal
    talcat -q -n 40 all.tal -o small.tal
    labelsplit -q -k 1 -o full.tal -u tags.tal small.tal
    cat full.tal tags.tal > semi.tal
    labelsplit -q -r 1 --supervision video -o weak.tal small.tal
}

TINY=(-c "$TOP/pipelines/configs/ttc-loc-tiny.yaml")

loss_of() {  # first|last epoch loss of a metrics file
    grep '"kind":"epoch"' "$2" | "$1" -1 | sed 's/.*"loss":\([^,]*\),.*/\1/'
}

@test "ttc-loc: Semi(1) trains on full and tagged records, learns, and detects in seconds" {
    small
    [ "$(talcat -S --json semi.tal | jq '.supervision.full')" -gt 0 ]
    [ "$(talcat -S --json semi.tal | jq '.supervision.video')" -gt 0 ]
    run --separate-stderr tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=120 --metrics m.jsonl semi.tal -o m.ckpt
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]   # no record left out: both kinds are used
    grep -q '"clas":.*"reg":.*"loc":' m.jsonl
    # L_loc is on (fully annotated clips in the batches) and the loss went down
    jq -e -s 'map(select(.kind == "epoch")) | any(.[]; .loc > 0)' m.jsonl
    awk -v a="$(loss_of head m.jsonl)" -v b="$(loss_of tail m.jsonl)" 'BEGIN { exit !(b < 0.7 * a) }'
    run --separate-stderr tal-detect -q --threads 1 m.ckpt small.tal -o d.tal
    [ "$status" -eq 0 ]
    talcat -j d.tal > d.jsonl
    jq -e -s 'all(.[]; .duration as $d | all(.detections[]; .start >= 0 and .end <= $d + 1e-9 and .start < .end
                                             and .score > 0 and .score <= 1))' d.jsonl
    [ "$(jq -s '[.[].detections | length] | add' d.jsonl)" -gt 40 ]
    run --separate-stderr tal-map --gt small.tal --thumos d.tal
    [ "$status" -eq 0 ]
    map=$(echo "$output" | awk '$1 == "0.3" { print $2 }')
    awk -v m="$map" 'BEGIN { exit !(m > 30) }'
}

@test "ttc-loc: Weak (tags only) trains without L_loc and detects" {
    small
    run --separate-stderr tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=10 --metrics m.jsonl weak.tal -o m.ckpt
    [ "$status" -eq 0 ]
    jq -e -s 'map(select(.kind == "epoch")) | all(.[]; .loc == 0 and .clas > 0)' m.jsonl
    run --separate-stderr tal-detect -q --threads 1 m.ckpt small.tal -o d.tal
    [ "$status" -eq 0 ]
    tal-map -q --gt small.tal --thumos d.tal > /dev/null
}

@test "ttc-loc: --dist is each snippet's softmax over the class scores and the threshold" {
    small
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=6 semi.tal -o m.ckpt
    talcat -q -n 3 small.tal -o three.tal
    run --separate-stderr tal-detect -q --threads 1 --dist m.ckpt three.tal -o d.tal
    [ "$status" -eq 0 ]
    talcat -j --features d.tal > d.jsonl
    jq -e -s 'all(.[]; .dist_K == 21 and all(.dist[]; length == 21 and ((add - 1) | fabs) < 1e-4))' d.jsonl
    # a detection covers snippets where its class beats the threshold column
    # (16-frame snippets at 30 fps: snippet t is centred at (16 t + 8) / 30 s)
    jq -e -s 'all(.[]; . as $r | all(.detections[]; . as $d |
                  [range(0; $r.dist | length) | select(((16 * . + 8) / 30) > $d.start and ((16 * . + 8) / 30) < $d.end)]
                  | all(.[]; $r.dist[.][$d.class] > $r.dist[.][20])))' d.jsonl
}

@test "ttc-loc: the threshold rule and the segment score are inference settings" {
    small
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=6 semi.tal -o m.ckpt
    tal-detect -q m.ckpt small.tal -o a.tal
    tal-detect -q -s test.ttc_threshold=manual m.ckpt small.tal -o b.tal
    tal-detect -q -s test.ttc_score=mean-score m.ckpt small.tal -o c.tal
    ! cmp -s a.tal b.tal
    ! cmp -s a.tal c.tal
    # the same segments, other scores
    [ "$(talcat -j a.tal | jq -c '[.detections[] | [.start, .end, .class]] | sort')" = \
      "$(talcat -j c.tal | jq -c '[.detections[] | [.start, .end, .class]] | sort')" ]
    run --separate-stderr tal-detect -q -s test.ttc_threshold=median m.ckpt small.tal -o e.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"test.ttc_threshold"* ]]
    [ ! -e e.tal ]
}

@test "ttc-loc: the same seed gives the same model" {
    small
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=2 semi.tal -o a.ckpt
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=2 semi.tal -o b.ckpt
    cmp a.ckpt b.ckpt
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=2 --seed 5 semi.tal -o c.ckpt
    ! cmp -s a.ckpt c.ckpt
}

@test "ttc-loc: every variant config of the paper's tables trains and detects" {
    small
    n=0
    for v in "$TOP"/pipelines/configs/ttc/*.yaml; do
        run --separate-stderr tal-train -q --threads 1 "${TINY[@]}" -c "$v" -s train.epochs=1 semi.tal -o m.ckpt
        [ "$status" -eq 0 ] || { echo "$v: $stderr" >&2; false; }
        run --separate-stderr tal-detect -q --threads 1 -s test.ttc_threshold=manual m.ckpt small.tal -o d.tal
        [ "$status" -eq 0 ] || { echo "$v: $stderr" >&2; false; }
        n=$((n + 1))
    done
    [ "$n" -ge 9 ]
}

@test "ttc-loc: bad input is one line naming what is wrong, exit 1, no output" {
    small
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=1 semi.tal -o m.ckpt
    # a record of video supervision without a tag
    jq -n '{database: {v1: {subset: "validation", duration: 30, annotations: []},
                       v2: {subset: "validation", duration: 20, annotations: [{segment: [1, 5], label: "A"}]}}}' > e.json
    printf 'A\nB\n' > ab.txt
    featpack -q -a e.json -c ab.txt --supervision video --fps 30 -o e-gt.tal
    talsynth -q -p easy -d 16 -o e.tal e-gt.tal
    run --separate-stderr tal-train -q "${TINY[@]}" e.tal -o e.ckpt
    [ "$status" -eq 1 ]
    [ "$stderr" = "tal-train: 'e.tal': sequence 'v1' has video-level supervision but no video-level tags" ]
    [ ! -e e.ckpt ]
    # a weak config given a stream with no tags at all (labelsplit's unlabelled part)
    labelsplit -q -r 0.5 --seed 1 -o lab.tal -u unl.tal small.tal
    run --separate-stderr tal-train -q "${TINY[@]}" unl.tal -o u.ckpt
    [ "$status" -eq 1 ]
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == *"no sequences with full or video supervision"* ]]
    [ ! -e u.ckpt ]
    # Semi(k) asking for more sequences than a class has
    run --separate-stderr labelsplit -q -k 1000 -o k.tal small.tal
    [ "$status" -eq 1 ]
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == "labelsplit: 'small.tal': class '"*"' is in only "*" --per-class 1000 needs 1000" ]]
    [ ! -e k.tal ]
    # a class table that differs from the model's: the same names in another order
    talcat -H --json small.tal | jq -r '.classes | reverse | .[].label' > reversed.txt
    featpack -q -a "$DATA/thumos14/gt_full.json" -s validation -c reversed.txt -o rev-gt.tal
    talsynth -q -p easy -d 16 -o rev.tal rev-gt.tal
    run --separate-stderr tal-detect -q m.ckpt rev.tal -o d.tal
    [ "$status" -eq 1 ]
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == *"another class table"* ]]
    [ ! -e d.tal ]
}

@test "ttc-loc: config errors name the key" {
    small
    run --separate-stderr tal-train "${TINY[@]}" -s ttc.gate=tanh semi.tal -o m.ckpt
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"ttc.gate"* ]]
    run --separate-stderr tal-train "${TINY[@]}" -s ttc.lambda=1.5 semi.tal -o m.ckpt
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"ttc.lambda"* ]]
    [ ! -e m.ckpt ]
}

@test "ttc-loc: talplot --gate draws the threshold and the gates" {
    small
    tal-train -q --threads 1 "${TINY[@]}" -s train.epochs=4 semi.tal -o m.ckpt
    id=$(talcat -j small.tal | jq -r .id | head -1)
    tal-detect -q --dist m.ckpt small.tal | talplot --gate -i "$id" -o p.svg
    grep -q '<title>threshold (background)</title>' p.svg
    grep -q '<title>gate of ' p.svg
    # --class keeps one class's curves
    cls=$(talcat -j small.tal | jq -r '.segments[0].label' | head -1)
    tal-detect -q --dist m.ckpt small.tal | talplot --gate -i "$id" -c "$cls" -o q.svg
    [ "$(grep -c '<title>gate of ' q.svg)" -eq 1 ]
    run --separate-stderr talplot --gate pr.json
    [ "$status" -ne 0 ]
}
