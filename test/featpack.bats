#!/usr/bin/env bats
# featpack: every input format, every option, bad input, failed writes.

load test_helper

A="$FIXTURES/anno"

@test "featpack --help prints usage on stdout and exits 0" {
    run --separate-stderr featpack --help
    [ "$status" -eq 0 ]
    [[ "$output" == Usage:\ featpack* ]]
    [ -z "$stderr" ]
}

@test "featpack --version" {
    run featpack --version
    [ "$status" -eq 0 ]
    [[ "$output" == "featpack (talcore) "* ]]
}

@test "featpack: unknown option is a usage error (exit 2)" {
    run --separate-stderr featpack --bogus
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"unrecognized option"* ]]
}

@test "featpack: usage errors name the option" {
    run --separate-stderr featpack -a "$A/anet.json" --level 10 -o x.tal
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--level: '10'"* ]]
    run -2 featpack -a "$A/anet.json" --fps -3 -o x.tal
    run -2 featpack -a "$A/anet.json" --dtype f64 -o x.tal
    run -2 featpack -a "$A/anet.json" --role validation -o x.tal
    run -2 featpack -a "$A/anet.json" --supervision strong -o x.tal
    run -2 featpack -a "$A/anet.json" --feature-ext png -o x.tal
    run -2 featpack -a "$A/anet.json" extra-argument
    run -2 featpack -o x.tal
    run -2 featpack -a "$A/anet.json" --ignore-unknown-classes -o x.tal
    [ ! -e x.tal ]
}

@test "featpack: THUMOS14 validation from the shipped annotations" {
    featpack --annotations "$DATA/thumos14/gt_full.json" --subset validation -o val.tal
    run talcat --stats val.tal
    [ "${lines[0]}" = "200 sequences, 3007 instances, 20 classes" ]
    run sh -c 'talcat --jsonl val.tal | jq -r .id | sort -u | wc -l'
    [ "$output" -eq 200 ]
}

@test "featpack: pipes work (-o -)" {
    run sh -c "featpack --annotations '$DATA/thumos14/gt_full.json' --subset test -o - | talcat --stats -"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "212 sequences, 3358 instances, 20 classes" ]
}

@test "featpack: ActivityNet JSON: classes ordered by label_id, records by id, subsets" {
    featpack -a "$A/anet.json" -o all.tal
    run sh -c 'talcat -H --json all.tal | jq -c "[.classes[].label]"'
    [ "$output" = '["Jump","Run","Throw"]' ]
    run sh -c 'talcat -j all.tal | jq -r .id | paste -sd,'
    [ "$output" = "vid_a,vid_b,vid_c,vid_d" ]
    featpack -a "$A/anet.json" -s val -o val.tal
    run sh -c 'talcat -j val.tal | jq -c "[.id, .subset, .duration, .fps, .role, .supervision, [.segments[].class]]"'
    [ "${lines[0]}" = '["vid_a","Validation",40,25,"train","full",[2]]' ]
    [ "${lines[1]}" = '["vid_b","Validation",60,30,"train","full",[1,0]]' ]
    featpack -a "$A/anet.json" -s test -o test.tal
    run sh -c 'talcat -j test.tal | jq -c "[.id, .role, (.segments|length), (.labels|length)]"'
    [ "${lines[0]}" = '["vid_c","test",2,1]' ]
    [ "${lines[1]}" = '["vid_d","test",0,0]' ]
}

@test "featpack: --classes fixes the order and the external ids" {
    featpack -a "$A/anet.json" -c "$A/classes.txt" -o c.tal
    run sh -c 'talcat -H --json c.tal | jq -c "[.classes[] | [.label, .ext_id]]"'
    [ "$output" = '[["Jump",7],["Run",9],["Throw",12]]' ]
    printf 'Run\nJump\n' > two.txt
    run --separate-stderr featpack -a "$A/anet.json" -c two.txt -o bad.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"label 'Throw' is not in the class list"* ]]
    [ ! -e bad.tal ]
    featpack -q -a "$A/anet.json" -c two.txt --ignore-unknown-classes -o ok.tal
    run sh -c 'talcat -j ok.tal | jq -c "[.id, [.segments[].label]]" | head -2'
    [ "${lines[0]}" = '["vid_a",[]]' ]
    [ "${lines[1]}" = '["vid_b",["Run","Jump"]]' ]
}

@test "featpack: LACP gt.json (segments as strings) with fps from video info" {
    featpack -a "$A/lacp.json" --video-info "$A/info.json" -o l.tal
    run sh -c 'talcat -j l.tal | jq -c "[.id, .fps, .duration, .segments[0].start, .segments[0].end]"'
    [ "${lines[0]}" = '["vid_a",25,40,1,4]' ]
    [ "${lines[1]}" = '["vid_b",30,0,10,20.5]' ]
}

