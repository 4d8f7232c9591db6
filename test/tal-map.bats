#!/usr/bin/env bats
# tal-map: both reference results, every input form, every option, bad
# input, failed writes.

load test_helper

T="$DATA/thumos14"
GTDIR="$T/official/annotations_val"
CL="$T/official/det.txt"
RUN2="$T/th14evalkit/Run-2-det.txt"

# |a - b| <= 1e-6 for two JSON arrays of numbers
close() {
    jq -e -n --argjson a "$1" --argjson b "$2" \
        '($a|length) == ($b|length) and ([range($a|length)] | all(. as $i | (($a[$i] - $b[$i]) | fabs) <= 1e-6))' >/dev/null ||
        { echo "not within 1e-6: $1 vs $2" >&2; return 1; }
}

# Run-2-det.txt as ActivityNet results JSON (awk; det.txt has CRLF ends)
run2_json() {
    awk 'NR==FNR { sub(/\r$/, ""); n[$1] = $2; next }
         { if (!($1 in seen)) { order[++k] = $1; seen[$1] = 1 }
           l[$1] = l[$1] (l[$1] ? "," : "") sprintf("{\"label\":\"%s\",\"score\":%s,\"segment\":[%s,%s]}", n[$4], $5, $2, $3) }
         END { printf "{\"results\":{"; for (i = 1; i <= k; i++) printf "%s\"%s\":[%s]", (i > 1 ? "," : ""), order[i], l[order[i]]; print "}}" }' \
        "$CL" "$RUN2"
}

@test "tal-map --help prints usage on stdout and exits 0" {
    run --separate-stderr tal-map --help
    [ "$status" -eq 0 ]
    [[ "$output" == Usage:\ tal-map* ]]
    [ -z "$stderr" ]
    run tal-map --version
    [ "$status" -eq 0 ]
    [[ "$output" == "tal-map (talcore) "* ]]
}

@test "tal-map: usage errors exit 2 and name the problem" {
    run --separate-stderr tal-map --bogus
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"unrecognized option"* ]]
    run --separate-stderr tal-map --gt "$GTDIR" --protocol voc "$RUN2"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"invalid --protocol 'voc' (anet or th14)"* ]]
    run --separate-stderr tal-map --gt "$GTDIR" --tiou 0.1,1.5 "$RUN2"
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"1.5 is not in (0, 1]"* ]]
    run -2 tal-map --gt "$GTDIR" --tiou 0.1:0.3:0.5 "$RUN2"
    run -2 tal-map --gt "$GTDIR" --average 0.7:0.3 "$RUN2"
    run -2 tal-map --gt "$GTDIR" --topk 0 "$RUN2"
    run -2 tal-map --gt "$GTDIR" --reversed flip "$RUN2"
    run -2 tal-map --gt "$GTDIR" --format csv "$RUN2"
    run -2 tal-map --gt "$GTDIR" --diag-top 0 "$RUN2"
    run -2 tal-map --gt "$GTDIR" --diag-bins small "$RUN2"
    run -2 tal-map --gt "$GTDIR" --characteristics x.json "$RUN2"
    run -2 tal-map --gt "$GTDIR" "$RUN2" "$RUN2"
    run -2 tal-map --gt "$GTDIR" --plot - "$RUN2"
    run --separate-stderr tal-map --gt - -
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"cannot both be standard input"* ]]
}

