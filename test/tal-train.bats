#!/usr/bin/env bats
# tal-train: configs, training, reproducibility, resuming after a kill,
# divergence, bad input, failed writes.

load test_helper

CFG="$TOP/pipelines/configs/actionformer-tiny.yaml"

@test "tal-train --help prints usage on stdout and exits 0" {
    run --separate-stderr tal-train --help
    [ "$status" -eq 0 ]
    [[ "$output" == Usage:\ tal-train* ]]
    [ -z "$stderr" ]
    run tal-train --version
    [[ "$output" == "tal-train (talcore) "* ]]
}

@test "tal-train: usage errors exit 2" {
    tiny
    run -2 tal-train train.tal -o m.ckpt
    run -2 tal-train -c "$CFG" train.tal
    run -2 tal-train -c "$CFG" -o m.ckpt
    run -2 tal-train -c "$CFG" -o - train.tal
    run -2 tal-train -c "$CFG" -o m.ckpt train.tal train.tal
    run -2 tal-train -c "$CFG" --threads 0 -o m.ckpt train.tal
    run -2 tal-train -c "$CFG" --device tpu -o m.ckpt train.tal
    run -2 tal-train -c "$CFG" --resume -o m.ckpt train.tal
    run -2 tal-train --resume --init x.ckpt -o m.ckpt train.tal
    run --separate-stderr tal-train -c "$CFG" -s train.lr=fast -o m.ckpt train.tal
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"'train.lr': expected a number, not 'fast'"* ]]
    run --separate-stderr tal-train -c "$CFG" -s model.no_such=1 -o m.ckpt train.tal
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"unknown key 'model.no_such'"* ]]
    [ ! -e m.ckpt ]
}

@test "tal-train --device: cpu trains; cuda without a usable GPU is one error line, exit 1" {
    tiny
    run tal-train -q -c "$CFG" -s train.epochs=1 --device cpu -o cpu.ckpt train.tal
    [ "$status" -eq 0 ]
    [ -s cpu.ckpt ]
    run --separate-stderr tal-train -q -c "$CFG" -s train.epochs=1 --device cuda -o gpu.ckpt train.tal
    assert_cuda_refused tal-train gpu.ckpt
}

@test "training tools that cannot share a job's ranks refuse under its launcher, one line, exit 1, no checkpoint" {
    tiny
    # a launcher's environment without the launcher: tal-train with MPI
    # sees one rank where the launcher says 2 (another MPI's mpirun would
    # do the same), tal-train without MPI cannot share the work
    for v in OMPI_COMM_WORLD_SIZE PMI_SIZE MV2_COMM_WORLD_SIZE; do
        want="tal-train: launched as one of 2 MPI ranks ($v), but this tal-train was built without MPI"
        built_with_mpi && want="tal-train: the launcher started 2 ranks but MPI sees 1"
        run --separate-stderr env "$v=2" ASAN_OPTIONS="$ASAN_NO_LEAKS" \
            tal-train -q -c "$CFG" -s train.epochs=1 -o m.ckpt train.tal
        [ "$status" -eq 1 ]
        [ "${#stderr_lines[@]}" -eq 1 ]
        [[ "$stderr" == "$want"* ]]
        [ ! -e m.ckpt ]
    done
    run --separate-stderr env OMPI_COMM_WORLD_SIZE=2 tal-pretrain-acp -q -c "$CFG" -o a.ckpt train.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == "tal-pretrain-acp: launched as one of 2 MPI ranks (OMPI_COMM_WORLD_SIZE), but this tool trains in one process"* ]]
    [ ! -e a.ckpt ]
    # a job of one rank trains as usual
    run env OMPI_COMM_WORLD_SIZE=1 tal-train -q -c "$CFG" -s train.epochs=1 -o m.ckpt train.tal
    [ "$status" -eq 0 ]
    [ -s m.ckpt ]
}

@test "tal-train: config files are checked, naming the file and line" {
    tiny
    printf 'model:\n  kind: actionformer\n  channels: many\n' > bad.yaml
    run --separate-stderr tal-train -c bad.yaml -o m.ckpt train.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"bad.yaml"*"line 3"*"model.channels"* ]]
    printf 'model:\n  branch_blocks: 2\n  reg_range: [0, 4, 4, 8]\n' > ranges.yaml
    run --separate-stderr tal-train -c "$CFG" -c ranges.yaml -o m.ckpt train.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"'model.reg_range' has 4 values; 3 levels need 6"* ]]
    run --separate-stderr tal-train -c "$CFG" -s model.input_dim=32 -o m.ckpt train.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"model.input_dim is 32 but the stream's features are 16-d"* ]]
}

@test "tal-train --print-config prints YAML that reads back to the same config" {
    tal-train -c "$CFG" -s train.lr=3e-4 --print-config > full.yaml
    grep -q '^train.lr: 0.0003$' full.yaml
    grep -q '^model.channels: 16$' full.yaml
    tal-train -c full.yaml --print-config > again.yaml
    cmp full.yaml again.yaml
}

