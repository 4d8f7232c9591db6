#!/usr/bin/env bats
# pseudolabel: snippet and instance pseudo labels from tal-detect's output,
# the selection rules, the diagnosis against the truth, refusals.

load test_helper

@test "pseudolabel --help prints usage on stdout and exits 0" {
    run --separate-stderr pseudolabel --help
    [ "$status" -eq 0 ]
    [[ "$output" == Usage:\ pseudolabel* ]]
    [ -z "$stderr" ]
    run pseudolabel --version
    [[ "$output" == "pseudolabel (talcore) "* ]]
}

@test "pseudolabel: usage errors exit 2" {
    run -2 pseudolabel out.tal
    [[ "$output" == *"nothing to do"* ]]
    run -2 pseudolabel -I --select best out.tal
    [[ "$output" == *"fixed:T, topk:K, adaptive"* ]]
    run -2 pseudolabel -I --select fixed:2 out.tal
    run -2 pseudolabel -I --select topk:0 out.tal
    run -2 pseudolabel -I --rank quality out.tal
    run -2 pseudolabel -S -T 0 out.tal
    run -2 pseudolabel -S --json x.json out.tal
    run -2 pseudolabel -S a.tal b.tal
    run -2 pseudolabel -S --diagnose t.tal --json - out.tal
}

@test "pseudolabel: snippet distributions and instances, features kept, labels none" {
    selftrain_fixture
    pseudolabel -q -S -I --select fixed:0.15 out.tal -o p.tal
    # every record: supervision none, no detections, features, distributions summing to 1
    run sh -c "talcat -j --features p.tal | jq -c '[.supervision, (.detections // [] | length), .T == .dist_T,
        (.dist | all(add - 1 | fabs < 1e-5)), (.dist | all(all(. >= 0)))]' | sort -u"
    [ "$output" = '["none",0,true,true,true]' ]
    # every segment is a pseudo label with a class, a score and no candidate flag (fixed rule)
    run sh -c "talcat -j p.tal | jq -c '.segments[] | [.pseudo, .label != null, .score >= 0.15, has(\"candidate\")]' | sort -u"
    [ "$output" = '[true,true,true,false]' ]
    [ "$(talcat -j p.tal | jq '.segments | length' | paste -sd+ | bc)" -gt 8 ]
    run sh -c "talcat -H --json p.tal | jq -r '.meta[\"pseudolabel.snippets\"], .meta[\"pseudolabel.instances\"]'"
    [ "${lines[0]}" = "temperature 1" ]
    [ "${lines[1]}" = "fixed:0.15 rank score" ]
    # the same input gives the same bytes; a pipe gives the same stream
    pseudolabel -q -S -I --select fixed:0.15 out.tal -o p2.tal
    cmp <(talcat -j --features p.tal) <(talcat -j --features p2.tal)
    cat out.tal | pseudolabel -q -S -I --select fixed:0.15 > p3.tal
    cmp <(talcat -j --features p.tal) <(talcat -j --features p3.tal)
}

@test "pseudolabel: the rules keep what they say" {
    selftrain_fixture
    # fixed:T keeps exactly the detections with score >= T, per sequence
    pseudolabel -q -I --select fixed:0.15 out.tal -o f.tal
    diff <(talcat -j out.tal | jq -c '[.id, ([.detections[] | select(.score >= 0.15)] | length)]') \
         <(talcat -j f.tal | jq -c '[.id, (.segments | length)]')
    # topk:K keeps the K best
    pseudolabel -q -I --select topk:3 out.tal -o k.tal
    run sh -c "talcat -j k.tal | jq -c '.segments | length' | sort -u"
    [ "$output" = 3 ]
    diff <(talcat -j out.tal | jq -c '[.detections | sort_by(-.score) | .[0:3][].score]') \
         <(talcat -j k.tal | jq -c '[.segments[].score]')
    # adaptive: candidates below mean + sd of the kept scores, positives at or above
    pseudolabel -q -I --select adaptive:0.05 out.tal -o a.tal
    talcat -j a.tal | jq -e '[.segments[].score] as $s | ($s | add / length) as $m |
        ([$s[] | (. - $m) * (. - $m)] | add / length | sqrt) as $sd |
        all(.segments[]; if .candidate then .score < $m + $sd + 1e-12 else .score >= $m + $sd - 1e-12 end)' >/dev/null
    [ "$(talcat -j a.tal | jq '[.segments[] | select(.candidate)] | length' | paste -sd+ | bc)" -gt 0 ]
    # adaptive-set: the same with mean + sd over every sequence's kept scores together,
    # said on stderr and in the header; the shards concatenate to the whole run
    run --separate-stderr pseudolabel -I --select adaptive-set:0.05 out.tal -o s.tal
    [ "$status" -eq 0 ]
    th=$(talcat -j s.tal | jq -s '[.[].segments[].score] as $s | ($s | add / length) as $m |
        $m + ([$s[] | (. - $m) * (. - $m)] | add / length | sqrt)')
    [[ "$stderr" == *"adaptive-set threshold "* ]]
    talcat -j s.tal | jq -e --argjson th "$th" 'all(.segments[];
        if .candidate then .score < $th + 1e-9 else .score >= $th - 1e-9 end)' >/dev/null
    talcat --header s.tal | grep -q "adaptive-set:0.05 rank score threshold"
    run cmp -s <(talcat -j a.tal | jq -c '[.segments[].candidate]') <(talcat -j s.tal | jq -c '[.segments[].candidate]')
    [ "$status" -ne 0 ]   # not the per-sequence rule under another name
    pseudolabel -q -I --select adaptive-set:0.05 --shard 0/2 out.tal -o s0.tal
    pseudolabel -q -I --select adaptive-set:0.05 --shard 1/2 out.tal -o s1.tal
    diff <(talcat -j s.tal | jq -c '[.id, .segments]' | sort) <(talcat -j s0.tal s1.tal | jq -c '[.id, .segments]' | sort)
    # it reads its input twice: a pipe is a usage error
    run -2 pseudolabel -I --select adaptive-set - < out.tal
    [[ "$output" == *"reads its input twice"* ]]
    # without --snippets the model's scores do not pass as pseudo distributions
    talcat -j --features f.tal | jq -e 'has("dist") | not' >/dev/null
}

