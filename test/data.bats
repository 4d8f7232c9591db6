#!/usr/bin/env bats
# data/: every shipped file is the one SOURCES.md names, the tools read
# every kind of file there, and pipelines/hapt.mk builds the HAPT benchmark.

load test_helper

@test "data: every file is listed in SOURCES.md with its sha256, and every row's file exists" {
    cd "$DATA"
    awk -F' [|] ' '/^\| [a-z]/ && $1 != "| file" { sub(/^\| /, "", $1); sub(/ \|$/, "", $NF); print $NF "  " $1 }' \
        SOURCES.md > "$TMP/sums"
    [ "$(wc -l < "$TMP/sums")" -gt 200 ]
    run sha256sum --quiet -c "$TMP/sums"
    [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
    find . -type f ! -path './build/*' ! -name SOURCES.md | sed 's|^\./||' | sort > "$TMP/files"
    awk '{ print $2 }' "$TMP/sums" | sort > "$TMP/listed"
    run comm -3 "$TMP/files" "$TMP/listed"
    [ -z "$output" ] || { echo "not both on disk and in SOURCES.md: $output" >&2; return 1; }
}

@test "data: stays under 60 MB" {
    size=$(du -sk --exclude=build "$DATA" | cut -f1)
    [ "$size" -lt $((60 * 1024)) ]
}

@test "data: THUMOS14 official folders, video info, class ids, LACP and SF-Net points" {
    T="$DATA/thumos14"
    featpack --th14 "$T/official/annotations_test" -o t.tal
    run talcat --stats t.tal
    [ "${lines[0]}" = "213 sequences, 3358 instances, 20 classes" ]
    [[ "$output" == *"ambiguous     99 segments"* ]]
    featpack -a "$T/gt_full.json" -c "$T/official/det.txt" --video-info "$T/TH14_video_info.json" \
        -s validation -p "$T/lacp/point_labels.csv" -o v.tal
    run sh -c 'talcat -H --json v.tal | jq -c "[.classes[0].ext_id, .classes[19].ext_id]"'
    [ "$output" = '[7,97]' ]
    run sh -c 'talcat -j v.tal | jq -s "map(.points | length) | add"'
    [ "$output" -eq 3003 ]
    for i in 1 2 3 4; do
        featpack -q -a "$T/gt_full.json" -s validation -p "$T/sfnet/THUMOS$i.txt" -o "s$i.tal"
    done
    run sh -c 'talcat -j s1.tal | jq -s "map(.points | length) | add"'
    [ "$output" -gt 2900 ]
    featpack -p "$T/lacp/point_labels.csv" --video-info "$T/lacp/fps_dict.json" -o p.tal
}

@test "data: GTEA and BEOID annotations, points and splits" {
    for d in gtea:28:497:7:7 beoid:58:742:34:12; do
        IFS=: read -r name n inst cls ntest <<< "$d"
        featpack -q -a "$DATA/$name/gt_full.json" -p "$DATA/$name/point_gaussian.csv" -o a.tal
        run talcat --stats a.tal
        [ "${lines[0]}" = "$n sequences, $inst instances, $cls classes" ]
        featpack -q -a "$DATA/$name/gt_full.json" --ids "$DATA/$name/split_test.txt" -o t.tal
        run talcat --stats t.tal
        [[ "${lines[0]}" == "$ntest sequences, "* ]]
        for f in "$DATA/$name"/sfnet/*.txt; do
            featpack -q -a "$DATA/$name/gt_full.json" -p "$f" -o /dev/null
        done
    done
}

@test "data: ActivityNet v1.3 (BSN), point labels and SPOT's 10 % split" {
    N="$DATA/activitynet"
    featpack -q -a "$N/anet_anno_action.json" --video-info "$N/video_info_new.csv" -s training \
        -p "$N/point_gaussian.csv" -o tr.tal
    run talcat --stats tr.tal
    [ "${lines[0]}" = "9649 sequences, 14859 instances, 200 classes" ]
    run --separate-stderr labelsplit --split-file "$N/spot/video_info_new_0.9.csv" -o l.tal -u u.tal -v tr.tal
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"966 labelled"*"8683 unlabelled"* ]]
}

@test "data: pipelines/hapt.mk builds the HAPT benchmark with the volunteer split" {
    run make -s -C "$TOP" -f pipelines/hapt.mk BIN="$TOP/bin" OUT="$TMP/build"
    [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
    run talcat --stats build/hapt-train.tal
    [ "${lines[0]}" = "42 sequences, 849 instances, 12 classes" ]
    [ "${lines[2]}" = "roles         train 42" ]
    run talcat --stats build/hapt-test.tal
    [ "${lines[0]}" = "19 sequences, 365 instances, 12 classes" ]
    [ "${lines[2]}" = "roles         test 19" ]
    # the test volunteers, and only they, are in the test stream
    run sh -c 'talcat -j build/hapt-test.tal | jq -r .id | sed "s/.*_user//" | sort -u | paste -sd" "'
    [ "$output" = "02 04 09 10 12 13 18 20 24" ]
    run sh -c 'talcat -j build/hapt-train.tal | jq -r .id | sed "s/.*_user//" | sort -u | wc -l'
    [ "$output" -eq 21 ]
    run sh -c 'talcat -H --json build/hapt-train.tal | jq -c "[.fps, .stride, .clip, .feature_dim, .classes[6].label]"'
    [ "$output" = '[50,25,100,48,"STAND_TO_SIT"]' ]
    # a second run has nothing to do
    run make -C "$TOP" -f pipelines/hapt.mk BIN="$TOP/bin" OUT="$TMP/build"
    [[ "$output" == *"Nothing to be done"* ]]
}
