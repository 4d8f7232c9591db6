#!/usr/bin/env bats
# talplot: timelines and precision-recall charts are valid SVG (xmllint)
# that renders (rsvg-convert); what is drawn; options; bad input.

load test_helper

DETGEN="${BUILD:+$TOP/$BUILD/test/detgen}"
DETGEN="${DETGEN:-$TOP/build/rel/test/detgen}"
T="$DATA/thumos14"
V51=video_validation_0000051

valid() {   # valid SVG that draws: xmllint, then a PNG of some substance
    xmllint --noout "$1"
    rsvg-convert "$1" -o "$1.png"
    [ "$(head -c 8 "$1.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
    [ "$(stat -c %s "$1.png")" -gt 2000 ]
}

setup_streams() {
    featpack -q -a "$T/gt_full.json" -s validation --stride 4 --clip 16 -o gt.tal
    "$DETGEN" dets gt.tal 40 5 dets.tal
}

@test "talplot --help prints usage on stdout and exits 0" {
    run --separate-stderr talplot --help
    [ "$status" -eq 0 ]
    [[ "$output" == Usage:\ talplot* ]]
    [ -z "$stderr" ]
    run talplot --version
    [[ "$output" == "talplot (talcore) "* ]]
}

@test "talplot: usage errors exit 2" {
    run -2 talplot --bogus
    run -2 talplot --top -1 x.tal
    run -2 talplot --lanes 0 x.tal
    run -2 talplot --width 10 x.tal
    run -2 talplot --tiou 2 x.json
    run -2 talplot a b
    setup_streams
    run --separate-stderr talplot -O d -o x.svg gt.tal
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"--outdir and --output exclude each other"* ]]
    run --separate-stderr talplot --tiou 0.5 gt.tal
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"are for precision-recall curves"* ]]
    tal-map -q -g gt.tal -t 0.5 --plot pr.json dets.tal > /dev/null
    run --separate-stderr talplot --id x pr.json
    [ "$status" -eq 2 ]
}

@test "talplot: a timeline of ground truth and detections" {
    setup_streams
    talplot --gt gt.tal --id "$V51" -o t.svg dets.tal
    valid t.svg
    # the three Billiards instances, 40 detections, the title, a legend
    [ "$(xmllint --xpath 'count(//*[local-name()="title"][contains(., "Billiards 67.50-75.90 s")])' t.svg)" = 1 ]
    [ "$(xmllint --xpath 'count(//*[local-name()="title"][contains(., "score")])' t.svg)" = 40 ]
    grep -q ">$V51</text>" t.svg
    grep -q '>Billiards</text>' t.svg
    # opacity follows the score: the best detection is opaque
    grep -q 'fill-opacity="1.000"' t.svg
    # --top and --min-score
    talplot --gt gt.tal --id "$V51" --top 5 -o t5.svg dets.tal
    [ "$(xmllint --xpath 'count(//*[local-name()="title"][contains(., "score")])' t5.svg)" = 5 ]
    talplot --gt gt.tal --id "$V51" --min-score 2 -o t0.svg dets.tal
    valid t0.svg
    [ "$(xmllint --xpath 'count(//*[local-name()="title"][contains(., "score")])' t0.svg)" = 0 ]
}

@test "talplot: points, Ambiguous segments and snippet score curves" {
    featpack -q -a "$FIXTURES/anno/anet.json" -p "$FIXTURES/anno/points.csv" -o p.tal
    talplot --id vid_b -o p.svg p.tal
    valid p.svg
    [ "$(xmllint --xpath 'count(//*[local-name()="path"]/*[local-name()="title"][contains(., " at ")])' p.svg)" = 2 ]
    featpack -q --th14 "$T/official/annotations_val" -c "$T/official/det.txt" -o th.tal
    talplot --id video_validation_0000160 -o a.svg th.tal
    valid a.svg
    grep -q '<title>Ambiguous ' a.svg
    setup_streams
    "$DETGEN" dist gt.tal 1 dist.tal
    talplot --id "$V51" -o d.svg dist.tal
    valid d.svg
    grep -q 'snippet scores' d.svg
    [ "$(xmllint --xpath 'count(//*[local-name()="polyline"])' d.svg)" = 8 ]
    # the first curve is Billiards, the class on the timeline
    [ "$(xmllint --xpath 'string((//*[local-name()="polyline"])[1]/*[local-name()="title"])' d.svg)" = Billiards ]
}