@test "tal-map: the THUMOS14 kit's result on Run-2-det.txt, to 1e-6 (reference_eval, Octave)" {
    run --separate-stderr tal-map --protocol th14 --gt "$GTDIR" --class-list "$CL" \
        --tiou 0.1,0.2,0.3,0.4,0.5 --json "$RUN2"
    [ "$status" -eq 0 ]
    close "$(jq -c .mAP <<< "$output")" '[0.437245, 0.249487, 0.148772, 0.087623, 0.055810]'
    [ "$(jq -r .protocol <<< "$output")" = th14 ]
    # per-class APs as the kit's log prints them (%1.3f)
    [ "$(jq -r '.per_class[0] | [.label, (.ap | map(. * 1000 | round / 1000) | join(" "))] | join(" ")' <<< "$output")" = \
      "BaseballPitch 0.42 0.075 0.031 0.028 0.018" ]
    [ "$(jq -r '.per_class[19] | [.label, (.ap | map(. * 1000 | round / 1000) | join(" "))] | join(" ")' <<< "$output")" = \
      "VolleyballSpiking 0.322 0.117 0.075 0.045 0.045" ]
    # the kit's later revision (non-interpolated AP); these values are what a
    # separate Python transcription of TH14evalDet_Updated's rules gave
    run tal-map --protocol th14 --th14-ap noninterp --gt "$GTDIR" --class-list "$CL" -t 0.1:0.1:0.5 --json "$RUN2"
    close "$(jq -c .mAP <<< "$output")" '[0.406401, 0.212929, 0.108371, 0.053186, 0.027719]'
    run -2 tal-map --th14-ap voc --gt "$GTDIR" "$RUN2"
}

@test "tal-map: ActionFormer's ActivityNet-style result on Run-2-det.txt, to 1e-6 (reference_eval)" {
    run --separate-stderr tal-map --gt "$T/gt_full.json" --subset validation --class-list "$CL" \
        --tiou 0.1,0.2,0.3,0.4,0.5 --json "$RUN2"
    [ "$status" -eq 0 ]
    close "$(jq -c .mAP <<< "$output")" '[0.238078, 0.138233, 0.072485, 0.037562, 0.021386]'
    close "[$(jq .average <<< "$output")]" '[0.101549]'
    run --separate-stderr tal-map --gt "$T/gt_full.json" --subset validation --class-list "$CL" --thumos --json "$RUN2"
    [ "$status" -eq 0 ]
    close "$(jq -c .mAP <<< "$output")" '[0.072485, 0.037562, 0.021386, 0.010479, 0.005219]'
    close "[$(jq .average <<< "$output")]" '[0.029426]'
}

@test "tal-map: the same numbers from the kit's text, results JSON, streams and standard input" {
    run2_json > run2.json
    featpack -q -a run2.json -c "$CL" -o run2.tal
    featpack -q -a "$T/gt_full.json" -s validation -c "$CL" -o gt.tal
    talcat --merge gt.tal run2.tal > both.tal
    want=$(tal-map -j -g "$T/gt_full.json" -s val -c "$CL" -t 0.1:0.1:0.5 "$RUN2" | jq -c .mAP)
    [ "$(tal-map -j -g "$T/gt_full.json" -s val -c "$CL" -t 0.1:0.1:0.5 run2.json | jq -c .mAP)" = "$want" ]
    [ "$(tal-map -j -g "$T/gt_full.json" -s val -c "$CL" -t 0.1:0.1:0.5 run2.tal | jq -c .mAP)" = "$want" ]
    [ "$(tal-map -j -g gt.tal -t 0.1:0.1:0.5 run2.tal | jq -c .mAP)" = "$want" ]
    [ "$(tal-map -j -t 0.1:0.1:0.5 both.tal | jq -c .mAP)" = "$want" ]
    [ "$(tal-map -j -t 0.1:0.1:0.5 < both.tal | jq -c .mAP)" = "$want" ]
    [ "$(cat run2.json | tal-map -j -g "$T/gt_full.json" -s val -c "$CL" -t 0.1:0.1:0.5 - | jq -c .mAP)" = "$want" ]
    [ "$(cat "$RUN2" | tal-map -j -g "$T/gt_full.json" -s val -c "$CL" -t 0.1:0.1:0.5 | jq -c .mAP)" = "$want" ]
    [ "$(cat gt.tal | tal-map -j -g - -t 0.1:0.1:0.5 run2.tal | jq -c .mAP)" = "$want" ]
    gzip -c run2.json > run2.json.gz
    [ "$(tal-map -j -g "$T/gt_full.json" -s val -c "$CL" -t 0.1:0.1:0.5 run2.json.gz | jq -c .mAP)" = "$want" ]
    # the kit's protocol on a stream made from its folder: featpack keeps the
    # instances in file order, which the kit's matching depends on
    featpack -q --th14 "$GTDIR" -c "$CL" -o gt14.tal
    run tal-map -j -p th14 -g gt14.tal -t 0.1:0.1:0.5 both.tal
    close "$(jq -c .mAP <<< "$output")" '[0.437245, 0.249487, 0.148772, 0.087623, 0.055810]'
}

