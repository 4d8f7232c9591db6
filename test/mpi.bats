#!/usr/bin/env bats
# Data-parallel tal-train under mpirun (2 ranks, oversubscribed on a small
# machine): what one process would learn (every model kind tal-train
# splits), the same bits on a repeat, resuming with any number of ranks,
# a killed rank, and what it refuses.
#
# How close is "what one process would learn": the ranks add their
# records' gradients and then each other's, one process adds them all in
# another order, so the weights part by rounding, which Adam's first steps
# amplify where a gradient is near zero.  Measured on the tiny config
# after one epoch (6 steps, lr 1e-3): at most 7e-5 apart (supervised),
# the step-1 losses to 2e-6 relative (2e-5 in the sanitizer build).  The bound below is 2e-4: a record
# drawn or normalised otherwise (a crop, a drop-path mask, a positive
# count) moves weights by a whole step, 5e-3 (measured while building it).

load test_helper

CFG="$TOP/pipelines/configs/actionformer-tiny.yaml"
ONE_EPOCH=(-s train.warmup_epochs=0 -s train.epochs=1)
TOL=2e-4

setup_mpi() {
    built_with_mpi || skip "tal-train was built without MPI (make MPI=1)"
    command -v mpirun >/dev/null || skip "mpirun not found (openmpi-bin)"
    CKPTDIFF="$TOP/${BUILD:-build/rel}/test/ckptdiff"
    [ -x "$CKPTDIFF" ] || skip "no $CKPTDIFF (make check builds it)"
    tiny
}

# mpi N ARGS...: N ranks of tal-train, never longer than two minutes
# (Open MPI asks for its consent to run as root, and for --oversubscribe
# beyond the cores; under the sanitizers no leak check: test_helper.bash)
mpi() {
    local n=$1
    shift
    ASAN_OPTIONS=$ASAN_NO_LEAKS \
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 120 \
        mpirun --oversubscribe -np "$n" "$@"
}

# the largest difference between two checkpoints' weights, below TOL
close() {
    local d
    d=$("$CKPTDIFF" "$1" "$2" "$3" | awk '{ print $2 }')
    echo "max |difference| $d" >&2
    awk -v d="$d" -v t="$TOL" 'BEGIN { exit !(d + 0 <= t + 0) }'
}

# as_one STREAM TAL-TRAIN-ARGS...: one process and 2 ranks train on STREAM,
# their weights close
as_one() {
    local stream=$1
    shift
    tal-train "$@" -o one.ckpt "$stream"
    mpi 2 tal-train "$@" -o two.ckpt "$stream"
    close "$stream" one.ckpt two.ckpt
}

@test "mpi: 2 ranks learn what one process does (within rounding), the same bits on a repeat" {
    setup_mpi
    tal-train -q --threads 1 -c "$CFG" "${ONE_EPOCH[@]}" --metrics one.jsonl --log-every 1 -o one.ckpt train.tal
    mpi 2 tal-train -q --threads 1 -c "$CFG" "${ONE_EPOCH[@]}" --metrics two.jsonl --log-every 1 -o two.ckpt train.tal
    mpi 2 tal-train -q --threads 1 -c "$CFG" "${ONE_EPOCH[@]}" -o again.ckpt train.tal
    cmp two.ckpt again.ckpt
    close train.tal one.ckpt two.ckpt
    # a line per step and per epoch, from rank 0 alone, the exchange in them
    [ "$(wc -l < two.jsonl)" -eq "$(wc -l < one.jsonl)" ]
    jq -e 'select(.kind == "epoch") | .ranks == 2 and .comm_bytes > 0 and .comm_time >= .comm_wait' two.jsonl
    # the first step's loss is the same sum over the same records (apart by
    # 2e-6 relative here, 2e-5 in the sanitizer build; a record drawn or
    # normalised otherwise moves it by percents)
    paste <(jq -r 'select(.step == 1 and .kind == "step") | .loss' one.jsonl) \
          <(jq -r 'select(.step == 1 and .kind == "step") | .loss' two.jsonl) |
        awk '{ d = $1 - $2; if (d < 0) d = -d; exit !(d <= 1e-4 * $1) }'
}

@test "mpi: semi-supervised training (--unlabelled) on 2 ranks learns what one process does" {
    setup_mpi
    selftrain_fixture
    pseudolabel -q -S -I --select fixed:0.15 out.tal -o pseudo.tal
    as_one lab.tal -q --threads 1 -c "$CFG" -c "$TOP/pipelines/configs/nontarget.yaml" "${ONE_EPOCH[@]}" \
        --init m0.ckpt --unlabelled pseudo.tal
}