@test "talplot: several sequences in one picture, or one file each" {
    setup_streams
    talplot --gt gt.tal -i "$V51" -i video_validation_0000052 -o two.svg dets.tal
    valid two.svg
    [ "$(grep -c '<g transform="translate(0,' two.svg)" -eq 2 ]
    talplot --gt gt.tal -i "$V51" -i video_validation_0000052 -O pics dets.tal
    valid "pics/$V51.svg"
    valid pics/video_validation_0000052.svg
    [ "$(ls pics | grep -c 'svg$')" -eq 2 ]
    # odd ids make safe names
    printf '{"results":{"a/b c":[{"label":"Jump","score":0.9,"segment":[0,10]}]}}' > odd.json
    featpack -q -a odd.json -o odd.tal
    talplot -O odd odd.tal
    valid "odd/a_b_c.svg"
    # pipes
    cat dets.tal | talplot -q --gt gt.tal --id "$V51" > piped.svg
    valid piped.svg
}

@test "talplot: precision-recall charts from tal-map --plot" {
    tal-map -q -g "$T/gt_full.json" -s val -c "$T/official/det.txt" --thumos --plot pr.json "$T/th14evalkit/Run-2-det.txt" > /dev/null
    talplot pr.json -o pr.svg
    valid pr.svg
    [ "$(grep -c '<g>' pr.svg)" -eq 20 ]
    grep -q 'precision-recall at tIoU 0.3, protocol anet, mAP 7.25%' pr.svg
    talplot --pr -t 0.5 -c Billiards pr.json -o b.svg
    valid b.svg
    [ "$(grep -c '<g>' b.svg)" -eq 1 ]
    grep -q 'Billiards  AP 2.14%' b.svg
    cat pr.json | talplot -w 600 > w.svg
    valid w.svg
    grep -q 'width="600"' w.svg
}

@test "talplot: bad input is an error naming the file" {
    run --separate-stderr talplot nothing.tal
    [ "$status" -eq 1 ]
    [ "$stderr" = "talplot: cannot open 'nothing.tal': No such file or directory" ]
    echo '{"curves": 3}' > bad.json
    run --separate-stderr talplot -o x.svg bad.json
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"bad plot file: 'bad.json'"* ]]
    [ ! -e x.svg ]
    echo '{"tiou":[0.5],"curves":[{"label":"A","tiou":0.5,"recall":[0.1,"x"],"precision":[1,1]}]}' > bad2.json
    run --separate-stderr talplot bad2.json
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"curves[0].recall[1] or .precision[1] is not a number"* ]]
    tal-map -q -g "$T/gt_full.json" -s val -c "$T/official/det.txt" -t 0.5 --plot pr.json "$T/th14evalkit/Run-2-det.txt" > /dev/null
    run --separate-stderr talplot -t 0.7 pr.json
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"no curves at tIoU 0.7"* ]]
    run --separate-stderr talplot -c Nothing pr.json
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"check --class"* ]]
    echo 'plain text' > t.txt
    run --separate-stderr talplot t.txt
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"neither a talcore stream nor tal-map --plot JSON"* ]]
    setup_streams
    run --separate-stderr talplot --id nobody gt.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"no sequence to draw"*"check --id"* ]]
    featpack -q -a "$FIXTURES/anno/anet.json" -o other.tal
    run --separate-stderr talplot --gt other.tal dets.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"class tables differ"* ]]
    run --separate-stderr talplot "$FIXTURES/broken/crc-mismatch.tal"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"crc-mismatch.tal"* ]]
}

@test "talplot: failed writes are errors" {
    setup_streams
    run --separate-stderr talplot --id "$V51" -o /dev/full gt.tal
    [ "$status" -eq 1 ]
    run --separate-stderr sh -c "talplot --id $V51 gt.tal > /dev/full"
    [ "$status" -eq 1 ]
    touch afile
    run --separate-stderr talplot -O afile gt.tal
    [ "$status" -eq 1 ]
}
