#!/usr/bin/env python3
"""Two builds of cnnkit on W1-W3, alternating: the before-and-after of a change.

    python3 bench/ab_builds.py OLD_BUILD NEW_BUILD [--rounds 3] [--workloads w1,w2,w3]

Runs OLD_BUILD/bench/cnnkit_bench and NEW_BUILD/bench/cnnkit_bench (W1 one epoch) one after the
other, workload by workload, --rounds times, each under ../shared/bench/quiet_run.py when it is
there, and prints every figure's median and runs for both builds, then the median of the
rounds' ratios new / old (each round's two runs are minutes apart at most, so the ratio of a pair
is steadier than the ratio of the medians on a machine whose speed drifts). compare.py measures
one build against PyTorch; this one measures two builds against each other.
"""
import argparse
import json
import os
import statistics
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUIET = os.path.join(os.path.dirname(REPO), "shared", "bench", "quiet_run.py")
FIELDS = ("train_images_per_s", "infer_images_per_s", "wall_s", "ms_forward", "ms_backward")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="2")
    parser.add_argument("--workloads", default="w1,w2,w3")
    args = parser.parse_args()
    figures = {}
    for _ in range(args.rounds):
        for workload in args.workloads.split(","):
            extra = ["--epochs", "1"] if workload == "w1" else []
            for tag, build in (("old", args.old), ("new", args.new)):
                cmd = [os.path.join(build, "bench", "cnnkit_bench"), "--workload", workload,
                       "--threads", args.threads] + extra
                if os.path.exists(QUIET):
                    cmd = ["python3", QUIET, "--max-wait", "120", "--tries", "2", "--"] + cmd
                out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True).stdout
                for line in out.splitlines():
                    if not line.startswith("{"):
                        continue
                    result = json.loads(line)
                    case = result.get("case", result.get("epoch", ""))
                    for field in FIELDS:
                        if field in result:
                            figures.setdefault((workload, str(case), field, tag), []).append(
                                result[field])
    for key in sorted(figures):
        values = figures[key]
        print(" ".join(key), round(statistics.median(values), 4), values)
    for key in sorted(k for k in figures if k[3] == "new"):
        old = figures.get(key[:3] + ("old",), [])
        ratios = [n / o for n, o in zip(figures[key], old) if o]
        if ratios:
            print(" ".join(key[:3]), "new/old", round(statistics.median(ratios), 3),
                  [round(r, 3) for r in ratios])


if __name__ == "__main__":
    main()