@test "featpack: BSN annotations take their subsets from a video-info CSV" {
    printf 'video,fps,subset\nv_x1,25,validation\nv_x2,29.97,training\n' > info.csv
    featpack -a "$A/bsn.json" --video-info info.csv -s validation -o b.tal
    # the frame rate comes from BSN's own duration_frame; the CSV fills in what is missing
    run sh -c 'talcat -j b.tal | jq -c "[.id, .subset, .duration, (.fps*100|round), .segments[0].label]"'
    [ "$output" = '["v_x1","validation",82.73,2498,"Ballet"]' ]
}

@test "featpack: detection results JSON becomes detections" {
    featpack -a "$A/results.json" -c "$A/classes.txt" -o d.tal
    run sh -c 'talcat -j d.tal | jq -c "[.id, [.detections[] | [.label, .score]]]"'
    [ "${lines[0]}" = '["vid_a",[["Throw",0.9],["Run",0.2]]]' ]
    [ "${lines[1]}" = '["vid_b",[["Run",0.75]]]' ]
}

@test "featpack: THUMOS14 official folder keeps Ambiguous segments apart" {
    featpack --th14 "$A/th14" -o t.tal
    run talcat --stats t.tal
    [ "${lines[0]}" = "2 sequences, 3 instances, 2 classes" ]
    [[ "$output" == *"ambiguous     2 segments"* ]]
    run sh -c 'talcat -j t.tal | jq -c "[.id, .subset, [.segments[] | [.label, .ambiguous]]]"'
    # files in name order (Ambiguous first), lines in file order: the order
    # the THUMOS14 kit's matching depends on
    [ "${lines[0]}" = '["vid_a","validation",[[null,true],["Run",null]]]' ]
    [ "${lines[1]}" = '["vid_b","validation",[[null,true],["Jump",null],["Run",null]]]' ]
}

@test "featpack: the real THUMOS14 kit folder gives 3007 instances and 89 ambiguous" {
    K="$DATA/thumos14/official/annotations_val"
    [ -d "$K" ] || skip "official THUMOS14 folder not in data/ yet"
    featpack --th14 "$K" -o t.tal
    run talcat --stats t.tal
    [ "${lines[0]}" = "200 sequences, 3007 instances, 20 classes" ]
}

@test "featpack: point labels from an LACP CSV (frames at the video's fps)" {
    featpack -a "$A/anet.json" -s val -p "$A/points.csv" -o p.tal
    run sh -c 'talcat -j p.tal | jq -c "[.id, [.points[] | [.time, .label]]]"'
    [ "${lines[0]}" = '["vid_a",[[2,"Throw"]]]' ]
    [ "${lines[1]}" = '["vid_b",[[15,"Run"],[30.5,"Jump"]]]' ]
}

@test "featpack: points alone make point-supervised records; SF-Net text" {
    featpack -p "$A/sfnet.txt" -o s.tal
    run sh -c 'talcat -j s.tal | jq -c "[.id, .supervision, [.points[].time], [.labels[].label]]"'
    [ "${lines[0]}" = '["vid_a","point",[2.5],["Throw"]]' ]
    run --separate-stderr featpack -p "$A/points.csv" -o x.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"no frame rate known for 'vid_b'"* ]]
    featpack -p "$A/points.csv" --fps 30 -o y.tal
    run sh -c 'talcat -j y.tal | jq -c "[.id, [.points[].time]]" | head -1'
    [ "$output" = '["vid_a",[1.6666666666666667]]' ]
}

@test "featpack: features from .npy (f4, f8, f2; versions 1-3) become float32" {
    mkdir feats
    write_npy feats/vid_a.npy 5 3 f4 1
    write_npy feats/vid_b.npy 4 3 f8 2
    write_npy feats/vid_c.npy 6 3 f2 3
    write_npy feats/vid_d.npy 2 3 f4 1
    featpack -a "$A/anet.json" -F feats --stride 4 --clip 16 -o f.tal
    run sh -c 'talcat -j --features f.tal | jq -c "[.id, .T, .D, .features[1]]"'
    [ "${lines[0]}" = '["vid_a",5,3,[1000,1001,1002]]' ]
    [ "${lines[1]}" = '["vid_b",4,3,[1000,1001,1002]]' ]
    [ "${lines[2]}" = '["vid_c",6,3,[1000,1001,1002]]' ]
    run sh -c 'talcat -H --json f.tal | jq -c "[.feature_dim, .feature_dtype, .stride, .clip]"'
    [ "$output" = '[3,"f32",4,16]' ]
}

@test "featpack: --dtype f16 rounds to half precision; --level compresses" {
    mkdir feats
    write_npy feats/vid_a.npy 50 64
    featpack -a "$A/anet.json" -s val -F feats --skip-missing --dtype f16 -o h.tal 2>/dev/null
    run sh -c 'talcat -j --features h.tal | jq -c "[.features[2][1], .features[49][63]]"'
    [ "$output" = '[2001,49056]' ]
    featpack -q -a "$A/anet.json" -s val -F feats --skip-missing -o plain.tal
    featpack -q -a "$A/anet.json" -s val -F feats --skip-missing -l 6 -o small.tal
    [ "$(stat -c %s small.tal)" -lt "$(stat -c %s plain.tal)" ]
    cmp <(talcat -j --features plain.tal) <(talcat -j --features small.tal)
}

