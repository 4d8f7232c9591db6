#!/usr/bin/env bats
# softnms: every method and option on cases worked by hand, the properties
# of its output on generated candidates, pass-through, bad input, failed
# writes.

load test_helper

DETGEN="${BUILD:+$TOP/$BUILD/test/detgen}"
DETGEN="${DETGEN:-$TOP/build/rel/test/detgen}"

# A [0,10] 0.9 and B [5,15] 0.8 of Jump (IoU 1/3), C [20,30] 0.7 of Jump,
# D [2,9] 0.6 of Run (overlaps A, other class)
hand() {
    printf '{"results":{"v1":[{"label":"Jump","score":0.9,"segment":[0,10]},{"label":"Jump","score":0.8,"segment":[5,15]},{"label":"Jump","score":0.7,"segment":[20,30]},{"label":"Run","score":0.6,"segment":[2,9]}]}}' > hand.json
    featpack -q -a hand.json -o hand.tal
}

scores() {
    talcat --jsonl "$1" | jq -c '[.detections[] | [.label, .start, .score]]'
}

@test "softnms --help prints usage on stdout and exits 0" {
    run --separate-stderr softnms --help
    [ "$status" -eq 0 ]
    [[ "$output" == Usage:\ softnms* ]]
    [ -z "$stderr" ]
    run softnms --version
    [[ "$output" == "softnms (talcore) "* ]]
}

@test "softnms: usage errors exit 2 and name the problem" {
    run --separate-stderr softnms --bogus
    [ "$status" -eq 2 ]
    run --separate-stderr softnms --method soft x.tal
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"invalid --method 'soft' (gaussian, linear or hard)"* ]]
    run -2 softnms --sigma 0 x.tal
    run -2 softnms -t 0 x.tal
    run -2 softnms -t 1.5 x.tal
    run -2 softnms --max-keep -1 x.tal
    run -2 softnms --min-score -0.1 x.tal
    run -2 softnms --adaptive 0.9 x.tal
    run -2 softnms --adaptive 0.9:0.5 x.tal
    run -2 softnms --vote 2 x.tal
    run --separate-stderr softnms --preset voc x.tal
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"invalid --preset 'voc' (thumos, anet or bmn)"* ]]
    run -2 softnms a.tal b.tal
}

@test "softnms: Gaussian, by hand" {
    hand
    softnms hand.tal > out.tal
    # A kept; B decayed to 0.8 exp(-(1/3)^2/0.5) = 0.64059; D, another class, untouched
    run scores out.tal
    [ "$output" = '[["Jump",0,0.9],["Jump",20,0.7],["Jump",5,0.6405899223334465],["Run",2,0.6]]' ]
    softnms --sigma 0.1 hand.tal > out.tal
    run scores out.tal
    [ "$output" = '[["Jump",0,0.9],["Jump",20,0.7],["Run",2,0.6],["Jump",5,0.2633543902463245]]' ]
}

@test "softnms: hard and linear, by hand" {
    hand
    run scores <(softnms -m hard -t 0.3 hand.tal)
    [ "$output" = '[["Jump",0,0.9],["Jump",20,0.7],["Run",2,0.6]]' ]
    run scores <(softnms -m hard -t 0.5 hand.tal)
    [ "$output" = '[["Jump",0,0.9],["Jump",5,0.8],["Jump",20,0.7],["Run",2,0.6]]' ]
    run scores <(softnms -m linear -t 0.3 hand.tal)
    [ "$output" = '[["Jump",0,0.9],["Jump",20,0.7],["Run",2,0.6],["Jump",5,0.5333333333333334]]' ]
}

@test "softnms: class-agnostic, max-keep, min-score" {
    hand
    # D overlaps A at IoU 0.7: hard NMS across classes removes it
    run scores <(softnms -a -m hard -t 0.5 hand.tal)
    [ "$output" = '[["Jump",0,0.9],["Jump",5,0.8],["Jump",20,0.7]]' ]
    run scores <(softnms -n 2 hand.tal)
    [ "$output" = '[["Jump",0,0.9],["Jump",20,0.7]]' ]
    run scores <(softnms -n 0 hand.tal)
    [ "$(jq length <<< "$output")" = 4 ]
    # B decays to 0.64 < 0.65; D, alone in its class, is never tested
    run scores <(softnms --min-score 0.65 hand.tal)
    [ "$output" = '[["Jump",0,0.9],["Jump",20,0.7],["Run",2,0.6]]' ]
}

@test "softnms: BMN's adaptive threshold and segment voting, by hand" {
    printf '{"database":{"v1":{"subset":"test","duration":100,"annotations":[]}}}' > info.json
    printf '{"results":{"v1":[{"label":"Jump","score":0.9,"segment":[0,10]},{"label":"Jump","score":0.8,"segment":[5,15]},{"label":"Jump","score":0.7,"segment":[1,11]}]}}' > a.json
    featpack -q -a info.json -a a.json -o a.tal
    # threshold 0.5 + 0.4 x 10/100 = 0.54: B (IoU 1/3) untouched, C (9/11)
    # decayed to 0.7 exp(-(9/11)^2/0.4); B's turn (IoU 6/14) leaves it
    run scores <(softnms --adaptive 0.5:0.9 --sigma 0.4 --min-score 0 a.tal)
    [ "$output" = '[["Jump",0,0.9],["Jump",5,0.8],["Jump",1,0.13130549301447353]]' ]
    run scores <(softnms --preset bmn a.tal)
    [ "$output" = '[["Jump",0,0.9],["Jump",5,0.8],["Jump",1,0.13130549301447353]]' ]
    # voting at 0.75: A becomes (0.9 x A + 9/11 x 0.7 x C) / (0.9 + 9/11 x 0.7)
    run sh -c "softnms --vote 0.75 a.tal | talcat --jsonl | jq -c '.detections[0] | [.start, .end, .score]'"
    [ "$output" = '[0.3888888888888889,10.38888888888889,0.9]' ]
}