@test "tal-train: a tiny model trains, writes its checkpoint and metrics, and learns" {
    tiny
    run --separate-stderr tal-train -c "$CFG" -s train.epochs=30 -s train.lr=3e-3 \
        --metrics m.jsonl --log-every 4 train.tal -o m.ckpt
    [ "$status" -eq 0 ]
    [ -s m.ckpt ]
    [ "$(jq -s 'map(select(.kind == "epoch")) | length' m.jsonl)" -eq 31 ]
    [ "$(jq -s 'map(select(.kind == "step")) | length' m.jsonl)" -eq 46 ]
    # the loss of the last epoch is well below the first's
    first=$(jq -s 'map(select(.kind == "epoch"))[0].loss' m.jsonl)
    last=$(jq -s 'map(select(.kind == "epoch"))[-1].loss' m.jsonl)
    [ "$(echo "$last < $first / 3" | bc -l)" -eq 1 ]
    # and the model finds the training instances again
    tal-detect -q --no-ema m.ckpt train.tal -o d.tal
    map=$(tal-map --json --gt train.tal --tiou 0.5 d.tal | jq '.mAP[0]')
    [ "$(echo "$map > 0.5" | bc -l)" -eq 1 ]
}

@test "tal-train: the same seed and threads give the same bytes, another seed others" {
    tiny
    tal-train -q --threads 2 -c "$CFG" train.tal -o a.ckpt
    tal-train -q --threads 2 -c "$CFG" train.tal -o b.ckpt
    tal-train -q --threads 2 -c "$CFG" --seed 7 train.tal -o c.ckpt
    cmp a.ckpt b.ckpt
    ! cmp -s a.ckpt c.ckpt
}

@test "tal-train: killed and resumed, it ends with the weights of an uninterrupted run" {
    tiny
    tal-train -q --threads 1 -c "$CFG" -s train.epochs=12 train.tal -o full.ckpt
    tal-train -q --threads 1 -c "$CFG" -s train.epochs=12 train.tal -o k.ckpt &
    pid=$!
    # kill it once its first checkpoint is down, wherever it is then
    for i in $(seq 1 400); do [ -e k.ckpt ] && break; sleep 0.02; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [ -e k.ckpt ]
    rm -f k.ckpt.tmp.*
    tal-train -q --threads 1 --resume train.tal -o k.ckpt
    cmp k.ckpt full.ckpt
    # and stopping at an epoch boundary on purpose does the same
    tal-train -q --threads 1 -c "$CFG" -s train.epochs=12 --stop-after-epochs 5 train.tal -o s.ckpt
    ! cmp -s s.ckpt full.ckpt
    tal-train -q --threads 1 --resume train.tal -o s.ckpt
    cmp s.ckpt full.ckpt
}

@test "tal-train: divergence stops with the step and what is not finite named" {
    # one snippet at 3e38 (finite in float32) overflows the first layer
    mkdir f
    awk 'BEGIN { for (t = 0; t < 64; t++) { for (d = 0; d < 16; d++) printf "%s%s", (d ? "," : ""), (t == 10 ? "3e38" : "0.5"); print "" } }' > f/v1.csv
    printf '{"database":{"v1":{"subset":"validation","duration":34.1,"fps":30,"annotations":[{"label":"A","segment":[5,10]}]}}}' > a.json
    featpack -q -a a.json -F f --feature-ext csv --stride 16 --clip 16 -o huge.tal
    run --separate-stderr tal-train -c "$CFG" -s model.max_seq_len=64 huge.tal -o m.ckpt
    [ "$status" -eq 1 ]
    [[ "$stderr" == "tal-train: training diverged: step 0 (epoch 1): "*" is nan" ]]
    [ ! -e m.ckpt ]
}

@test "tal-train: streams it cannot train on" {
    featpack -q -a "$DATA/thumos14/gt_full.json" -s validation -o gt.tal
    run --separate-stderr tal-train -c "$CFG" gt.tal -o m.ckpt
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"no features"* ]]
    tiny
    labelsplit -q -r 0.5 --supervision video -o vid.tal train.tal
    run --separate-stderr tal-train -c "$CFG" vid.tal -o m.ckpt
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"no sequences with full supervision to train on (6 with other supervision)"* ]]
    run --separate-stderr tal-train -c "$CFG" "$FIXTURES/broken/crc-mismatch.tal" -o m.ckpt
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"CRC mismatch"* ]]
    run --separate-stderr tal-train --resume train.tal -o missing.ckpt
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"missing.ckpt"* ]]
    [ ! -e m.ckpt ]
}

@test "tal-train --init starts from another checkpoint's weights" {
    tiny
    tal-train -q -c "$CFG" train.tal -o a.ckpt
    tal-train -q -c "$CFG" --init a.ckpt -s train.epochs=1 train.tal -o b.ckpt
    [ -s b.ckpt ]
    printf 'model:\n  kind: linear\n' > lin.yaml
    run --separate-stderr tal-train -c lin.yaml --init a.ckpt train.tal -o c.ckpt
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"shares no parameter with this model"* ]]
}

@test "tal-train: a failed checkpoint write is an error" {
    tiny
    run --separate-stderr tal-train -q -c "$CFG" -s train.epochs=1 train.tal -o /dev/full
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"/dev/full"* ]]
}