@test "featpack: features without annotations, from the folder or an id list" {
    mkdir feats
    write_npy feats/one.npy 3 2
    write_npy "feats/two words.npy" 4 2
    featpack -F feats --fps 10 -o f.tal
    run sh -c 'talcat -j f.tal | jq -c "[.id, .supervision, .T, .duration]"'
    [ "${lines[0]}" = '["one","none",3,0.3]' ]
    [ "${lines[1]}" = '["two words","none",4,0.4]' ]
    echo one > ids.txt
    featpack -F feats --ids ids.txt -o g.tal
    run sh -c 'talcat -j g.tal | jq -r .id'
    [ "$output" = "one" ]
}

@test "featpack: numeric CSV features" {
    mkdir feats
    printf 'a,b\n1,2\n3,4\n5,6\n' > feats/vid_a.csv
    featpack -a "$A/anet.json" -s val -F feats --feature-ext csv --skip-missing -q -o c.tal
    run sh -c 'talcat -j --features c.tal | jq -c "[.T, .D, .features]"'
    [ "$output" = '[3,2,[[1,2],[3,4],[5,6]]]' ]
    printf '1 2\n3\n' > feats/vid_a.csv
    run --separate-stderr featpack -a "$A/anet.json" -s val -F feats --feature-ext csv --skip-missing -o d.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"vid_a.csv' line 2: 1 columns, earlier lines have 2"* ]]
}

@test "featpack: missing features are an error unless --skip-missing" {
    mkdir feats
    write_npy feats/vid_a.npy 3 2
    run --separate-stderr featpack -a "$A/anet.json" -F feats -o f.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"cannot open '"*"vid_b.npy'"* ]]
    [ ! -e f.tal ]
    run --separate-stderr featpack -a "$A/anet.json" -F feats --skip-missing -o f.tal
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"3 sequences without feature files were left out"* ]]
}

@test "featpack: bad .npy files get one clear line each" {
    mkdir feats
    write_npy feats/vid_a.npy 3 2 '>f4'
    run --separate-stderr featpack -a "$A/anet.json" -s val -F feats --skip-missing -o f.tal
    [ "$status" -eq 1 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ "$stderr" == *"big-endian dtype '>f4'"* ]]
    write_npy feats/vid_a.npy 3 2 i4
    run --separate-stderr featpack -a "$A/anet.json" -s val -F feats --skip-missing -o f.tal
    [[ "$stderr" == *"dtype '<i4'"* ]]
    write_npy feats/vid_a.npy 30 2
    head -c 150 feats/vid_a.npy > feats/t.npy && mv feats/t.npy feats/vid_a.npy
    run --separate-stderr featpack -a "$A/anet.json" -s val -F feats --skip-missing -o f.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"truncated .npy file"* ]]
    printf 'not numpy at all' > feats/vid_a.npy
    run --separate-stderr featpack -a "$A/anet.json" -s val -F feats --skip-missing -o f.tal
    [[ "$stderr" == *"not a .npy file"* ]]
    [ ! -e f.tal ]
}

@test "featpack: bad annotations name the file and the line or the value" {
    run --separate-stderr featpack -a "$A/bad-syntax.json" -o x.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"bad JSON: '$A/bad-syntax.json' line 2"* ]]
    run --separate-stderr featpack -a "$A/bad-segment.json" -o x.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"database.vid_a: annotations[0].segment is not a pair of numbers"* ]]
    printf 'vid 1.0\n' > Run_val.txt
    run --separate-stderr featpack --th14 . -o x.tal
    [[ "$stderr" == *"Run_val.txt' line 1: expected 'video start end'"* ]]
    run --separate-stderr featpack -a /nonexistent.json -o x.tal
    [[ "$stderr" == *"cannot open '/nonexistent.json'"* ]]
    [ ! -e x.tal ]
}

@test "featpack: --role, --supervision and --fps override; --subset with nothing left fails" {
    featpack -a "$A/anet.json" --role test --supervision video --fps 10 -o r.tal
    run sh -c 'talcat -j r.tal | jq -c "[.role, .supervision, .fps]" | sort -u'
    [ "$output" = '["test","video",10]' ]
    run --separate-stderr featpack -a "$A/anet.json" -s nosuch -o x.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"no sequences left to pack (check --subset)"* ]]
}

@test "featpack: a failed write (/dev/full) is an error" {
    run --separate-stderr featpack -a "$A/anet.json" -o /dev/full
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"/dev/full"* ]]
    run --separate-stderr sh -c "featpack -a '$A/anet.json' -o - > /dev/full"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"cannot write"* ]]
}

@test "featpack: provenance records the command" {
    featpack -a "$A/anet.json" -s val -o p.tal
    run sh -c 'talcat -H --json p.tal | jq -r ".provenance[0].tool, .provenance[0].argv"'
    [ "${lines[0]}" = "featpack" ]
    [ "${lines[1]}" = "featpack -a $A/anet.json -s val -o p.tal" ]
}

