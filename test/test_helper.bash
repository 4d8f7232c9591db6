# test_helper.bash — loaded by every test/<tool>.bats.
#
# Gives each test a private scratch directory ($TMP, removed afterwards),
# puts the freshly built tools first on PATH, and names the repository's
# data ($DATA) and test fixtures ($FIXTURES).  Helpers:
#   mkstream NAME [featpack options]   a small ground-truth stream in $TMP
#   assert_line_count N FILE           FILE has N lines
#   write_npy FILE T D [dtype] [ver]   a .npy array of T x D values t*1000+d
#   write_npy_fortran FILE T D [dtype] [ver]
#                                      the same array in Fortran (column-major)
#                                      order
#   write_npz FILE T D [layout] [member...]
#                                      an .npz of .npy members (default one,
#                                      arr_0.npy), each that f4 array; layout
#                                      stored (np.savez) or deflated
#                                      (np.savez_compressed), then +dd (data
#                                      descriptor) and +z64 (zip64 directory)
#   assert_cuda_refused TOOL OUT       after `run --separate-stderr TOOL --device
#                                      cuda ...`: one error line, exit 1, no OUT
#                                      (skips where a GPU is usable)
#   selftrain_fixture                  in $TMP: 16 synthetic sequences (all.tal),
#                                      the odd ones labelled (split.txt, lab.tal),
#                                      the rest unlabelled (unl.tal) with their
#                                      truth (truth.tal), a tiny model of the
#                                      labelled half (m0.ckpt) and its output on
#                                      the unlabelled half (out.tal, --dist)

bats_require_minimum_version 1.5.0

TOP="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
export PATH="$TOP/bin:$PATH"
DATA="$TOP/data"
FIXTURES="$TOP/test/data"
export TAL_SRCDIR="$TOP"

setup() {
    TMP="$(mktemp -d "${BATS_TMPDIR:-/tmp}/talcore-bats.XXXXXX")"
    cd "$TMP" || return 1
}

teardown() {
    cd / && rm -rf "$TMP"
}

mkstream() {
    local name=$1
    shift
    featpack -q --annotations "$DATA/thumos14/gt_full.json" --subset validation "$@" -o "$TMP/$name"
}

# train.tal: a dozen synthetic sequences on THUMOS14's layout, 16-d, for
# the tiny ActionFormer-style config (cached per run)
tiny() {
    local cache="$BATS_RUN_TMPDIR/tiny-train.tal"
    if [ ! -f "$cache" ]; then
        featpack -q -a "$DATA/thumos14/gt_full.json" -s validation -o - | talcat --head 12 |
            talsynth -q -p easy -d 16 -o "$cache.part" && mv "$cache.part" "$cache"
    fi
    cp "$cache" "$TMP/train.tal"
}

# Is bin/tal-train built with MPI (make MPI=auto found it)?
built_with_mpi() { tal-train --help | grep -q 'This build: with MPI'; }

# ASAN_OPTIONS for a process that initialises MPI: no leak check there
# (Open MPI leaves its own allocations, in components it has unloaded, to
# the end of the process); memory errors are still caught.
ASAN_NO_LEAKS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

assert_line_count() {
    local n
    n=$(wc -l < "$2")
    [ "$n" -eq "$1" ] || { echo "expected $1 lines in $2, found $n" >&2; return 1; }
}

assert_cuda_refused() {
    if [ "$status" -eq 0 ]; then
        skip "a GPU is usable here: the cuda run succeeded (compared in test_cuda.c)"
    fi
    [ "$status" -eq 1 ]
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == "$1: --device cuda: "* ]]
    [ ! -e "$2" ]
}

# A little-endian .npy (format 1.0) holding value t*1000+d at [t][d].
TALGEN="${TALGEN:-$TOP/build/rel/test/talgen}"
case $TALGEN in /*) ;; *) TALGEN="$TOP/$TALGEN" ;; esac
write_npy() {
    "$TALGEN" npy "$@"
}

write_npy_fortran() {
    "$TALGEN" npy "$1" "$2" "$3" "${4:-f4}" "${5:-1}" F
}

# The zip layouts NumPy writes (see talgen npz).
write_npz() {
    "$TALGEN" npz "$@"
}

selftrain_fixture() {
    local c="$BATS_RUN_TMPDIR/selftrain-cache"
    if [ ! -f "$c/out.tal" ]; then
        mkdir -p "$c"
        featpack -q -a "$DATA/thumos14/gt_full.json" -s validation -o - | talcat --head 16 |
            talsynth -q -p easy -d 16 -o "$c/all.tal"
        talcat -j "$c/all.tal" | jq -r .id | awk 'NR % 2' > "$c/split.txt"
        labelsplit -q --split-file "$c/split.txt" -o "$c/lab.tal" -u "$c/unl.tal" --oracle "$c/truth.tal" "$c/all.tal"
        tal-train -q -c "$TOP/pipelines/configs/actionformer-tiny.yaml" -s train.epochs=20 -s train.lr=3e-3 \
            "$c/lab.tal" -o "$c/m0.ckpt"
        tal-detect -q --dist "$c/m0.ckpt" "$c/unl.tal" -o "$c/out.part" && mv "$c/out.part" "$c/out.tal"
    fi
    cp "$c"/*.tal "$c/split.txt" "$c/m0.ckpt" "$TMP/"
}
