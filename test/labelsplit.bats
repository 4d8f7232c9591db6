#!/usr/bin/env bats
# labelsplit: every split, every supervision conversion, outputs, errors.

load test_helper

A="$FIXTURES/anno"

ids() { talcat -j "$1" | jq -r .id | paste -sd, ; }

@test "labelsplit --help prints usage on stdout and exits 0" {
    run --separate-stderr labelsplit --help
    [ "$status" -eq 0 ]
    [[ "$output" == Usage:\ labelsplit* ]]
    [ -z "$stderr" ]
    run labelsplit --version
    [[ "$output" == "labelsplit (talcore) "* ]]
}

@test "labelsplit: usage errors exit 2" {
    mkstream val.tal
    run -2 labelsplit -o lab.tal val.tal
    run -2 labelsplit -r 0.1 -k 1 -o lab.tal val.tal
    run -2 labelsplit -r 0.1 val.tal
    run -2 labelsplit -r 0 -o lab.tal val.tal
    run -2 labelsplit -r 1.5 -o lab.tal val.tal
    run -2 labelsplit -k 0 -o lab.tal val.tal
    run -2 labelsplit -k 1 --stratify -o lab.tal val.tal
    run -2 labelsplit -r 0.1 --supervision strong -o lab.tal val.tal
    run -2 labelsplit -r 0.1 --supervision point --points middle -o lab.tal val.tal
    run -2 labelsplit -r 0.1 --points real -o lab.tal val.tal
    run -2 labelsplit -r 0.1 -o x.tal -u x.tal val.tal
    run -2 labelsplit -r 0.1 -o - -u - val.tal
    run -2 labelsplit -r 0.1 -o lab.tal val.tal val.tal
    run -2 labelsplit -r 0.1 --seed -4 -o lab.tal val.tal
    [ ! -e lab.tal ]
}

@test "labelsplit: the issue's example, 10 % of THUMOS14 validation" {
    mkstream val.tal
    labelsplit --labelled-fraction 0.1 --seed 7 -o lab.tal -u unl.tal val.tal
    run sh -c 'talcat --jsonl lab.tal unl.tal | jq -s length'
    [ "$output" -eq 200 ]
    run talcat -S lab.tal
    [[ "${lines[0]}" == "20 sequences, "*" instances, 20 classes" ]]
    run talcat -S unl.tal
    [ "${lines[0]}" = "180 sequences, 0 instances, 20 classes" ]
    [[ "$output" == *"supervision   none 180"* ]]
    run sh -c 'talcat -j unl.tal | jq -c "[.segments, .points, .labels] | map(. // [] | length) | add" | sort -u'
    [ "$output" = "0" ]
    run sh -c 'talcat -H --json lab.tal unl.tal | jq -r ".meta[\"labelsplit.part\"]" | paste -sd,'
    [ "$output" = "labelled,unlabelled" ]
}

@test "labelsplit: the same seed gives the same split, another seed another" {
    mkstream val.tal
    labelsplit -r 0.2 --seed 3 -o a.tal val.tal
    labelsplit -r 0.2 --seed 3 -o b.tal val.tal
    labelsplit -r 0.2 --seed 4 -o c.tal val.tal
    [ "$(ids a.tal)" = "$(ids b.tal)" ]
    [ "$(ids a.tal)" != "$(ids c.tal)" ]
    run sh -c "talcat -j a.tal | wc -l"
    [ "$output" -eq 40 ]
}

@test "labelsplit: input order is kept, and parts are disjoint and complete" {
    mkstream val.tal
    labelsplit -r 0.3 --seed 1 -o lab.tal -u unl.tal val.tal
    cmp <(talcat -j val.tal | jq -r .id) <( (talcat -j lab.tal; talcat -j unl.tal) | jq -r .id | sort)
    cmp <(talcat -j lab.tal | jq -r .id) <(talcat -j lab.tal | jq -r .id | sort)
}

