#!/usr/bin/env bats
# Feature files as users bring them: float64, float16 and Fortran-order
# .npy, .npz archives of one array (np.savez, np.savez_compressed), and a
# folder of per-video CSV tables (G-TAD/BMN's ActivityNet features).  Each
# variant packs to the same features as a plain float32 .npy, or is refused
# with one line, exit status 1 and no output.

load test_helper

A="$FIXTURES/anno"
IDS="vid_a vid_b vid_c vid_d"

# What a stream holds, less where it came from: id, shape and values.
features() {
    talcat -j --features "$1" | jq -c '[.id, .T, .D, .features]'
}

# T of each sequence (different lengths, so that a shape mix-up shows).
rows() {
    case $1 in vid_a) echo 5 ;; vid_b) echo 4 ;; vid_c) echo 6 ;; *) echo 2 ;; esac
}

# A refusal: exit 1, one line on stderr that ends with $1, no output file.
assert_refused() {
    [ "$status" -eq 1 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ "$stderr" == "featpack: "*"$1" ]]
    [ ! -e f.tal ]
}

@test "feature files: Fortran-order .npy (f4, f8, f2) packs as C order does" {
    mkdir c f
    write_npy c/vid_a.npy 5 3 f4 1
    write_npy_fortran f/vid_a.npy 5 3 f4 1
    write_npy c/vid_b.npy 4 3 f8 2
    write_npy_fortran f/vid_b.npy 4 3 f8 2
    write_npy c/vid_c.npy 6 3 f2 3
    write_npy_fortran f/vid_c.npy 6 3 f2 3
    write_npy c/vid_d.npy 2 3
    write_npy_fortran f/vid_d.npy 2 3
    featpack -q -a "$A/anet.json" -F c -o c.tal
    featpack -q -a "$A/anet.json" -F f -o f.tal
    cmp <(features c.tal) <(features f.tal)
    run sh -c 'talcat -j --features f.tal | jq -c "[.id, .T, .D, .features[4]]" | head -1'
    [ "$output" = '["vid_a",5,3,[4000,4001,4002]]' ]
}

@test "feature files: .npz stored and deflated, in each zip layout, packs as .npy does" {
    mkdir npy stored deflated streamed zip64
    for id in $IDS; do
        write_npy "npy/$id.npy" "$(rows $id)" 3
        write_npz "stored/$id.npz" "$(rows $id)" 3 stored
        write_npz "deflated/$id.npz" "$(rows $id)" 3 deflated
        write_npz "streamed/$id.npz" "$(rows $id)" 3 deflated+dd "$id.npy"
        write_npz "zip64/$id.npz" "$(rows $id)" 3 stored+dd+z64
    done
    featpack -q -a "$A/anet.json" -F npy -o npy.tal
    for dir in stored deflated streamed zip64; do
        featpack -q -a "$A/anet.json" -F "$dir" --feature-ext npz -o "$dir.tal"
        cmp <(features npy.tal) <(features "$dir.tal")
    done
    run sh -c 'talcat -j streamed.tal | jq -r .provenance.features | head -1'
    [ "$output" = "streamed/vid_a.npz" ]
    # without annotations the ids come from the .npz names
    featpack -F deflated --feature-ext npz --fps 10 -o ids.tal
    run sh -c 'talcat -j ids.tal | jq -r .id | paste -sd,'
    [ "$output" = "vid_a,vid_b,vid_c,vid_d" ]
}

@test "feature files: an .npz of several arrays is refused with one line" {
    mkdir z
    write_npz z/vid_a.npz 3 2 stored arr_0.npy arr_1.npy
    run --separate-stderr featpack -a "$A/anet.json" -s val -F z --feature-ext npz --skip-missing -o f.tal
    assert_refused "unsupported .npz file: 'z/vid_a.npz': 2 arrays ('arr_0', 'arr_1'); save one array per file"
}

@test "feature files: damaged or foreign .npz files are refused with one line each" {
    mkdir z
    write_npz z/vid_a.npz 30 2 deflated
    head -c 150 z/vid_a.npz > z/t && mv z/t z/vid_a.npz
    run --separate-stderr featpack -a "$A/anet.json" -s val -F z --feature-ext npz --skip-missing -o f.tal
    assert_refused "truncated .npz file: 'z/vid_a.npz': end of central directory not found (the archive is cut short)"
    write_npz z/vid_a.npz 3 2 stored notes.txt
    run --separate-stderr featpack -a "$A/anet.json" -s val -F z --feature-ext npz --skip-missing -o f.tal
    assert_refused "unsupported .npz file: 'z/vid_a.npz': member 'notes.txt' is not a .npy array (an archive of one array is read)"
    write_npy z/vid_a.npz 3 2
    run --separate-stderr featpack -a "$A/anet.json" -s val -F z --feature-ext npz --skip-missing -o f.tal
    assert_refused "not a .npz file: 'z/vid_a.npz': it is a .npy array, not a zip archive"
    # a flipped bit in the stored array: the CRC tells
    write_npz z/vid_a.npz 3 2 stored
    printf '\001' | dd of=z/vid_a.npz bs=1 seek=190 conv=notrunc status=none
    run --separate-stderr featpack -a "$A/anet.json" -s val -F z --feature-ext npz --skip-missing -o f.tal
    assert_refused "bad .npz file: 'z/vid_a.npz': CRC mismatch in member 'arr_0.npy' (data 0e9faf48, directory 91452cd6)"
}

@test "feature files: per-video CSV tables with a header row (G-TAD/BMN) pack as .npy does" {
    mkdir npy csv
    for id in $IDS; do
        write_npy "npy/$id.npy" "$(rows $id)" 4
        # header f0,f1,...; one row per snippet
        awk -v T="$(rows $id)" -v D=4 'BEGIN {
            for (d = 0; d < D; d++) printf "%sf%d", d ? "," : "", d; print ""
            for (t = 0; t < T; t++) { for (d = 0; d < D; d++) printf "%s%d", d ? "," : "", t * 1000 + d; print "" }
        }' > "csv/v_$id.csv"
    done
    featpack -q -a "$A/anet.json" -F npy -o npy.tal
    featpack -q -a "$A/anet.json" -F csv --feature-ext csv --parts 'v_{}' -o csv.tal
    cmp <(features npy.tal) <(features csv.tal)
    # without annotations the ids are the names less the template's "v_"
    featpack -F csv --feature-ext csv --parts 'v_{}' --fps 10 -o ids.tal
    run sh -c 'talcat -j ids.tal | jq -r .id | paste -sd,'
    [ "$output" = "vid_a,vid_b,vid_c,vid_d" ]
}
