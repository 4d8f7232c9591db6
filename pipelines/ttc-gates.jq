# ttc-gates.jq — where a TTC-Loc model's gate is open on a test stream: the
# share of snippets with g > 0.5 (p_c > p_background in tal-detect --dist,
# i.e. s_c > b) for each sequence's classes inside their instances, outside
# them, and for the classes the sequence does not hold.
#   talcat -j --dist dets.tal | jq -n -c --argjson fps F --argjson stride S --argjson clip C -f ttc-gates.jq
# (a snippet is inside an instance when its centre (t stride + clip/2)/fps is)
def pos(s): (s * $fps - $clip / 2) / $stride;
reduce (inputs | select(.dist | length > 0)) as $r ({in: [0, 0], out: [0, 0], absent: [0, 0]};
  ($r.dist | length) as $T | ($r.dist[0] | length) as $K |
  (reduce ($r.segments[] | select(.class >= 0 and .class < $K - 1)) as $s ({};
      ([pos($s.start) | ceil, 0] | max) as $a | ([pos($s.end) | floor, $T - 1] | min) as $b |
      .[$s.class | tostring] += [range($a; $b + 1)])) as $ins |
  reduce range(0; $K - 1) as $c (.;
    ([range(0; $T) as $t | if $r.dist[$t][$c] > $r.dist[$t][$K - 1] then 1 else 0 end]) as $open |
    (($open | add) // 0) as $nopen |
    if $ins[$c | tostring] == null then
      .absent[0] += $nopen | .absent[1] += $T
    else
      ($ins[$c | tostring] | unique) as $in |
      (([$in[] | $open[.]] | add) // 0) as $oin |
      .in[0] += $oin | .in[1] += ($in | length) |
      .out[0] += $nopen - $oin | .out[1] += $T - ($in | length)
    end))
| {inside: (.in[0] / ([.in[1], 1] | max)), outside: (.out[0] / ([.out[1], 1] | max)),
   absent: (.absent[0] / ([.absent[1], 1] | max))}
| map_values(. * 1000 | round / 1000)