# ---- time series: --parts, --window, --magnitude, --segment-table -------

@test "featpack: --window turns samples into mean, sd, min, max, energy, mad" {
    mkdir s
    printf '1\n2\n4\n7\n' > s/one.txt
    featpack -F s --feature-ext txt --sample-rate 10 --window 2 --hop 1 -o w.tal
    run sh -c 'talcat -j --features w.tal | jq -c "[.id, .T, .D, .duration, .features]"'
    [ "$output" = '["one",3,6,0.4,[[1.5,0.5,1,2,2.5,1],[3,1,2,4,10,2],[5.5,1.5,4,7,32.5,3]]]' ]
    # the grid follows the hop: stride = hop, clip = window, fps = sample rate
    run sh -c 'talcat -H --json w.tal | jq -c "[.fps, .stride, .clip, .feature_dim]"'
    [ "$output" = '[10,1,2,6]' ]
    # the hop defaults to the window; a sequence shorter than one window is an error
    featpack -F s --feature-ext txt --sample-rate 10 --window 2 -o w2.tal
    run sh -c 'talcat -j --features w2.tal | jq -c "[.T, .features[1][0]]"'
    [ "$output" = '[2,5.5]' ]
    run --separate-stderr featpack -F s --feature-ext txt --sample-rate 10 --window 5 -o x.tal
    [ "$status" -eq 1 ]
    [ "$stderr" = "featpack: 'one' has 4 samples, fewer than one window (5)" ]
    [ ! -e x.tal ]
}

@test "featpack: several files per sequence, comma or blank, plain or gzip, joined column-wise" {
    mkdir s
    printf 'x,y,z\n3,4,0\n0,0,2\n1,2,2\n' > s/acc_r1.csv
    gzip -n s/acc_r1.csv
    printf '10\n20\n30\n' | gzip -n > s/gyro_r1.csv.gz
    # a blank-separated table in the same folder is read alike
    printf '0 0 1\n0 3 4\n6 0 8\n' | gzip -n > s/acc_r2.csv.gz
    printf '1\n2\n3\n' | gzip -n > s/gyro_r2.csv.gz
    featpack -F s --feature-ext csv.gz --parts 'acc_{},gyro_{}' --magnitude 1-3 -o j.tal
    run sh -c 'talcat -j --features j.tal | jq -c "[.id, .T, .D, .features]"'
    [ "${lines[0]}" = '["r1",3,5,[[3,4,0,10,5],[0,0,2,20,2],[1,2,2,30,3]]]' ]
    [ "${lines[1]}" = '["r2",3,5,[[0,0,1,1,1],[0,3,4,2,5],[6,0,8,3,10]]]' ]
    run sh -c 'talcat -H --json j.tal | jq -r ".meta.feature_layout"'
    [ "$output" = 'channels 1-3 acc_{}, 4-4 gyro_{}, 5 |1-3|' ]
    run sh -c 'talcat -j j.tal | jq -r .provenance.features | head -1'
    [ "$output" = "s/acc_r1.csv.gz + s/gyro_r1.csv.gz" ]
    # windows over the joined channels and the magnitude: 5 channels x 6 statistics
    featpack -F s --feature-ext csv.gz --parts 'acc_{},gyro_{}' --magnitude 1-3 --sample-rate 50 --window 3 -o w.tal
    run sh -c 'talcat -j --features w.tal | jq -c "[.T, .D, (.features[0][18:30] | map(. * 1000 | round))]" | head -1'
    [ "$output" = '[1,30,[20000,8165,10000,30000,466667,10000,3333,1247,2000,5000,12667,2000]]' ]
}

@test "featpack: a HAPT-like segment table: ids from columns, classes by id, samples to seconds" {
    mkdir s
    for id in exp01_user01 exp02_user01 exp03_user02; do
        seq 0 199 | awk '{ print $1 / 100, 1, 0 }' > "s/acc_$id.txt"
        seq 0 199 | awk '{ print 0, 0, 0 }' > "s/gyro_$id.txt"
    done
    printf '1 WALKING   \n2 SITTING\n3 STAND_TO_SIT\n' > names.txt
    printf '1 1 2 10 59\n1 1 3 60 89\n2 1 1 0 149\n3 2 2 100 199\n' > labels.txt
    featpack -F s --feature-ext txt --parts 'acc_{},gyro_{}' --magnitude 1-3,4-6 --sample-rate 50 \
        --window 50 --hop 25 --segment-table labels.txt --table-id 'exp{1:02}_user{2:02}' \
        --table-columns 4,5,3 --classes names.txt -o h.tal
    run talcat --stats h.tal
    [ "${lines[0]}" = "3 sequences, 4 instances, 3 classes" ]
    run sh -c 'talcat -j h.tal | jq -c "[.id, .fps, .duration, .T, [.segments[] | [.start, .end, .label]]]"'
    [ "${lines[0]}" = '["exp01_user01",50,4,7,[[0.2,1.2,"SITTING"],[1.2,1.8,"STAND_TO_SIT"]]]' ]
    [ "${lines[1]}" = '["exp02_user01",50,4,7,[[0,3,"WALKING"]]]' ]
    [ "${lines[2]}" = '["exp03_user02",50,4,7,[[2,4,"SITTING"]]]' ]
    run sh -c 'talcat -H --json h.tal | jq -c "[.feature_dim, .stride, .clip, [.classes[].ext_id]]"'
    [ "$output" = '[48,25,50,[1,2,3]]' ]
    # --ids keeps part of the table (a volunteer split)
    echo exp03_user02 > test.ids
    featpack -q -F s --feature-ext txt --parts 'acc_{},gyro_{}' --sample-rate 50 --window 50 --hop 25 \
        --segment-table labels.txt --table-id 'exp{1:02}_user{2:02}' --table-columns 4,5,3 \
        --classes names.txt --ids test.ids --role test -o t.tal
    run talcat --stats t.tal
    [ "${lines[0]}" = "1 sequences, 1 instances, 3 classes" ]
    # without a class list the numbers are the names, ordered as numbers
    featpack -q --segment-table labels.txt --table-id 'exp{1:02}_user{2:02}' --table-columns 4,5,3 \
        --sample-rate 50 -o n.tal
    run sh -c 'talcat -H --json n.tal | jq -c "[.classes[].label]"'
    [ "$output" = '["1","2","3"]' ]
}

