#!/usr/bin/env bats
# talcat: every mode and option, combining inputs, bad input, failed writes.

load test_helper

A="$FIXTURES/anno"
B="$FIXTURES/broken"

@test "talcat --help prints usage on stdout and exits 0" {
    run --separate-stderr talcat --help
    [ "$status" -eq 0 ]
    [[ "$output" == Usage:\ talcat* ]]
    [ -z "$stderr" ]
    run talcat --version
    [[ "$output" == "talcat (talcore) "* ]]
}

@test "talcat: usage errors exit 2" {
    mkstream val.tal
    run -2 talcat --bogus val.tal
    run -2 talcat --stats --jsonl val.tal
    run -2 talcat --features val.tal
    run -2 talcat --json val.tal
    run -2 talcat --role nobody val.tal
    run -2 talcat --supervision strong val.tal
    run -2 talcat --head -1 val.tal
    run -2 talcat --level 11 val.tal
    run -2 talcat --dtype f64 val.tal
}

@test "talcat --stats on THUMOS14 validation" {
    mkstream val.tal
    run talcat --stats val.tal
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "200 sequences, 3007 instances, 20 classes" ]
    [[ "$output" == *"supervision   full 200"* ]]
    [[ "$output" == *"Diving                                  499         20"* ]]
    run sh -c 'talcat --stats --json val.tal | jq -c "[.sequences, .instances, .classes, .supervision.full, (.per_class | map(.instances) | add)]"'
    [ "$output" = "[200,3007,20,200,3007]" ]
}

@test "talcat --header, as text and JSON, one per input" {
    mkstream val.tal
    run talcat --header val.tal
    [[ "${lines[0]}" == "stream       val.tal (format 1.3)" ]]
    [[ "$output" == *"classes      20"* ]]
    [[ "$output" == *"provenance   featpack "* ]]
    run sh -c 'talcat -H --json val.tal val.tal | jq -c "[.version, .feature_dim, (.classes|length), .classes[0].label]"'
    [ "${lines[0]}" = '["1.3",0,20,"BaseballPitch"]' ]
    [ "${#lines[@]}" -eq 2 ]
}

@test "talcat --jsonl: one object per record; --features adds the arrays" {
    mkdir feats
    write_npy feats/vid_a.npy 2 3
    featpack -q -a "$A/anet.json" -s val -F feats --skip-missing -o f.tal
    run sh -c 'talcat --jsonl f.tal | jq -c "[.id, .T, .D, has(\"features\")]"'
    [ "$output" = '["vid_a",2,3,false]' ]
    run sh -c 'talcat --jsonl --features f.tal | jq -c .features'
    [ "$output" = '[[0,1,2],[1000,1001,1002]]' ]
}

@test "talcat --jsonl --dist: the snippet distributions without the features" {
    selftrain_fixture
    # the same distributions as --features gives, and no features
    diff <(talcat -j --dist out.tal | jq -c '[.id, .dist]') <(talcat -j --features out.tal | jq -c '[.id, .dist]')
    talcat -j --dist out.tal | jq -e 'has("features") | not' >/dev/null
    talcat -j --features out.tal | jq -e 'has("features") and has("dist")' >/dev/null
    [ "$(talcat -j --dist out.tal | jq -s 'map(.dist | length) | add')" -gt 0 ]
    # a stream without distributions: the records as plain --jsonl gives them
    diff <(talcat -j --dist all.tal) <(talcat -j all.tal)
    run -2 talcat --dist -S out.tal
    [ "$status" -eq 2 ]
}

@test "talcat --anet-json round-trips through featpack" {
    featpack --th14 "$A/th14" -o t.tal
    talcat --anet-json t.tal > t.json
    run jq -c '[(.database | length), (.database.vid_b.annotations | map(.label))]' t.json
    # instances keep the kit's source order: class files in name order
    [ "$output" = '[2,["Jump","Run"]]' ]
    featpack -a t.json -o back.tal
    cmp <(talcat --stats back.tal | grep -v ambiguous) <(talcat --stats t.tal | grep -v ambiguous)
}