@test "tal-map: the table, presets and named averages" {
    run --separate-stderr tal-map -g "$T/gt_full.json" -s val -c "$CL" --points "$RUN2"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "protocol      anet (ActivityNet: interpolated AP)" ]
    [ "${lines[1]}" = "ground truth  3007 instances of 20 classes in 200 sequences" ]
    [ "${lines[2]}" = "detections    3007" ]
    [[ "${lines[3]}" == *"tIoU     mAP    R@1x    R@5x" ]]
    [[ "${lines[4]}" == "   0.1   23.81   54.33   54.33" ]]
    [[ "$output" == *"average 0.1:0.5    10.15"* ]]
    [[ "$output" == *"average 0.3:0.7    2.94"* ]]
    [[ "$output" == *"average 0.1:0.7    7.48"* ]]
    run tal-map -j -g "$T/gt_full.json" -s val -c "$CL" --anet "$RUN2"
    [ "$(jq -c '.tiou | length' <<< "$output")" = 10 ]
    [ "$(jq -r '.tiou[8]' <<< "$output")" = 0.8999999999999999 ]
    [ "$(jq -c '.averages | keys' <<< "$output")" = '["0.5:0.95"]' ]
    run tal-map -j -g "$T/gt_full.json" -s val -c "$CL" --thumos --average 0.4:0.6 --topk 1,2,10 "$RUN2"
    [ "$(jq -c '.averages | keys' <<< "$output")" = '["0.3:0.7","0.4:0.6"]' ]
    close "[$(jq '.averages["0.4:0.6"]' <<< "$output")]" "[$(jq '(.mAP[1] + .mAP[2] + .mAP[3]) / 3' <<< "$output")]"
    [ "$(jq -c '.recall | keys' <<< "$output")" = '["10x","1x","2x"]' ]
    # the default is the ActivityNet set
    run tal-map -j -g "$T/gt_full.json" -s val -c "$CL" "$RUN2"
    [ "$(jq -c '.tiou | length' <<< "$output")" = 10 ]
}

@test "tal-map --json: the fields, and -v per class" {
    run --separate-stderr tal-map -j -g "$T/gt_full.json" -s val -c "$CL" --thumos "$RUN2"
    [ "$status" -eq 0 ]
    [ "$(jq -c '[has("protocol","tiou","mAP","average","per_class","recall")] | all' <<< "$output")" = true ]
    [ "$(jq '.per_class | length' <<< "$output")" = 20 ]
    [ "$(jq -c '.per_class[0] | [.label, .ext_id, .ground_truth, .detections, (.ap | length)]' <<< "$output")" = \
      '["BaseballPitch",7,30,30,5]' ]
    close "[$(jq '[.per_class[].ap[0]] | add / length' <<< "$output")]" "[$(jq '.mAP[0]' <<< "$output")]"
    run tal-map -v -g "$T/gt_full.json" -s val -c "$CL" --thumos "$RUN2"
    [[ "$output" == *"class                 gt    dets   @0.3   @0.4   @0.5   @0.6   @0.7    avg"* ]]
    [ "$(grep -c '^[A-Z][A-Za-z]* *[0-9]* *[0-9]* ' <<< "$output")" -eq 20 ]
}