@test "pseudolabel --diagnose: the table, JSON, and figures that follow from the definitions" {
    selftrain_fixture
    run --separate-stderr pseudolabel -S -I --select topk:5 --diagnose truth.tal --json d.json out.tal -o p.tal
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"pseudo labels of 8 sequences against 'truth.tal'"* ]]
    [[ "$stderr" == *"true class in (lambda 0.85)"* ]]
    jq -e '.sequences == 8 and .instances.kept == 40 and .instances.positives == 40 and .select == "topk:5"' d.json
    # the true instances counted are the truth's
    [ "$(jq .instances.truth d.json)" -eq "$(talcat -j truth.tal | jq '.segments | map(select(.ambiguous | not)) | length' | paste -sd+ | bc)" ]
    # the four parts of a snippet kind add up to 1
    jq -e '[.snippets.action, .snippets.background][] | (.target + .positive + .ambiguous + .negative - 1 | fabs) < 1e-9' d.json
    # diagnosing the stream made gives the same figures
    pseudolabel --diagnose truth.tal --json d2.json p.tal 2>/dev/null
    diff <(jq -S 'del(.select, .rank)' d.json) <(jq -S 'del(.select, .rank)' d2.json)
    # a larger lambda makes fewer positive classes
    pseudolabel --diagnose truth.tal --lambda 0.99 --json d3.json p.tal 2>/dev/null
    jq -e --slurpfile a d.json '.snippets.action.positive <= $a[0].snippets.action.positive' d3.json
    # ... and leaves at least as many snippets with every other class negative
    jq -e --slurpfile a d.json '.snippets.action.all_negative >= $a[0].snippets.action.all_negative and
        .snippets.background.all_negative >= $a[0].snippets.background.all_negative' d3.json
    [[ "$stderr" == *"all negative"* ]]
    jq -e '[.snippets[] | objects | .all_negative] | length == 3 and all(. >= 0 and . <= 1)' d.json
}

@test "pseudolabel: input it cannot use gets one line, exit 1, and no output" {
    selftrain_fixture
    # no model output
    run --separate-stderr pseudolabel -S unl.tal -o p.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == "pseudolabel: 'unl.tal': sequence '"*"' carries no snippet scores (tal-detect --dist)" ]]
    [ ! -e p.tal ]
    run --separate-stderr pseudolabel -I unl.tal -o p.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"carries no detections"* ]]
    # no features
    tal-detect -q --dist --drop-features m0.ckpt unl.tal -o nofeat.tal
    run --separate-stderr pseudolabel -S nofeat.tal -o p.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"has no features"* ]]
    [ ! -e p.tal ]
    # labelled sequences are not pseudo-labelled
    tal-detect -q --dist m0.ckpt lab.tal -o labout.tal
    run --separate-stderr pseudolabel -S labout.tal -o p.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"carries true segments"* ]]
    # a truth with another class table, or without a sequence
    featpack -q -a "$DATA/gtea/gt_full.json" -o - | talcat --head 2 > other.tal
    run --separate-stderr pseudolabel -S --diagnose other.tal out.tal -o p.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"another class table"* ]]
    [ ! -e p.tal ]
    talcat --head 3 truth.tal > part.tal
    run --separate-stderr pseudolabel -S --diagnose part.tal out.tal -o p.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"is not in 'part.tal'"* ]]
    # diagnosis alone needs pseudo labels
    run --separate-stderr pseudolabel --diagnose truth.tal out.tal
    [ "$status" -eq 1 ]
    [ "$stderr" = "pseudolabel: 'out.tal' holds no pseudo labels (make them with --snippets or --instances)" ]
    # a damaged input names its byte offset
    head -c 3000 out.tal > cut.tal
    run --separate-stderr pseudolabel -S cut.tal -o p.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"truncated"* ]]
    [ ! -e p.tal ]
}