@test "featpack: a four-column segment table (sequence, start, end, class) with a header and names" {
    printf 'seq,start,end,class\nrunA,0,99,walk\nrunA,100,149,sit\nrunB,5,5,walk\n' > t.csv
    featpack --segment-table t.csv --sample-rate 100 -o t.tal
    run sh -c 'talcat -j t.tal | jq -c "[.id, [.segments[] | [.start, .end, .label]]]"'
    [ "${lines[0]}" = '["runA",[[0,1,"walk"],[1,1.5,"sit"]]]' ]
    [ "${lines[1]}" = '["runB",[[0.05,0.06,"walk"]]]' ]
}

@test "featpack: time-series usage errors (exit 2)" {
    mkdir s
    run -2 featpack -F s --window 4 -o x.tal
    run --separate-stderr featpack -F s --window 4 -o x.tal
    [[ "$stderr" == *"--window needs the sample rate"* ]]
    run -2 featpack -F s --sample-rate 50 --hop 2 -o x.tal
    run -2 featpack -F s --sample-rate 50 --window 4 --stride 2 -o x.tal
    run -2 featpack -F s --sample-rate 50 --window 0 -o x.tal
    run -2 featpack -F s --parts 'acc' -o x.tal
    run -2 featpack -F s --parts 'a_{}_{}' -o x.tal
    run -2 featpack -F s --magnitude 3-1 -o x.tal
    run -2 featpack -F s --magnitude 1-3, -o x.tal
    run -2 featpack --parts 'a_{}' -a "$A/anet.json" -o x.tal
    run -2 featpack --segment-table t.txt -o x.tal
    run -2 featpack --segment-table t.txt --sample-rate 50 --table-columns 1,2 -o x.tal
    run -2 featpack --segment-table t.txt --sample-rate 50 --table-columns 0,2,3 -o x.tal
    run --separate-stderr featpack --segment-table t.txt --sample-rate 50 --table-id 'exp{1:2}' -o x.tal
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"bad sequence-id template 'exp{1:2}'"* ]]
    run -2 featpack --segment-table t.txt --sample-rate 50 --table-id 'exp' -o x.tal
    run -2 featpack -a "$A/anet.json" --table-id '{1}' -o x.tal
    [ ! -e x.tal ]
}