@test "tal-map: a class list without ids, and detections of unknown classes" {
    printf 'BaseballPitch\nBilliards\n' > two.txt
    run --separate-stderr tal-map -j -g "$T/gt_full.json" -s val -c two.txt --ignore-unknown "$RUN2"
    [ "$status" -eq 2 ]
    # ground-truth labels outside a class list are an error ...
    run --separate-stderr tal-map -j -g "$T/gt_full.json" -s val -c two.txt "$RUN2"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"not in the class list"* ]]
    # ... detections of classes outside the table are left out, with a warning
    run2_json > run2.json
    featpack -q -a "$T/gt_full.json" -s val -c "$CL" --ignore-unknown-classes -o gt.tal
    jq -c '.results |= with_entries(.value |= map(select(.label == "Billiards" or .label == "Bogus")))' run2.json > few.json
    jq -c '.results["video_validation_0000051"] += [{"label":"Bogus","score":0.5,"segment":[1,2]}]' few.json > few2.json
    run --separate-stderr tal-map -j -g gt.tal few2.json
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"1 detections of classes without a place in the class table were left out"* ]]
    [ "$(jq '.detections' <<< "$output")" = 81 ]
    run --separate-stderr tal-map -q -j -g gt.tal few2.json
    [ -z "$stderr" ]
    # kit text with an id outside det.txt: skipped, as the kit does
    { cat "$RUN2"; echo "video_validation_0000051 1.0 2.0 5 0.9"; } > extra.txt
    run --separate-stderr tal-map -j -g "$GTDIR" -p th14 -c "$CL" -t 0.5 extra.txt
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"1 detections of classes"* ]]
    close "$(jq -c .mAP <<< "$output")" '[0.055810]'
}

@test "tal-map: detections in sequences without ground truth count as false positives" {
    printf 'video_test_0000004 10 20 7 0.99\n' > test.txt
    cat "$RUN2" test.txt > mixed.txt
    run --separate-stderr tal-map -j -g "$T/gt_full.json" -s val -c "$CL" -t 0.1 mixed.txt
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"1 detections are in sequences without ground truth"* ]]
    a=$(jq '.per_class[0].ap[0]' <<< "$output")
    b=$(tal-map -j -g "$T/gt_full.json" -s val -c "$CL" -t 0.1 "$RUN2" | jq '.per_class[0].ap[0]')
    jq -e -n "$a < $b" >/dev/null
}

@test "tal-map --reversed: the official quirk kept by default, swap and drop on request" {
    base=$(tal-map -j -g "$T/gt_full.json" -s val -c "$CL" -t 0.5 "$RUN2" | jq '.mAP[0]')
    swap=$(tal-map -j -g "$T/gt_full.json" -s val -c "$CL" -t 0.5 --reversed swap "$RUN2" | jq '.mAP[0]')
    drop=$(tal-map -j -g "$T/gt_full.json" -s val -c "$CL" -t 0.5 --reversed drop "$RUN2")
    close "[$swap]" '[0.029545]'   # what the official code gives with the ends swapped first
    close "[$(jq '.mAP[0]' <<< "$drop")]" '[0.022032]'
    [ "$(jq .detections <<< "$drop")" = 1884 ]   # 3007 rows, 1123 reversed
    [ "$base" != "$swap" ]
    # the kit orders the ends itself
    a=$(tal-map -j -p th14 -g "$GTDIR" -c "$CL" -t 0.5 "$RUN2" | jq -c .mAP)
    b=$(tal-map -j -p th14 -g "$GTDIR" -c "$CL" -t 0.5 --reversed swap "$RUN2" | jq -c .mAP)
    [ "$a" = "$b" ]
}

@test "tal-map --plot: precision-recall curves for talplot" {
    run tal-map -g "$T/gt_full.json" -s val -c "$CL" --thumos --plot pr.json "$RUN2"
    [ "$status" -eq 0 ]
    [ "$(jq '.curves | length' pr.json)" = 100 ]
    [ "$(jq -c '.curves[0] | [.label, .tiou, (.recall|length) == (.precision|length)]' pr.json)" = '["BaseballPitch",0.3,true]' ]
    # recall never falls; the curve ends at the last detection's recall
    [ "$(jq '[.curves[] | .recall | . as $r | [range(1; length)] | all($r[.] >= $r[. - 1])] | all' pr.json)" = true ]
    run sh -c "tal-map -g '$T/gt_full.json' -s val -c '$CL' --thumos --plot - -o table.txt '$RUN2' | jq '.curves | length'"
    [ "$output" = 100 ]
    close "[$(jq '.curves[0].ap' pr.json)]" "[$(tal-map -j -g "$T/gt_full.json" -s val -c "$CL" --thumos "$RUN2" | jq '.per_class[0].ap[0]')]"
}