@test "mpi: TTC-Loc (video tags and a few full sequences) on 2 ranks learns what one process does" {
    setup_mpi
    labelsplit -q -k 1 -o full.tal -u tags.tal train.tal
    cat full.tal tags.tal > semi.tal
    # dropout's masks are drawn per rank: off, for the comparison
    as_one semi.tal -q --threads 1 -c "$TOP/pipelines/configs/ttc-loc-tiny.yaml" -s ttc.dropout=0 -s train.epochs=2
}

@test "mpi: the SPOT-style detector and FS-PTAL on 2 ranks learn what one process does" {
    setup_mpi
    mkstream gt.tal
    talsynth -q -p easy -d 16 gt.tal | talcat -q -n 16 -o small.tal
    as_one small.tal -q --threads 1 -c "$TOP/pipelines/configs/spot-synth.yaml" -s model.channels=16 \
        -s model.heads=2 -s model.stem_blocks=1 -s model.embd_layers=1 -s spot.temporal_scale=64 \
        -s train.warmup_epochs=0 -s train.epochs=2
    labelsplit -q -r 1 --points-file "$DATA/thumos14/lacp/point_labels.csv" -o pts.tal small.tal
    lblext -q pts.tal -o ext.tal
    as_one ext.tal -q --threads 1 -c "$TOP/pipelines/configs/fs-ptal-synth.yaml" -s model.channels=16 \
        -s train.batch_size=4 -s fs_ptal.dropout=0 -s train.epochs=2
}

@test "mpi: the linear baseline on 2 ranks learns what one process does" {
    setup_mpi
    as_one train.tal -q --threads 1 -c "$TOP/pipelines/configs/linear-synth.yaml" -s train.batch_size=4 \
        -s train.epochs=2
}

@test "mpi: resumed on 2 ranks, the bits of an uninterrupted run; as one process, within rounding" {
    setup_mpi
    args=(-q --threads 1 -c "$CFG" -s train.epochs=3)
    mpi 2 tal-train "${args[@]}" -o whole.ckpt train.tal
    mpi 2 tal-train "${args[@]}" --stop-after-epochs 2 -o part.ckpt train.tal
    cp part.ckpt alone.ckpt
    mpi 2 tal-train -q --threads 1 --resume -o part.ckpt train.tal
    cmp part.ckpt whole.ckpt
    tal-train -q --threads 1 --resume -o alone.ckpt train.tal
    close train.tal alone.ckpt whole.ckpt
}

@test "mpi: a killed rank ends the job with a line on the other, no hang; --resume finishes it exactly" {
    setup_mpi
    args=(-q --threads 1 -c "$CFG" -s train.epochs=30)
    # rank 1 is killed once the first checkpoint is there
    run --separate-stderr mpi 2 sh -c 'if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then
            (while [ ! -e k.ckpt ]; do sleep 0.05; done; kill -9 $$) & fi
        exec "$0" "$@"' tal-train "${args[@]}" -o k.ckpt train.tal
    [ "$status" -ne 0 ]
    [ "$status" -ne 124 ]   # not the timeout
    [[ "$stderr" == *"tal-train (rank 0 of 2): stopped by the MPI launcher: another rank ended"*"--resume continues from it"* ]]
    mpi 2 tal-train -q --threads 1 --resume -o k.ckpt train.tal
    mpi 2 tal-train "${args[@]}" -o whole.ckpt train.tal
    cmp k.ckpt whole.ckpt
}

@test "mpi: what does not split over ranks is refused, one line per rank, exit 1, no checkpoint" {
    setup_mpi
    run --separate-stderr mpi 2 tal-train -q -c "$CFG" -s acp.weight=0.1 -o m.ckpt train.tal
    [ "$status" -eq 1 ]
    # each rank stops at the same check; the launcher may end one before it
    # says so, never both
    [[ "$stderr" == *"tal-train (rank "?" of 2): acp.weight 0.1: L_acp contrasts frames across the records of a batch"* ]]
    [ ! -e m.ckpt ]
    run --separate-stderr mpi 2 tal-train -q -c "$CFG" -s model.kind=acp -o m.ckpt train.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"tal-train (rank "?" of 2): model.kind acp trains in one process only: run it without mpirun"* ]]
    [ ! -e m.ckpt ]
    run --separate-stderr mpi 2 tal-train -q -c "$CFG" -o m.ckpt - < train.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"under mpirun every rank reads the training streams: give files, not '-'"* ]]
    [ ! -e m.ckpt ]
    run --separate-stderr mpi 3 tal-train -q -c "$CFG" -o m.ckpt train.tal
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"3 processes share batches of 2 records: at most 2 processes"* ]]
    [ ! -e m.ckpt ]
}