@test "featpack: bad time series and segment tables name the file and the line" {
    mkdir s
    printf '1 2 3\n4 5 6\n7 8 9\n' > s/acc_a.txt
    printf '1\n2\n' > s/gyro_a.txt
    run --separate-stderr featpack -F s --feature-ext txt --parts 'acc_{},gyro_{}' -o x.tal
    [ "$status" -eq 1 ]
    [ "$stderr" = "featpack: parts of 'a' differ in length: 's/gyro_a.txt' has 2 rows, the first part 3" ]
    rm s/gyro_a.txt
    run --separate-stderr featpack -F s --feature-ext txt --parts 'acc_{},gyro_{}' -o x.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"cannot open 's/gyro_a.txt': No such file or directory (part 2 of sequence 'a')" ]]
    run --separate-stderr featpack -F s --feature-ext txt --parts 'acc_{}' --magnitude 2-4 -o x.tal
    [ "$status" -eq 1 ]
    [ "$stderr" = "featpack: --magnitude on 'a' (3 columns): channel range 2-4 is outside the 3 channels" ]
    printf '1 2 3\n4 x 6\n' > s/acc_a.txt
    run --separate-stderr featpack -F s --feature-ext txt --parts 'acc_{}' --sample-rate 5 --window 1 -o x.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"'s/acc_a.txt' line 2 column 2: not a number" ]]
    printf '1 2 3\n' | gzip -n | head -c 15 > s/acc_b.txt.gz
    run --separate-stderr featpack -F s --feature-ext txt.gz --parts 'acc_{}' -o x.tal
    [ "$status" -eq 1 ]
    [ "$stderr" = "featpack: cannot read 's/acc_b.txt.gz': truncated gzip data" ]

    printf 'a 0 9 1\na 10 x 1\n' > t.txt
    run --separate-stderr featpack --segment-table t.txt --sample-rate 50 -o x.tal
    [ "$status" -eq 1 ]
    [ "$stderr" = "featpack: bad segment table: 't.txt' line 2: end sample 'x' (column 3) is not a whole number >= 0" ]
    printf 'a 0 9 1\na 10 5 1\n' > t.txt
    run --separate-stderr featpack --segment-table t.txt --sample-rate 50 -o x.tal
    [ "$stderr" = "featpack: bad segment table: 't.txt' line 2: end sample 5 is before the start 10" ]
    printf 'a 0 9 1\n\na 10\n' > t.txt
    run --separate-stderr featpack --segment-table t.txt --sample-rate 50 -o x.tal
    [ "$stderr" = "featpack: bad segment table: 't.txt' line 3: 2 fields, column 4 needed" ]
    printf 'a 0 9 1\na 1.5 9 1\n' > t.txt
    run --separate-stderr featpack --segment-table t.txt --sample-rate 50 -o x.tal
    [[ "$stderr" == *"'t.txt' line 2: start sample '1.5' (column 2) is not a whole number >= 0" ]]
    printf '1 walk\n' > names.txt
    printf 'a 0 9 1\na 10 19 7\n' > t.txt
    run --separate-stderr featpack --segment-table t.txt --sample-rate 50 -c names.txt -o x.tal
    [ "$stderr" = "featpack: bad segment table: 't.txt' line 2: class 7 is not in the class list" ]
    run --separate-stderr featpack --segment-table t.txt --sample-rate 50 -c names.txt --ignore-unknown-classes -o y.tal
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"1 segments in 't.txt' have classes not in the class list; ignored"* ]]
    printf 'x,y\n\n' > t.txt
    run --separate-stderr featpack --segment-table t.txt --sample-rate 50 -o x.tal
    [ "$stderr" = "featpack: bad segment table: 't.txt': no segments" ]
    [ ! -e x.tal ]
}

@test "featpack: sequences from the folder by the first part's name; --skip-missing" {
    mkdir s
    printf '1\n2\n' > s/acc_one.txt; printf '3\n4\n' > s/gyro_one.txt
    printf '5\n6\n' > s/acc_two.txt; printf '7\n8\n' > s/gyro_two.txt
    printf '0\n' > s/other.txt
    featpack -F s --feature-ext txt --parts 'acc_{},gyro_{}' --fps 2 -o f.tal
    run sh -c 'talcat -j --features f.tal | jq -c "[.id, .features]"'
    [ "${lines[0]}" = '["one",[[1,3],[2,4]]]' ]
    [ "${lines[1]}" = '["two",[[5,7],[6,8]]]' ]
    printf 'one 0 1 a\nthree 0 1 a\n' > t.txt
    run --separate-stderr featpack -F s --feature-ext txt --parts 'acc_{},gyro_{}' --segment-table t.txt \
        --sample-rate 2 --skip-missing -o g.tal
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"1 sequences without feature files were left out"* ]]
    run talcat --stats g.tal
    [ "${lines[0]}" = "1 sequences, 1 instances, 1 classes" ]
}

# ---- the time grid -----------------------------------------------------------

# The user of issue 17: I3D-like features of two videos, 164 snippets for
# 24 s and 89 for 11 s, packed without saying the grid.
misfit_case() {
    mkdir -p feats
    write_npy feats/vid_a.npy 164 8 f8
    write_npy feats/vid_b.npy 89 8 f8
    cat > gt.json <<'JSON'
{"database": {
 "vid_a": {"subset": "validation", "duration": 24.0, "fps": 30,
           "annotations": [{"label": "Jump", "segment": [3.0, 7.5]}]},
 "vid_b": {"subset": "validation", "duration": 11.0, "fps": 30,
           "annotations": [{"label": "Run", "segment": [1.0, 4.0]}, {"label": "Jump", "segment": [6.0, 9.0]}]}}}
JSON
}

@test "featpack: features that do not fit the duration get a warning naming the stride that fits" {
    misfit_case
    run --separate-stderr featpack -q -a gt.json -F feats -o x.tal
    [ "$status" -eq 0 ]
    [ -s x.tal ]
    [[ "$stderr" == *"'vid_a': 164 snippets on the grid (30 fps, stride 1, clip 1) span 5.47 s but the sequence lasts 24.00 s; stride 4.39 would fit (--stride 4.39, or --stride auto"* ]]
    [[ "$stderr" == *"'vid_b': 89 snippets"*"stride 3.708 would fit"* ]]
    [[ "$stderr" == *"2 of 2 sequences do not fit their time grid"* ]]
    # tal-train says the same at start-up of a stream packed earlier
    run --separate-stderr tal-train -q --threads 1 -c "$TOP/pipelines/configs/linear-synth.yaml" -s train.epochs=1 \
        x.tal -o m.ckpt
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"'x.tal': sequence 'vid_a': 164 snippets"*"stride 4.39 would fit (repack it with featpack"* ]]
    # the stride it names silences it (one stride cannot fit both here)
    run --separate-stderr featpack -a gt.json -F feats --stride 4.39 --ids <(echo vid_a) -o y.tal
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    # and a grid that fits says nothing: a THUMOS14-like layout
    write_npy feats/vid_a.npy 177 8
    run --separate-stderr featpack -a gt.json -F feats --grid thumos-i3d --ids <(echo vid_a) -o z.tal
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
}