@test "talcat --results-json writes detections that featpack reads back" {
    featpack -a "$A/results.json" -c "$A/classes.txt" -o d.tal
    talcat --results-json d.tal -o r.json
    run jq -c '.results.vid_a' r.json
    [ "$output" = '[{"label":"Throw","score":0.9,"segment":[1.1,3.9]},{"label":"Run","score":0.2,"segment":[0,10]}]' ]
    featpack -a r.json -c "$A/classes.txt" -o back.tal
    cmp <(talcat -j back.tal | jq -c .detections) <(talcat -j d.tal | jq -c .detections)
}

@test "talcat concatenates inputs, and cat-joined streams read as one" {
    mkstream val.tal
    featpack -q -a "$DATA/thumos14/gt_full.json" -s test -o test.tal
    talcat val.tal test.tal -o all.tal
    run talcat --stats all.tal
    [ "${lines[0]}" = "412 sequences, 6365 instances, 20 classes" ]
    run sh -c 'cat val.tal test.tal | talcat --stats | head -1'
    [ "$output" = "412 sequences, 6365 instances, 20 classes" ]
    run sh -c 'talcat -H --json all.tal | jq -r ".provenance[-1].tool"'
    [ "$output" = "talcat" ]
}

@test "talcat refuses to combine streams with different class tables" {
    mkstream val.tal
    featpack -q -a "$A/anet.json" -o small.tal
    run --separate-stderr talcat val.tal small.tal -o out.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"cannot combine 'small.tal' with the first input: class tables differ: 20 classes vs 3"* ]]
    [ ! -e out.tal ]
    run --separate-stderr sh -c 'cat val.tal small.tal | talcat --stats'
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"incompatible concatenated stream"* ]]
}

@test "talcat --merge joins ground truth and detections by id" {
    featpack -q -a "$A/anet.json" -c "$A/classes.txt" -o gt.tal
    featpack -q -a "$A/results.json" -c "$A/classes.txt" -o det.tal
    talcat --merge gt.tal det.tal -o m.tal
    run sh -c 'talcat -j m.tal | jq -c "[.id, (.segments|length), (.detections|length), .duration]"'
    [ "${lines[0]}" = '["vid_a",1,2,40]' ]
    [ "${lines[1]}" = '["vid_b",2,1,60]' ]
    [ "${lines[2]}" = '["vid_c",2,0,50]' ]
    [ "${#lines[@]}" -eq 4 ]
}

@test "talcat selection: --ids, --subset, --role, --supervision, --head" {
    featpack -q -a "$A/anet.json" -o all.tal
    printf 'vid_c\nvid_a\n' > ids.txt
    run sh -c 'talcat -j --ids ids.txt all.tal | jq -r .id | paste -sd,'
    [ "$output" = "vid_a,vid_c" ]
    run sh -c 'talcat -j -s test all.tal | jq -r .id | paste -sd,'
    [ "$output" = "vid_c,vid_d" ]
    run sh -c 'talcat -j --role train all.tal | jq -r .id | paste -sd,'
    [ "$output" = "vid_a,vid_b" ]
    run sh -c 'talcat -j --supervision none all.tal | wc -l'
    [ "$output" -eq 0 ]
    run sh -c 'talcat -j -n 3 all.tal all.tal | wc -l'
    [ "$output" -eq 3 ]
    talcat -s val -o sel.tal all.tal
    run talcat -S sel.tal
    [ "${lines[0]}" = "2 sequences, 3 instances, 3 classes" ]
}

@test "talcat: --drop-features, --dtype f16 and --level rewrite the stream" {
    mkdir feats
    write_npy feats/vid_a.npy 40 16
    featpack -q -a "$A/anet.json" -s val -F feats --skip-missing -o f.tal
    talcat --drop-features f.tal -o nof.tal
    run sh -c 'talcat -j --features nof.tal | jq -c "[has(\"features\"), has(\"T\")]"'
    [ "$output" = '[false,false]' ]
    [ "$(stat -c %s nof.tal)" -lt "$(stat -c %s f.tal)" ]
    talcat --dtype f16 f.tal -o h.tal
    run sh -c 'talcat -H --json h.tal | jq -r .feature_dtype'
    [ "$output" = "f16" ]
    run sh -c 'talcat -j --features h.tal | jq -c ".features[3][5]"'
    [ "$output" = "3004" ]
    talcat -l 9 f.tal -o z.tal
    [ "$(stat -c %s z.tal)" -lt "$(stat -c %s f.tal)" ]
    cmp <(talcat -j --features z.tal) <(talcat -j --features f.tal)
}