@test "labelsplit --stratify labels every class" {
    mkstream val.tal
    run --separate-stderr labelsplit -r 0.02 --stratify --seed 5 -o lab.tal val.tal
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"--stratify labelled"*"more sequences than the fraction asks"* ]]
    run sh -c 'talcat -S --json lab.tal | jq "[.per_class[] | select(.sequences == 0)] | length"'
    [ "$output" -eq 0 ]
    labelsplit -r 0.02 --seed 5 -o plain.tal val.tal
    run sh -c 'talcat -j plain.tal | wc -l'
    [ "$output" -eq 4 ]
}

@test "labelsplit --per-class k: Semi(k), the rest keep video-level labels" {
    mkstream val.tal
    labelsplit -k 2 -o full.tal -u tags.tal val.tal
    run sh -c 'talcat -S --json full.tal | jq "[.per_class[].sequences] | min"'
    [ "$output" -ge 2 ]
    run sh -c 'talcat -j tags.tal | jq -c "[.supervision, (.segments // [] | length), (.labels | length > 0)]" | sort -u'
    [ "$output" = '["video",0,true]' ]
    run sh -c 'talcat -j full.tal | jq -r .id | head -1'
    [ "$output" = "$(talcat -j val.tal | jq -r .id | head -1)" ]
}

@test "labelsplit --split-file: SPOT's CSV and a plain id list" {
    featpack -q -a "$A/anet.json" -s val -o v.tal
    run --separate-stderr labelsplit --split-file "$A/info.csv" -o lab.tal -u unl.tal v.tal
    [ "$status" -eq 0 ]
    [ "$(ids lab.tal)" = "vid_a" ]
    [ "$(ids unl.tal)" = "vid_b" ]
    printf 'vid_b\n' > list.txt
    labelsplit --split-file list.txt -o lab2.tal -u unl2.tal v.tal
    [ "$(ids lab2.tal)" = "vid_b" ]
    [ "$(ids unl2.tal)" = "vid_a" ]
    printf 'video,subset\nvid_a,training\n' > part.csv
    run --separate-stderr labelsplit --split-file part.csv -o lab3.tal -u unl3.tal v.tal
    [[ "$stderr" == *"1 sequences of the input are not in the split file"* ]]
    [ "$(ids lab3.tal)" = "vid_a" ]
    [ -z "$(ids unl3.tal)" ]
}

@test "labelsplit --supervision point: centre, uniform, gaussian, real" {
    featpack -q -a "$A/anet.json" -s val -p "$A/points.csv" -o v.tal
    labelsplit -r 1 --supervision point -o c.tal v.tal
    run sh -c 'talcat -j c.tal | jq -c "[.id, .supervision, (.segments // [] | length), [.points[].time], [.labels[].label]]"'
    [ "${lines[0]}" = '["vid_a","point",0,[2.5],["Throw"]]' ]
    [ "${lines[1]}" = '["vid_b","point",0,[15.25,30.75],["Jump","Run"]]' ]
    labelsplit -r 1 --supervision point --points uniform --seed 9 -o u.tal v.tal
    run sh -c 'talcat -j u.tal | jq -c "[.points[] | .time] | length"'
    [ "${lines[1]}" -eq 2 ]
    run sh -c 'talcat -j u.tal | jq -e "[.points[0].time] | .[0] >= 1 and .[0] <= 4" | head -1'
    [ "$output" = "true" ]
    labelsplit -r 1 --supervision point --points gaussian:0.05 --seed 9 -o g1.tal v.tal
    labelsplit -r 1 --supervision point --points gaussian:0.05 --seed 9 -o g2.tal v.tal
    cmp <(talcat -j g1.tal) <(talcat -j g2.tal)
    labelsplit -r 1 --supervision point --points real -o r.tal v.tal
    run sh -c 'talcat -j r.tal | jq -c "[.points[].time]"'
    [ "${lines[1]}" = '[15,30.5]' ]
    labelsplit -r 1 --points-file "$A/sfnet.txt" -o s.tal v.tal
    run sh -c 'talcat -j s.tal | jq -c "[.supervision, [.points[].time]]"'
    [ "${lines[0]}" = '["point",[2.5]]' ]
}