@test "featpack --strict: a grid that does not fit is an error, and nothing is written" {
    misfit_case
    run --separate-stderr featpack --strict -a gt.json -F feats -o x.tal
    [ "$status" -eq 1 ]
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == "featpack: 'vid_a': 164 snippets on the grid"*"stride 4.39 would fit (--stride 4.39, or --stride auto)" ]]
    [ ! -e x.tal ]
    [ "$(ls)" = "$(printf 'feats\ngt.json')" ]
    # no frame rate at all: said, and an error under --strict
    jq 'del(.database[].fps)' gt.json > nofps.json
    run --separate-stderr featpack --strict -a nofps.json -F feats -o x.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"'vid_a' has no frame rate"*"(give --fps or --grid)" ]]
    [ ! -e x.tal ]
}

@test "featpack: --grid presets and --resize set the grid; usage errors" {
    misfit_case
    featpack -q -a gt.json -F feats --grid thumos-i3d -o t.tal 2> /dev/null
    talcat -H --json t.tal | jq -e '.fps == 30 and .stride == 4 and .clip == 16' > /dev/null
    talcat -H --json t.tal | jq -e '.meta["featpack.grid"] == "thumos-i3d"' > /dev/null
    # anet-tsp-192: 15 fps, 16-frame clips every 16 frames, resized to 192 over the same span
    featpack -q -a gt.json -F feats --grid anet-tsp-192 -o a.tal 2> /dev/null
    talcat -j a.tal | jq -e -s 'map(select(.id == "vid_a"))[0] | .T == 192 and .fps == 15 and
        (.stride - 164 * 16 / 192 | fabs) < 1e-9 and .clip == .stride' > /dev/null
    # an explicit option wins over the preset
    featpack -q -a gt.json -F feats --grid thumos-i3d --fps 25 -o f.tal 2> /dev/null
    talcat -H --json f.tal | jq -e '.fps == 25 and .stride == 4' > /dev/null
    run featpack -a gt.json -F feats --grid nope -o x.tal
    [ "$status" -eq 2 ]
    [[ "$output" == *"unknown --grid 'nope'"* ]]
    run featpack -a gt.json -F feats --grid fixed:0 -o x.tal
    [ "$status" -eq 2 ]
    run featpack -a gt.json -F feats --stride auto --clip 3 -o x.tal
    [ "$status" -eq 2 ]
    run featpack -a gt.json --resize 100 -o x.tal
    [ "$status" -eq 2 ]
    run featpack --sample-rate 50 --window 10 --grid thumos-i3d -F feats -o x.tal
    [ "$status" -eq 2 ]
    [ ! -e x.tal ]
    # --stride auto needs durations
    jq 'del(.database[].duration)' gt.json > nodur.json
    run --separate-stderr featpack -a nodur.json -F feats --stride auto -o x.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == "featpack: --stride auto needs the duration of 'vid_a'"* ]]
    [ ! -e x.tal ]
}

# Fixed-length features as BMN and G-TAD ship them: T rows per video in a
# CSV with a header, whatever the duration.  Each row is the one-hot class
# (background last) of the time at its centre, (t + 1/2) * duration / T.
onehot_csv() {   # FILE DURATION T "start end class; ..."
    awk -v dur="$2" -v T="$3" -v segs="$4" 'BEGIN {
        n = split(segs, s, ";")
        print "c0,c1,bg"
        for (t = 0; t < T; t++) {
            c = (t + 0.5) * dur / T; k = 2
            for (i = 1; i <= n; i++) { split(s[i], f, " "); if (c >= f[1] && c <= f[2]) k = f[3] }
            printf "%d,%d,%d\n", k == 0, k == 1, k == 2
        }
    }' > "$1"
}

