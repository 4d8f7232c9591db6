#!/bin/sh
# products.sh — which library the built tools multiply matrices with
# (oneDNN or OpenBLAS, `make BLAS=`), for the results files: the two round
# their sums differently, so a results file is reproduced bit for bit only
# by a build with the same one.  Run from the repository's top folder.
if ldd bin/tal-train 2>/dev/null | grep -q 'libdnnl'; then
    echo oneDNN
else
    echo OpenBLAS
fi