@test "talcat: broken streams give one line each and leave no output" {
    for f in truncated truncated-noeof bad-magic crc-mismatch oversized-length unknown-must-understand-flag; do
        run --separate-stderr talcat "$B/$f.tal" -o out.tal
        [ "$status" -eq 1 ]
        [ "${#stderr_lines[@]}" -eq 1 ]
        [ ! -e out.tal ]
    done
    run --separate-stderr talcat --stats "$B/truncated-noeof.tal"
    [[ "$stderr" == "talcat: truncated stream: '$B/truncated-noeof.tal': EOF marker is absent at byte offset 1611" ]]
    run --separate-stderr talcat --stats "$B/crc-mismatch.tal"
    [[ "$stderr" == "talcat: corrupt stream: '$B/crc-mismatch.tal': CRC mismatch in frame at byte offset 176" ]]
    run --separate-stderr talcat --stats /nonexistent.tal
    [[ "$stderr" == "talcat: cannot open '/nonexistent.tal': No such file or directory" ]]
    run --separate-stderr sh -c 'printf "hello\n" | talcat --stats'
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"not a talcore stream: 'standard input': bad magic"* ]]
}

@test "talcat --check verifies whole streams and prints nothing" {
    run --separate-stderr talcat --check "$B/valid.tal" "$B/unknown-skippable-section.tal"
    [ "$status" -eq 0 ]
    [ -z "$output" ] && [ -z "$stderr" ]
    run --separate-stderr talcat --check "$B/valid.tal" "$B/huge-count.tal"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"huge-count.tal"*"do not fit"* ]]
    run -2 talcat --check --stats "$B/valid.tal"
}

@test "talcat: a failed write (/dev/full) is an error" {
    mkstream val.tal
    run -1 talcat val.tal -o /dev/full
    run -1 talcat --stats val.tal -o /dev/full
    run --separate-stderr sh -c 'talcat --jsonl val.tal > /dev/full'
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"cannot write"* ]]
}

@test "talcat refuses to write a binary stream to a terminal" {
    mkstream val.tal
    run script -qec "talcat $TMP/val.tal" /dev/null
    [ "$status" -eq 1 ]
    [[ "$output" == *"refusing to write a binary stream to a terminal"* ]]
    run script -qec "talcat -f $TMP/val.tal | head -c 4 | od -An -tx1" /dev/null
    [[ "$output" == *"8a 54 41 4c"* ]]
}

@test "talcat --npy: features back as .npy files that featpack reads to the same stream" {
    mkstream gt.tal
    talcat -q -n 3 gt.tal | talsynth -q -p easy -d 16 -o syn.tal
    run --separate-stderr talcat --npy out syn.tal
    [ "$status" -eq 0 ]
    [ "$(ls out | wc -l)" -eq 3 ]
    id=$(talcat -j syn.tal | jq -r .id | head -1)
    head -c 6 "out/$id.npy" | od -An -c | grep -q 'N   U   M   P   Y'
    # the data starts at a multiple of 64 bytes, as NumPy writes it
    T=$(talcat -j syn.tal | jq -r .T | head -1)
    [ $(( ($(stat -c %s "out/$id.npy") - T * 16 * 4) % 64 )) -eq 0 ]
    featpack -q -a "$DATA/thumos14/gt_full.json" -F out --skip-missing --stride 16 --clip 16 -o back.tal
    cmp <(talcat -j --features syn.tal | jq -c '[.id, .features]') <(talcat -j --features back.tal | jq -c '[.id, .features]')
    # records without features are counted; a bad id is one line, exit 1
    run --separate-stderr talcat --npy none gt.tal
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"200 records without features: no .npy for them"* ]]
    echo '{"database": {"a/b": {"subset": "x", "duration": 20, "fps": 30, "annotations": [{"label": "Run", "segment": [2, 5]}]}}}' > slash.json
    featpack -q -a slash.json -o - | talsynth -q -d 4 -o slash.tal
    run --separate-stderr talcat --npy bad slash.tal
    [ "$status" -eq 1 ]
    [ "$stderr" = "talcat: sequence id 'a/b' is not a file name: --npy cannot name its file" ]
    [ ! -e bad/a ]
    run --separate-stderr talcat --npy out --header syn.tal
    [ "$status" -eq 2 ]
}