fixed_length_case() {
    mkdir -p csv
    onehot_csv csv/v_s1.csv 37.0 100 "3.1 9.8 0;20.2 30.5 1"
    onehot_csv csv/v_s2.csv 52.5 100 "10.0 25.0 1;40.3 47.9 0"
    onehot_csv csv/v_s3.csv 121.0 100 "5.5 40.0 0;60.0 70.7 1;90.0 110.0 0"
    onehot_csv csv/v_s4.csv 80.0 100 "30.0 50.0 1"
    cat > gt.json <<'JSON'
{"database": {
 "s1": {"subset": "training", "duration": 37.0,
        "annotations": [{"label": "A", "segment": [3.1, 9.8]}, {"label": "B", "segment": [20.2, 30.5]}]},
 "s2": {"subset": "training", "duration": 52.5,
        "annotations": [{"label": "B", "segment": [10.0, 25.0]}, {"label": "A", "segment": [40.3, 47.9]}]},
 "s3": {"subset": "training", "duration": 121.0,
        "annotations": [{"label": "A", "segment": [5.5, 40.0]}, {"label": "B", "segment": [60.0, 70.7]},
                        {"label": "A", "segment": [90.0, 110.0]}]},
 "s4": {"subset": "training", "duration": 80.0, "annotations": [{"label": "B", "segment": [30.0, 50.0]}]}}}
JSON
}

@test "featpack --stride auto: fixed-length features get their own grid, labels and detections in the right seconds" {
    fixed_length_case
    run --separate-stderr featpack -a gt.json -F csv --parts 'v_{}' --feature-ext csv --grid fixed -o auto.tal
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    # no frame rate in ActivityNet JSON: the grid counts in snippets, stride = duration * fps / T
    talcat -j auto.tal | jq -e -s 'length == 4 and all(.[]; .T == 100 and
        (.stride / .fps - .duration / 100 | fabs) < 1e-12 and .clip == .stride)' > /dev/null
    # trained and run on it, the per-snippet classifier gives back the annotated seconds
    tal-train -q --threads 1 -c "$TOP/pipelines/configs/linear-synth.yaml" auto.tal -o m.ckpt
    tal-detect -q --threads 1 m.ckpt auto.tal -o d.tal
    map=$(tal-map --json --tiou 0.7 d.tal | jq '.mAP[0]')
    echo "mAP@0.7 with the sequence's own grid: $map"
    awk -v m="$map" 'BEGIN { exit !(m > 0.95) }'
    # each instance comes back within half a snippet at either end
    talcat -j d.tal | jq -e -s 'all(.[]; .duration as $d | . as $r | all(.segments[];
        . as $g | any($r.detections[]; .label == $g.label and .score > 0.3 and
            ((.start - $g.start) | fabs) <= $d / 200 + 1e-6 and ((.end - $g.end) | fabs) <= $d / 200 + 1e-6)))' > /dev/null
    # the same features on one stride for all: warned, and the detections are wrong
    run --separate-stderr featpack -a gt.json -F csv --parts 'v_{}' --feature-ext csv --fps 30 -o one.tal
    [[ "$stderr" == *"4 of 4 sequences do not fit their time grid"* ]]
    tal-train -q --threads 1 -c "$TOP/pipelines/configs/linear-synth.yaml" one.tal -o m1.ckpt 2> /dev/null
    tal-detect -q --threads 1 m1.ckpt one.tal -o d1.tal
    bad=$(tal-map --json --tiou 0.7 d1.tal | jq '.mAP[0]')
    echo "mAP@0.7 with a wrong grid: $bad"
    awk -v m="$bad" 'BEGIN { exit !(m < 0.2) }'
}

@test "featpack --resize with --stride auto (fixed:N) resamples over the duration" {
    fixed_length_case
    featpack -q -a gt.json -F csv --parts 'v_{}' --feature-ext csv --grid fixed:40 -o r.tal
    talcat -j r.tal | jq -e -s 'all(.[]; .T == 40 and (.stride / .fps - .duration / 40 | fabs) < 1e-12)' > /dev/null
    talcat -H --json r.tal | jq -e '.meta["featpack.grid"] == "fixed:40, stride auto, resize 40"' > /dev/null
    # linear interpolation with half-snippet alignment, 100 -> 40: row i samples the CSV at
    # x = (i + 1/2) * 2.5 - 1/2; in s1, CSV rows 8-25 are class A: row 3 (x = 8.25) is A,
    # row 10 (x = 25.75) a quarter A, three quarters background
    talcat -j --features r.tal | jq -e -s 'map(select(.id == "s1"))[0].features |
        .[2] == [0, 0, 1] and .[3] == [1, 0, 0] and .[10] == [0.25, 0, 0.75]' > /dev/null
}

@test "README: 'Your own features' runs as written, warns at step 1 and scores at step 3" {
    awk '/^## Your own features/ {on=1} on && /^```sh/ {code=1; next} code && /^```/ {exit} code {print}' \
        "$TOP/README.md" > walk.sh
    [ "$(wc -l < walk.sh)" -gt 10 ]
    ln -s "$TOP/data" data
    ln -s "$TOP/pipelines" pipelines
    run --separate-stderr bash -e -o pipefail walk.sh
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"featpack: warning: 'video_validation_0000051': 1270 snippets on the grid (30 fps, stride 1, clip 1) span 42.33 s but the sequence lasts 169.79 s; stride 4 would fit"* ]]
    [[ "$stderr" == *"30 of 30 sequences do not fit their time grid"* ]]
    map=$(printf '%s\n' "$output" | awk '/^average 0.3:0.7/ {print $3}')
    echo "average mAP: $map"
    awk -v m="$map" 'BEGIN { exit !(m > 20) }'
}
