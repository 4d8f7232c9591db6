#!/usr/bin/env bats
# lblext.bats — label extension: what it does to point-supervised
# sequences, that it leaves the others alone, its time map, and bad input.

load test_helper

# THUMOS14 validation layouts with 16-d synthetic features; LACP's points
points() {
    mkstream gt.tal
    talsynth -q -p easy -d 16 -o all.tal gt.tal
    talcat -q -n 12 all.tal -o small.tal
    labelsplit -q -r 1 --points-file "$DATA/thumos14/lacp/point_labels.csv" -o pts.tal small.tal
}

@test "lblext: --help and usage errors" {
    run --separate-stderr lblext --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"--tau1"*"--tau2"*"--theta"* ]]
    run --separate-stderr lblext --tau1 0 pts.tal
    [ "$status" -eq 2 ]
    run --separate-stderr lblext --bogus
    [ "$status" -eq 2 ]
    run --separate-stderr lblext a.tal b.tal
    [ "$status" -eq 2 ]
}

@test "lblext: point-supervised sequences grow around their points and keep a time map" {
    points
    run --separate-stderr lblext -v pts.tal -o ext.tal
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"12 of 12 sequences extended"* ]]
    talcat -j pts.tal > a.jsonl
    talcat -j ext.tal > b.jsonl
    # about tau1 - 1 + 2 (tau2 - 1) = 2.84 more snippets per labelled snippet
    jq -s -e 'all(.[]; .T > 0)' b.jsonl
    paste -d ' ' <(jq -c '[.T, (.points | length)]' a.jsonl) <(jq -c '[.T, (.points | length), (.timemap | length)]' b.jsonl) |
        tr -d '[]' | tr ',' ' ' > sizes.txt
    awk '{ if ($3 <= $1 || $3 > $1 + 3 * $2 + 1 || $5 != $3 || $4 < 3 * $2) exit 1 }' sizes.txt
    # the map is increasing, inside the sequence, and the points lie on it
    jq -e '.duration as $d | .timemap as $m | ([range(1; $m | length) | $m[.] > $m[. - 1]] | all)
           and $m[0] >= 0 and $m[-1] <= $d and all(.points[]; .time as $t | $m | index($t) != null)' b.jsonl > ok.txt
    [ "$(grep -c true ok.txt)" -eq 12 ]
    # the header records the settings
    talcat -H ext.tal | grep -q 'lblext.*tau1=2.5 tau2=1.67 theta=1'
}

@test "lblext: other sequences pass through unchanged, and unit weights are the identity" {
    points
    # fully labelled records: byte for byte the same records
    lblext small.tal -o same.tal
    cmp <(talcat -j --features small.tal) <(talcat -j --features same.tal)
    # weights of 1: the same features bit for bit, the map the grid's own times
    lblext --tau1 1 --tau2 1 pts.tal -o one.tal
    cmp <(talcat -j --features pts.tal | jq -c .features) <(talcat -j --features one.tal | jq -c .features)
    talcat -j one.tal | jq -e '.T == (.timemap | length)' > /dev/null
}

@test "lblext: reads and writes pipes" {
    points
    cat pts.tal | lblext - > piped.tal
    lblext pts.tal -o file.tal
    cmp <(talcat -j --features piped.tal) <(talcat -j --features file.tal)
}

@test "lblext: detections of an extended sequence come back in its own seconds" {
    points
    lblext pts.tal -o ext.tal
    # the linear baseline trained on the full labels, run on both versions of a sequence
    tal-train -q --threads 1 -c "$TOP/pipelines/configs/linear-synth.yaml" -s train.epochs=3 small.tal -o m.ckpt
    talcat -q -n 1 ext.tal -o one-ext.tal
    talcat -q -n 1 pts.tal -o one.tal
    tal-detect -q --threads 1 m.ckpt one-ext.tal -o d-ext.tal
    talcat -j d-ext.tal | jq -e '.duration as $d | (.detections | length) > 0 and
        all(.detections[]; .start >= 0 and .end <= $d and .start < .end)' > /dev/null
    # and through tal-map with the ground truth of the original sequences
    run --separate-stderr tal-map --gt small.tal --thumos d-ext.tal
    [ "$status" -eq 0 ]
    # a model that places labels on the grid refuses extended sequences
    run --separate-stderr tal-train -q --threads 1 -c "$TOP/pipelines/configs/linear-synth.yaml" ext.tal -o x.ckpt
    [ "$status" -eq 1 ]
}

@test "lblext: bad input is one line, exit 1, no output" {
    points
    talcat -q -n 1 small.tal -o one.tal
    id=$(talcat -j one.tal | jq -r .id)
    # a point-supervised sequence without points (the points file has none for it)
    printf 'another_video,1.0,Billiards\n' > other.txt
    labelsplit -q -r 1 --points-file other.txt -o nopts.tal one.tal 2>/dev/null
    run --separate-stderr lblext nopts.tal -o out.tal
    [ "$status" -eq 1 ]
    [ "$stderr" = "lblext: 'nopts.tal': sequence '$id': no points: a point-supervised sequence needs at least one" ]
    [ ! -e out.tal ]
    # a point outside its sequence
    printf '%s,9999.5,Billiards\n' "$id" > far.txt
    labelsplit -q -r 1 --points-file far.txt -o far.tal one.tal
    run --separate-stderr lblext far.tal -o out.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == "lblext: 'far.tal': sequence '$id': point 0 at 9999.5 s is outside the sequence"* ]]
    [ "$(echo "$stderr" | wc -l)" -eq 1 ]
    [ ! -e out.tal ]
    # points out of time order (as a writer that does not sort them would leave them)
    "$TALGEN" reverse-points pts.tal rev.tal
    run --separate-stderr lblext rev.tal -o out.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == "lblext: 'rev.tal': sequence 'video_validation_"*"': points are not in time order"* ]]
    [ ! -e out.tal ]
    # no features
    talcat -q --drop-features pts.tal -o nofeat.tal
    run --separate-stderr lblext nofeat.tal -o out.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"no features to extend"* ]]
    [ ! -e out.tal ]
    # from a pipe too: nothing on standard output but the error
    run --separate-stderr sh -c 'cat nofeat.tal | lblext - | wc -c'
    [ "$output" = "0" ]
}
