#!/usr/bin/env bats
# The build: install layout, and the CUDA and MPI switches.

load test_helper

@test "make install honours PREFIX and DESTDIR" {
    run make -s -C "$TOP" install SAN="${SAN:-0}" PREFIX=/opt/tal DESTDIR="$TMP/root"
    [ "$status" -eq 0 ]
    for t in "$TOP"/tools/*.c; do
        tool=$(basename "$t" .c)
        [ -x "$TMP/root/opt/tal/bin/$tool" ]
        [ -f "$TMP/root/opt/tal/share/man/man1/$tool.1" ]
    done
    [ -f "$TMP/root/opt/tal/share/man/man5/tal.5" ]
    "$TMP/root/opt/tal/bin/talcat" --version
}

@test "make CUDA=1 without nvcc stops with a clear message" {
    run make -s -C "$TOP" -n CUDA=1 NVCC=
    [ "$status" -ne 0 ]
    [[ "$output" == *"CUDA=1 but nvcc was not found"* ]]
}

@test "make MPI= takes 0, 1 or auto" {
    run make -s -C "$TOP" -n MPI=yes
    [ "$status" -ne 0 ]
    [[ "$output" == *"MPI=yes: use 0, 1 or auto"* ]]
}
