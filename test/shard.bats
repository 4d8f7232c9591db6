#!/usr/bin/env bats
# --shard I/N on the tools that map records one to one (talsynth, lblext,
# tal-detect, pseudolabel, softnms) and on talcat: the shards are disjoint,
# together hold every record, and concatenated with cat they are one valid
# stream with the records of the unsharded run.

load test_helper

CFG="$TOP/pipelines/configs/actionformer-tiny.yaml"

# records of a stream, one JSON line each with features, sorted by id
records() {
    talcat --jsonl --features "$1" | jq -c . | sort
}

# run "$@ --shard I/N -o shard-I.tal" for I < N, cat them into cat.tal
sharded() {
    local n=$1
    shift
    rm -f cat.tal shard-*.tal
    for i in $(seq 0 $((n - 1))); do
        "$@" --shard "$i/$n" -o "shard-$i.tal"
        cat "shard-$i.tal" >> cat.tal
    done
}

# the same records as whole.tal, and the shards do not share an id
same_as_whole() {
    talcat --check cat.tal
    diff <(records whole.tal) <(records cat.tal)
    local ids
    ids=$(for f in shard-*.tal; do talcat --jsonl "$f" | jq -r .id; done)
    [ "$(echo "$ids" | sort | uniq -d | wc -l)" -eq 0 ]
    [ "$(echo "$ids" | wc -l)" -eq "$(talcat --stats --json whole.tal | jq .sequences)" ]
}

setup_streams() {
    local c="$BATS_RUN_TMPDIR/shard-cache"
    if [ ! -f "$c/model.ckpt" ]; then
        mkdir -p "$c"
        featpack -q -a "$DATA/thumos14/gt_full.json" -s validation -o - | talcat --head 12 >"$c/anno.tal"
        talsynth -q -p easy -d 16 "$c/anno.tal" -o "$c/train.tal"
        tal-train -q -c "$CFG" -s train.epochs=4 "$c/train.tal" -o "$c/model.part" && mv "$c/model.part" "$c/model.ckpt"
    fi
    cp "$c/anno.tal" "$c/train.tal" "$c/model.ckpt" "$TMP/"
}

@test "shard: each tool's --help names --shard" {
    for t in talsynth lblext tal-detect pseudolabel softnms talcat; do
        run --separate-stderr "$t" --help
        [ "$status" -eq 0 ]
        [[ "$output" == *"--shard I/N"* ]]
    done
}

@test "shard: bad values are usage errors naming the value" {
    setup_streams
    for v in 3/3 1/0 x/2 1/ /2 -1/2 1/2/3 "1 /2" 0/65537; do
        run --separate-stderr talcat --shard "$v" anno.tal
        [ "$status" -eq 2 ]
        [[ "${stderr_lines[0]}" == "talcat: invalid value for --shard: '$v' (expected I/N with 0 <= I < N <= 65536)" ]]
        [ -z "$output" ]
    done
    run -2 softnms --shard 2/2 anno.tal
    run -2 tal-detect --shard 0/0 model.ckpt anno.tal
}

@test "shard: talsynth and talcat shards concatenate to the whole run" {
    setup_streams
    talsynth -q -p easy -d 16 --seed 3 anno.tal -o whole.tal
    sharded 3 talsynth -q -p easy -d 16 --seed 3 anno.tal
    same_as_whole
    # every shard holds some of the 12 sequences here, and 0/1 is the whole
    for i in 0 1 2; do [ "$(talcat --stats --json shard-$i.tal | jq .sequences)" -gt 0 ]; done
    talsynth -q -p easy -d 16 --seed 3 --shard 0/1 anno.tal -o one.tal
    diff <(records whole.tal) <(records one.tal)
    sharded 4 talcat -q whole.tal
    same_as_whole
}

@test "shard: tal-detect, pseudolabel and softnms shards concatenate to the whole run" {
    setup_streams
    labelsplit -q -r 0.25 -o lab.tal -u unl.tal train.tal
    tal-detect -q --dist --threads 1 model.ckpt unl.tal -o whole.tal
    sharded 3 tal-detect -q --dist --threads 1 model.ckpt unl.tal
    same_as_whole
    cp whole.tal dets.tal
    pseudolabel -q -S -I --select topk:3 dets.tal -o whole.tal
    sharded 2 pseudolabel -q -S -I --select topk:3 dets.tal
    same_as_whole
    softnms -q dets.tal -o whole.tal
    sharded 5 softnms -q dets.tal
    same_as_whole
}

@test "shard: lblext shards concatenate to the whole run, and a pipe shards too" {
    setup_streams
    labelsplit -q -r 1 --points-file "$DATA/thumos14/lacp/point_labels.csv" -o pts.tal train.tal
    lblext -q pts.tal -o whole.tal
    sharded 2 lblext -q pts.tal
    same_as_whole
    rm -f cat.tal shard-*.tal
    for i in 0 1; do lblext -q --shard $i/2 - < pts.tal >> cat.tal; done
    diff <(records whole.tal) <(records cat.tal)
}

@test "shard: a shard with no records is a valid empty stream" {
    setup_streams
    talcat --head 1 anno.tal -o one.tal
    id=$(talcat --jsonl one.tal | jq -r .id)
    # of 2 shards, the one the sequence is not in is empty
    talcat -q --shard 0/2 one.tal -o a.tal
    talcat -q --shard 1/2 one.tal -o b.tal
    [ $(( $(talcat --stats --json a.tal | jq .sequences) + $(talcat --stats --json b.tal | jq .sequences) )) -eq 1 ]
    cat a.tal b.tal > ab.tal
    [ "$(talcat --jsonl ab.tal | jq -r .id)" = "$id" ]
}

@test "shard: pipelines/shard.mk runs the shards side by side into one stream" {
    setup_streams
    tal-detect -q --threads 1 model.ckpt train.tal -o whole.tal
    make -s -f "$TOP/pipelines/shard.mk" -j3 SHARDS=3 RUN="tal-detect -q --threads 1 model.ckpt" IN=train.tal OUT=cat.tal
    talcat --check cat.tal
    diff <(records whole.tal) <(records cat.tal)
    [ -z "$(ls cat.tal.* 2>/dev/null)" ]
    # a failing shard leaves no output
    run make -s -f "$TOP/pipelines/shard.mk" -j2 SHARDS=2 RUN="tal-detect -q -s test.nms=fancy model.ckpt" IN=train.tal OUT=bad.tal
    [ "$status" -ne 0 ]
    [ ! -e bad.tal ]
    [ -z "$(ls bad.tal.* 2>/dev/null)" ]
}