@test "softnms --preset: ActionFormer's settings, explicit options win" {
    hand
    run scores <(softnms --preset anet hand.tal)
    [ "$(jq length <<< "$output")" = 4 ]
    [ "$(jq -c '.[1]' <<< "$output")" = '["Jump",20,0.7]' ]
    run scores <(softnms -n 1 --preset anet hand.tal)
    [ "$(jq length <<< "$output")" = 1 ]
    run scores <(softnms --preset thumos --method hard -t 0.3 hand.tal)
    [ "$output" = '[["Jump",0,0.9],["Jump",20,0.7],["Run",2,0.6]]' ]
}

@test "softnms: on generated candidates the output is a subset, in order, hard NMS leaves no pair over Nt" {
    "$DETGEN" candidates 4 600 5 11 cand.tal
    softnms -m hard -t 0.4 -n 100 cand.tal > hard.tal
    talcat --jsonl cand.tal | jq -c '{id, d: [.detections[] | [.start, .end, .class, .score]]}' > in.jsonl
    talcat --jsonl hard.tal | jq -c '{id, d: [.detections[] | [.start, .end, .class, .score]]}' > out.jsonl
    [ "$(wc -l < out.jsonl)" -eq 4 ]
    # each kept detection is an input detection with its score (hard NMS does not decay)
    run jq -n --slurpfile a in.jsonl --slurpfile b out.jsonl \
        '[range($a|length) as $i | ($b[$i].d - $a[$i].d) | length] | add'
    [ "$output" = 0 ]
    # scores non-increasing, at most 100 per sequence
    run jq -s '[.[] | .d | length <= 100 and (. as $d | [range(1; length)] | all($d[.][3] <= $d[. - 1][3]))] | all' out.jsonl
    [ "$output" = true ]
    # no same-class pair at IoU >= 0.4
    run jq -s '[.[] | .d as $d | range($d|length) as $i | range($i + 1; $d|length) as $j
                | select($d[$i][2] == $d[$j][2])
                | (([$d[$i][1], $d[$j][1]] | min) - ([$d[$i][0], $d[$j][0]] | max)) as $in
                | select($in > 0)
                | $in / (($d[$i][1] - $d[$i][0]) + ($d[$j][1] - $d[$j][0]) - $in)
                | select(. >= 0.4)] | length' out.jsonl
    [ "$output" = 0 ]
    # Soft-NMS only lowers scores and keeps the order
    softnms cand.tal | talcat --jsonl | jq -c '[.detections[].score]' > soft.jsonl
    run jq -s '[.[] | . as $s | [range(1; length)] | all($s[.] <= $s[. - 1])] | all' soft.jsonl
    [ "$output" = true ]
    # deterministic
    cmp <(softnms cand.tal) <(softnms cand.tal)
}

@test "softnms: the rest of each record passes through; pipes; provenance" {
    write_npy f/video_validation_0000051.npy 20 8 2>/dev/null || { mkdir -p f && write_npy f/video_validation_0000051.npy 20 8; }
    printf '{"results":{"video_validation_0000051":[{"label":"Billiards","score":0.9,"segment":[67,76]},{"label":"Billiards","score":0.5,"segment":[68,76]}]}}' > d.json
    featpack -q -a "$DATA/thumos14/gt_full.json" -a d.json --ids <(echo video_validation_0000051) -F f -o in.tal
    cat in.tal | softnms -q -m hard > out.tal
    run talcat --jsonl --features out.tal
    [ "$(jq -c '[(.segments|length), (.detections|length), (.features|length)]' <<< "$output")" = '[3,1,20]' ]
    run sh -c "talcat -H --json out.tal | jq -r '.provenance[-1].tool'"
    [ "$output" = softnms ]
    softnms -q -m hard -o file.tal in.tal
    cmp <(talcat -j file.tal) <(talcat -j out.tal)
    # records without detections are written as they are
    featpack -q -a "$DATA/thumos14/gt_full.json" -s validation -o gt.tal
    cmp <(softnms gt.tal | talcat -j) <(talcat -j gt.tal)
}

@test "softnms: bad input names the file and the offset, exits 1, writes nothing" {
    run --separate-stderr softnms -o out.tal "$FIXTURES/broken/crc-mismatch.tal"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"crc-mismatch.tal"*"offset"* ]]
    [ ! -e out.tal ]
    run --separate-stderr softnms -o out.tal nothing.tal
    [ "$status" -eq 1 ]
    [ "$stderr" = "softnms: cannot open 'nothing.tal': No such file or directory" ]
    run --separate-stderr sh -c 'printf "not a stream" | softnms'
    [ "$status" -eq 1 ]
    [[ "$stderr" == softnms:*"standard input"* ]]
}

@test "softnms: failed writes are errors" {
    hand
    run --separate-stderr softnms -o /dev/full hand.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"/dev/full"* ]]
    run --separate-stderr sh -c 'softnms hand.tal > /dev/full'
    [ "$status" -eq 1 ]
}
