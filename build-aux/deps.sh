#!/bin/sh
# deps.sh — check that what talcore needs is installed; install what is
# missing with apt-get when run as root, otherwise print the exact command
# and stop.
#
#   build-aux/deps.sh build    libraries and headers for `make`
#   build-aux/deps.sh check    + the tools `make check` uses (bats, jq, ...)
#   build-aux/deps.sh bench    + what the side-by-side benchmarks use
#   build-aux/deps.sh torch    python3-torch alone (make reference, make bench-core)
#
# Exit status: 0 when everything is present (after installing), 1 if not.
set -u
what=${1:-build}
CC=${CC:-cc}

missing=""
need_pkg() { missing="$missing $1"; }

# A library is present when a tiny program using its header links.
probe_lib() {  # header  link-flags  package
    printf '#include <%s>\nint main(void){return 0;}\n' "$1" |
        $CC -x c - -o /dev/null $2 >/dev/null 2>&1 || need_pkg "$3"
}
probe_cmd() {  # command  package
    command -v "$1" >/dev/null 2>&1 || need_pkg "$2"
}

probe_cmd pkg-config pkg-config
probe_lib zlib.h "-lz" zlib1g-dev
probe_lib yaml.h "-lyaml" libyaml-dev
probe_lib jansson.h "-ljansson" libjansson-dev
openblas_flags=$(pkg-config --cflags --libs openblas 2>/dev/null || echo -lopenblas)
probe_lib cblas.h "$openblas_flags" libopenblas-dev
# matrix products (BLAS=auto uses it when present; OpenBLAS otherwise)
probe_lib oneapi/dnnl/dnnl.h "-ldnnl" libdnnl-dev
# data-parallel tal-train under mpirun (make MPI=auto builds it when MPI
# links; MPI=0 neither builds nor asks for it)
if [ "${MPI:-auto}" != 0 ]; then
    probe_lib mpi.h "$(pkg-config --cflags --libs mpi-c 2>/dev/null || echo -lmpi)" libopenmpi-dev
    probe_cmd mpirun openmpi-bin
fi

case $what in
check|bench)
    probe_cmd bats bats
    probe_cmd jq jq
    probe_cmd xmllint libxml2-utils
    probe_cmd rsvg-convert librsvg2-bin
    probe_cmd groff groff-base
    ;;
esac
case $what in
bench|torch)
    # the compute core's reference outputs and benchmark run PyTorch from
    # Debian's python3-torch, with Debian's python (not a pyenv one)
    /usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1 || need_pkg python3-torch
    ;;
esac
case $what in
bench)
    # Debian's packages, for Debian's python (not one on PATH from pyenv
    # or a venv); the benchmarks use them to run the peers
    py=${PYTHON:-/usr/bin/python3}
    "$py" -c 'import numpy' >/dev/null 2>&1 || need_pkg python3-numpy
    "$py" -c 'import pandas' >/dev/null 2>&1 || need_pkg python3-pandas
    "$py" -c 'import joblib' >/dev/null 2>&1 || need_pkg python3-joblib
    probe_cmd taskset util-linux
    [ -x /usr/bin/time ] || need_pkg time
    probe_cmd bc bc
    ;;
esac

[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing$missing" >&2
    if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 ||
           { apt-get update >/dev/null 2>&1 &&
             DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >/dev/null; }; }; then
        echo "deps: could not install:$missing" >&2
        exit 1
    fi
    exit 0
fi
echo "deps: missing:$missing" >&2
echo "deps: run as root:  $cmd" >&2
exit 1
