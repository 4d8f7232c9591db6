# pseudo-quality.jq — how good mined pseudo labels are, against ground truth.
#
#   jq -n -f pipelines/pseudo-quality.jq --slurpfile p PSEUDO.jsonl --slurpfile g GT.jsonl
#
# PSEUDO.jsonl: `talcat -j` of `tal-detect --pseudo` output (segments flagged
# pseudo: action runs by class, background runs with class -1); GT.jsonl:
# `talcat -j` of the ground truth.  Durations in seconds, summed over all
# sequences:
#   act_precision   share of pseudo action time inside ground truth of its class
#   act_coverage    share of ground-truth time under pseudo action of its class
#   bkg_precision   share of pseudo background time outside every instance
#   bkg_coverage    share of the time outside every instance that is pseudo background
#   act_s, bkg_s    pseudo action and background seconds per sequence

# union of intervals [[s, e], ...] as sorted disjoint intervals
def union: sort | reduce .[] as $x ([]; if length > 0 and $x[0] <= .[-1][1]
                                          then .[-1][1] = ([.[-1][1], $x[1]] | max) else . + [$x] end);
def total: map(.[1] - .[0]) | add // 0;
# overlap of the interval [s, e] with disjoint intervals u
def overlap($u): . as $x | $u | map(([$x[1], .[1]] | min) - ([$x[0], .[0]] | max) | if . > 0 then . else 0 end) | add // 0;

($g | map({(.id): .}) | add) as $gt
| [ $p[] | . as $r | ($gt[$r.id] // null) as $t | select($t != null)
    | ($t.segments // [] | map(select(.ambiguous | not))) as $gs
    | ($gs | map([.start, .end]) | union) as $inst
    | ($r.segments // [] | map(select(.pseudo))) as $ps
    | ($ps | map(select(.class >= 0))) as $act
    | ($ps | map(select(.class < 0)) | map([.start, .end]) | union) as $bkg
    | { act: ($act | map(.end - .start) | add // 0),
        act_in: ($act | map(. as $a | [$a.start, $a.end] | overlap($gs | map(select(.class == $a.class)) | map([.start, .end]) | union)) | add // 0),
        gt: ($inst | total),
        gt_cov: ($gs | map(. as $s | [$s.start, $s.end] | overlap($act | map(select(.class == $s.class)) | map([.start, .end]) | union)) | add // 0),
        bkg: ($bkg | total),
        bkg_out: (($bkg | total) - ($bkg | map(overlap($inst)) | add // 0)),
        outside: (($t.duration // 0) - ($inst | total)) } ]
| { sequences: length,
    act_precision: ((map(.act_in) | add) / ((map(.act) | add) + 1e-9)),
    act_coverage: ((map(.gt_cov) | add) / ((map(.gt) | add) + 1e-9)),
    bkg_precision: ((map(.bkg_out) | add) / ((map(.bkg) | add) + 1e-9)),
    bkg_coverage: ((map(.bkg_out) | add) / ((map(.outside) | add) + 1e-9)),
    act_s: ((map(.act) | add) / length), bkg_s: ((map(.bkg) | add) / length) }