@test "tal-map --diagnose: DETAD's false-positive profile and false negatives" {
    run --separate-stderr tal-map -j -g "$T/gt_full.json" -s val -c "$CL" -t 0.5 --diagnose "$RUN2"
    [ "$status" -eq 0 ]
    d=$(jq -c .diagnosis <<< "$output")
    [ "$(jq '.top' <<< "$d")" = 10 ]
    # every analysed detection has one type; Run-2 has 1 detection per instance: all in 1G
    [ "$(jq '[.total[]] | add' <<< "$d")" = 3007 ]
    [ "$(jq '[.false_positives[] | .[0]] | add' <<< "$d")" = 3007 ]
    [ "$(jq '[.false_positives[] | .[1]] | add' <<< "$d")" = 0 ]
    # true positives at 0.5 are the matches the protocol makes
    [ "$(jq '.total.true_positive' <<< "$d")" = 267 ]
    [ "$(jq '.ground_truth - .missed' <<< "$d")" = 267 ]
    close "[$(jq .mAP <<< "$d")]" "[$(jq '.mAP[0]' <<< "$output")]"
    [ "$(jq -c '.false_negatives.length.bins' <<< "$d")" = '["XS","S","M","L","XL"]' ]
    [ "$(jq '.false_negatives.length.instances | add' <<< "$d")" = 3007 ]
    run tal-map -g "$T/gt_full.json" -s val -c "$CL" -t 0.5 -d --diag-top 3 --diag-bins anet "$RUN2"
    [[ "$output" == *"false positives at tIoU 0.5 (top 3G detections per class"* ]]
    [[ "$output" == *"  background "* ]]
    [[ "$output" == *"missed ground truth at tIoU 0.5 (all detections): 2740 of 3007 (91.1%)"* ]]
    [[ "$output" == *"length          XS 91.4 (2999)"* ]]   # ActivityNet bins: under 30 s is XS
}

@test "tal-map --characteristics: DETAD's values replace the measured ones" {
    cat > chars.json <<'EOF'
{"database": {"video_validation_0000051": {"subset": "validation", "annotations": [
  {"segment": [67.5, 75.9], "label": "Billiards", "length": 100.0, "coverage": 0.5, "num_instances": 90},
  {"segment": [85.9, 90.6], "label": "Billiards", "length": 100.0, "coverage": 0.5, "num_instances": 90}]},
 "video_unknown": {"annotations": []}}}
EOF
    run --separate-stderr tal-map -j -g "$T/gt_full.json" -s val -c "$CL" -t 0.5 -d --diag-bins thumos --characteristics chars.json "$RUN2"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"describes 2 of 3007 ground-truth instances"* ]]
    # measured: lengths 8.4 and 4.7 (M, S), 3 instances (S); described: XL, XL, L
    [ "$(jq -c '.diagnosis.false_negatives.length.instances' <<< "$output")" = '[1561,816,559,48,23]' ]
    [ "$(jq -c '.diagnosis.false_negatives.num_instances.instances' <<< "$output")" = '[19,1791,788,409]' ]
    run tal-map -j -g "$T/gt_full.json" -s val -c "$CL" -t 0.5 -d --diag-bins thumos "$RUN2"
    [ "$(jq -c '.diagnosis.false_negatives.length.instances' <<< "$output")" = '[1561,817,560,48,21]' ]
    [ "$(jq -c '.diagnosis.false_negatives.num_instances.instances' <<< "$output")" = '[19,1793,788,407]' ]
    echo '{"database": {"video_validation_0000051": {"annotations": [{"label": "Billiards"}]}}}' > bad.json
    run --separate-stderr tal-map -g "$T/gt_full.json" -s val -c "$CL" -d --characteristics bad.json "$RUN2"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"database.video_validation_0000051.annotations[0] lacks a segment"* ]]
}

@test "tal-map: ties are ranked as the official code ranks them" {
    # 20 detections of one score, only the first on the instance: numpy's
    # argsort()[::-1] puts it last (AP 1/20); a stable sort would put it first
    {
        printf '{"database":{"v":{"subset":"validation","annotations":[{"label":"A","segment":[0,10]}]}}}\n' > gt.json
        printf '{"results":{"v":[{"label":"A","score":0.5,"segment":[0,10]}'
        for i in $(seq 1 19); do printf ',{"label":"A","score":0.5,"segment":[%d,%d]}' $((100 + i)) $((101 + i)); done
        printf ']}}\n'
    } > ties.json
    run tal-map -j -g gt.json -t 0.5 ties.json
    [ "$(jq '.mAP[0]' <<< "$output")" = 0.05 ]
    run tal-map -j -g gt.json -p th14 -t 0.5 ties.json
    [ "$(jq '.mAP[0] > 0.999' <<< "$output")" = true ]
}