@test "labelsplit --supervision video keeps only the tags" {
    featpack -q -a "$A/anet.json" -s val -o v.tal
    labelsplit -r 1 --supervision video -o t.tal v.tal
    run sh -c 'talcat -j t.tal | jq -c "[.supervision, has(\"segments\"), [.labels[].label]]"'
    [ "${lines[1]}" = '["video",false,["Jump","Run"]]' ]
}

@test "labelsplit --oracle keeps the unlabelled part's ground truth" {
    mkstream val.tal
    labelsplit -r 0.5 --seed 2 -o lab.tal -u unl.tal --oracle or.tal val.tal
    [ "$(ids unl.tal)" = "$(ids or.tal)" ]
    run sh -c 'talcat -S lab.tal or.tal | head -1'
    [ "$output" = "200 sequences, 3007 instances, 20 classes" ]
    run sh -c 'talcat -H --json or.tal | jq -r ".meta[\"labelsplit.part\"]"'
    [ "$output" = "oracle" ]
}

@test "labelsplit reads a pipe and keeps features" {
    mkdir feats
    for v in vid_a vid_b vid_c vid_d; do write_npy feats/$v.npy 3 2; done
    featpack -q -a "$A/anet.json" -F feats -o f.tal
    cat f.tal | labelsplit -r 0.5 --seed 1 -o lab.tal -u unl.tal
    labelsplit -r 0.5 --seed 1 -o lab2.tal -u unl2.tal f.tal
    cmp <(talcat -j --features lab.tal) <(talcat -j --features lab2.tal)
    cmp <(talcat -j --features unl.tal) <(talcat -j --features unl2.tal)
    run sh -c 'talcat -j --features lab.tal | jq -c ".features[1]" | head -1'
    [ "$output" = "[1000,1001]" ]
}

@test "labelsplit: bad input and failed writes leave no outputs" {
    run --separate-stderr labelsplit -r 0.5 -o lab.tal -u unl.tal "$FIXTURES/broken/crc-mismatch.tal"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"CRC mismatch in frame at byte offset 176"* ]]
    [ ! -e lab.tal ] && [ ! -e unl.tal ]
    mkstream val.tal
    cat val.tal val.tal > twice.tal
    run --separate-stderr labelsplit -r 0.5 -o lab.tal twice.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"sequence id 'video_validation_0000051' appears twice"* ]]
    run -1 labelsplit -r 0.5 -o lab.tal -u /dev/full val.tal
    [ ! -e lab.tal ]
    run -1 labelsplit -r 0.5 -o /dev/full val.tal
}

@test "labelsplit: --point-segments turns each point into a segment of that length, fully supervised" {
    mkstream val.tal
    labelsplit -q -r 1 --points-file "$DATA/thumos14/lacp/point_labels.csv" --point-segments 3 -o naive.tal val.tal
    labelsplit -q -r 1 --points-file "$DATA/thumos14/lacp/point_labels.csv" -o pts.tal val.tal
    talcat -j naive.tal > n.jsonl
    talcat -j pts.tal > p.jsonl
    jq -e -s 'all(.[]; .supervision == "full" and (.points // [] | length) == 0
                  and all(.segments[]; .pseudo and (.end - .start) <= 3 + 1e-9))' n.jsonl > /dev/null
    # one segment per point, centred on it where the sequence leaves room
    [ "$(jq -s '[.[].segments | length] | add' n.jsonl)" -eq "$(jq -s '[.[].points | length] | add' p.jsonl)" ]
    paste -d ' ' <(jq -r '.segments[] | (.start + .end) / 2' n.jsonl) <(jq -r '.points[].time' p.jsonl) |
        awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-6) far++ } END { exit !(far < 30) }'
    run --separate-stderr labelsplit -r 1 --point-segments 3 -o x.tal val.tal
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--point-segments goes with point supervision"* ]]
}
