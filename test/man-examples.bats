#!/usr/bin/env bats
# Every line of a man page's EXAMPLES section that starts with "$ " is a
# command that must run from the repository's top folder and succeed
# (jq's manual examples are its tests; so are ours).

load test_helper

@test "man pages: every EXAMPLES command runs" {
    ran=0
    for page in "$TOP"/man/*.[0-9]; do
        cmds=$(awk '/^\.SH EXAMPLES/ {on=1; next} /^\.SH/ {on=0} on && /^\$ / {print substr($0, 3)}' "$page" |
               sed -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\(dq/"/g' -e 's/\\e/\\/g' -e 's/\\&//g')
        [ -n "$cmds" ] || continue
        work="$TMP/$(basename "$page")"
        mkdir -p "$work"
        ln -s "$TOP/data" "$work/data"
        ln -s "$TOP/pipelines" "$work/pipelines"
        while IFS= read -r cmd; do
            # mpirun examples need a tal-train built with MPI (and, as
            # root, Open MPI's consent; no leak check: test_helper.bash)
            asan=${ASAN_OPTIONS:-}
            if [[ "$cmd" == mpirun* ]]; then
                built_with_mpi || continue
                asan=$ASAN_NO_LEAKS
            fi
            ASAN_OPTIONS=$asan OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
            run bash -o pipefail -c "cd '$work' && $cmd"
            # 141: a producer ended by SIGPIPE when a consumer such as head quit early
            if [ "$status" -ne 0 ] && [ "$status" -ne 141 ]; then
                echo "$(basename "$page"): '$cmd' failed with status $status: $output" >&2
                return 1
            fi
            ran=$((ran + 1))
        done <<< "$cmds"
    done
    [ "$ran" -gt 0 ]
}

@test "man pages: every tool has one, with the sections a reader expects" {
    for src in "$TOP"/tools/*.c; do
        tool=$(basename "$src" .c)
        page="$TOP/man/$tool.1"
        [ -f "$page" ] || { echo "no man page for $tool" >&2; return 1; }
        for sec in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
            grep -q "^\.SH \"\?$sec" "$page" || { echo "$page lacks $sec" >&2; return 1; }
        done
        # renders without a warning
        run --separate-stderr groff -man -Tutf8 -ww -z "$page"
        [ "$status" -eq 0 ]
        [ -z "$stderr" ] || { echo "$page: $stderr" >&2; return 1; }
    done
}