@test "tal-map: bad input names the file and the line, exits 1, writes nothing" {
    printf 'video_validation_0000051 1 2 7 0.5\nvideo_validation_0000051 1 2 7\n' > bad.txt
    run --separate-stderr tal-map -g "$GTDIR" -c "$CL" -o out.txt bad.txt
    [ "$status" -eq 1 ]
    [ "$stderr" = "tal-map: bad detections: 'bad.txt' line 2: expected 'video start end class_id score', found 4 fields" ]
    [ ! -e out.txt ]
    printf 'video_validation_0000051 1 2 7 0.5\n' > ok.txt
    run --separate-stderr tal-map -g "$GTDIR" -o out.txt ok.txt
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"the class ids of 'ok.txt' need a class list with ids"* ]]
    printf 'Billiards\n' > noid.txt
    run --separate-stderr tal-map -g "$GTDIR" -c noid.txt ok.txt
    [ "$status" -eq 1 ]
    printf '{"results": {"v": [{"label": "Billiards", "score": 0.5, "segment": [1]}]}}' > bad.json
    run --separate-stderr tal-map -g "$T/gt_full.json" -s val bad.json
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"'bad.json': results.v: [0].segment is not a pair of numbers"* ]]
    printf '{"results": ' > trunc.json
    run --separate-stderr tal-map -g "$T/gt_full.json" -s val trunc.json
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"bad JSON: 'trunc.json' line 1"* ]]
    run --separate-stderr sh -c "cat trunc.json | tal-map -g '$T/gt_full.json' -s val"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"bad JSON: standard input line 1"* ]]
    run --separate-stderr tal-map -g "$T/gt_full.json" -s val "$T/gt_full.json"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"annotations, not {\"results\": ...}"* ]]
    run --separate-stderr tal-map -g nowhere.json "$RUN2"
    [ "$status" -eq 1 ]
    [[ "$stderr" == "tal-map: cannot open 'nowhere.json': No such file or directory" ]]
    run --separate-stderr tal-map -g "$T/gt_full.json" -s training "$RUN2"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"no sequence of subset 'training'"* ]]
    mkdir empty
    run --separate-stderr tal-map -g empty "$RUN2"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"no <Class>_<subset>.txt files"* ]]
    run --separate-stderr tal-map -g "$GTDIR" -c "$CL" empty
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"it is a folder"* ]]
    : > none.txt
    run --separate-stderr tal-map -g "$GTDIR" -c "$CL" none.txt
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"empty input: 'none.txt'"* ]]
    run --separate-stderr tal-map -g "$GTDIR" -c "$CL" < /dev/null
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"empty input: standard input"* ]]
    head -c 1000 "$FIXTURES/broken/crc-mismatch.tal" > /dev/null
    run --separate-stderr tal-map -g "$GTDIR" -c "$CL" "$FIXTURES/broken/crc-mismatch.tal"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"crc-mismatch.tal"* ]]
    run --separate-stderr tal-map "$RUN2"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"no ground truth: give --gt"* ]]
}

@test "tal-map: failed writes are errors" {
    run --separate-stderr tal-map -g "$GTDIR" -c "$CL" -o /dev/full "$RUN2"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"/dev/full"* ]]
    run --separate-stderr sh -c "tal-map -g '$GTDIR' -c '$CL' '$RUN2' > /dev/full"
    [ "$status" -eq 1 ]
    run --separate-stderr tal-map -g "$GTDIR" -c "$CL" --plot /dev/full "$RUN2"
    [ "$status" -eq 1 ]
    run --separate-stderr tal-map -g "$GTDIR" -c "$CL" --plot nodir/pr.json "$RUN2"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"nodir/pr.json"* ]]
}
