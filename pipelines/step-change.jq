# step-change.jq — how much the features change from one snippet to the
# next, near the point labels and away from them (label extension
# interpolates between snippets, so near the points an extended sequence
# changes less per snippet than the sequences it is tested on).
#
#   talcat -j --features X.tal | jq -s -f pipelines/step-change.jq --argjson g '[FPS, STRIDE, CLIP]'
#
# g: the stream's grid (talcat -H --json), for records without a time map.
# Out: {near, far}: the mean Euclidean distance between consecutive
# snippets' features, for snippets less than 1 s from a point (near) and
# the others (far), over every record.
[ .[] | (.points | map(.time) | unique) as $p | .features as $x
  | (.timemap // [range(.T) | (. * $g[1] + $g[2] / 2) / $g[0]]) as $tm
  | range(0; .T - 1) as $t
  | { near: ([$p[] | (. - $tm[$t]) | fabs] | min < 1),
      d: ([range(0; $x[$t] | length) as $k | ($x[$t + 1][$k] - $x[$t][$k]) | . * .] | add | sqrt) } ]
| { near: (map(select(.near) | .d) | add / length), far: (map(select(.near | not) | .d) | add / length) }
