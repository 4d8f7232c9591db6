"""anet_peer.py — run a peer's ActivityNet detection evaluation on the
benchmark's files and print what it computes, for pipelines/bench-eval.sh.

    /usr/bin/python3 anet_peer.py PEER GT.json RESULTS.json OUT.json

PEER is a checkout of happyharrycn/actionformer_release (or the path of its
libs/utils/metrics.py): its ANETdetection class, a Python 3 port of
activitynet/ActivityNet's Evaluation/eval_detection.py, is imported from
there and run with one worker at the ten ActivityNet thresholds
(numpy.linspace(0.5, 0.95, 10), its default for ActivityNet).  Nothing of
the peer is copied here.

GT.json is ActivityNet-style ground truth whose annotations carry
"label_id" (as `talcat --anet-json` writes it); RESULTS.json is
{"results": {video: [{label, score, segment}]}}, whose labels are mapped
to those ids by name.  OUT.json receives the mAP per threshold, the AP
per class and threshold, and the seconds spent loading and evaluating.
"""
import importlib.util
import json
import os
import sys
import time

t_start = time.perf_counter()

import numpy as np

# numpy 1.24 removed np.float, which the peer still uses
if not hasattr(np, "float"):
    np.float = float
import pandas as pd


def load_peer(path):
    if os.path.isdir(path):
        path = os.path.join(path, "libs", "utils", "metrics.py")
    if not os.path.isfile(path):
        sys.exit("anet_peer: no libs/utils/metrics.py under the peer path '%s'" % path)
    spec = importlib.util.spec_from_file_location("peer_metrics", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if not hasattr(mod, "ANETdetection"):
        sys.exit("anet_peer: '%s' has no ANETdetection class" % path)
    return mod


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    peer, gt_path, res_path, out_path = sys.argv[1:]
    mod = load_peer(peer)

    with open(gt_path) as f:
        gt = json.load(f)
    label_id = {}
    for v in gt["database"].values():
        for a in v["annotations"]:
            label_id[a["label"]] = int(a["label_id"])
    with open(res_path) as f:
        res = json.load(f)["results"]
    vids, starts, ends, labels, scores = [], [], [], [], []
    for vid, dets in res.items():
        for d in dets:
            vids.append(vid)
            starts.append(float(d["segment"][0]))
            ends.append(float(d["segment"][1]))
            labels.append(label_id[d["label"]])
            scores.append(float(d["score"]))
    preds = pd.DataFrame({"video-id": vids, "t-start": starts, "t-end": ends, "label": labels, "score": scores})
    t_loaded = time.perf_counter()

    tious = np.linspace(0.5, 0.95, 10)
    ev = mod.ANETdetection(gt_path, "validation", tiou_thresholds=tious, num_workers=1)
    mAP, average, _ = ev.evaluate(preds, verbose=False)
    t_done = time.perf_counter()

    # per class, in the order of the sorted ground-truth label ids
    inv = {i: lid for lid, i in ev.activity_index.items()}
    per_class = {str(inv[i]): [float(x) for x in ev.ap[:, i]] for i in range(ev.ap.shape[1])}
    with open(out_path, "w") as f:
        json.dump({"tiou": [float(t) for t in tious], "mAP": [float(x) for x in mAP], "average": float(average),
                   "per_class": per_class, "detections": len(preds),
                   "seconds_import_and_load": t_loaded - t_start, "seconds_evaluate": t_done - t_loaded}, f)


if __name__ == "__main__":
    main()
