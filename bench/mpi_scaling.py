#!/usr/bin/env python3
"""Data-parallel W1 on this machine: 2 ranks x 1 thread against one process (docs/DISTRIBUTED.md).

    python3 bench/mpi_scaling.py [--build build] [--rounds 6] [--model fashion-lenet] [--batch 64]

Each round runs, one after the other (each under ../shared/bench/quiet_run.py when it is there):
  1x1    one process, 1 thread, the plain step on the global batch
  1x2    one process, 2 threads
  pair   two independent processes at once, 1 thread each, half the batch each, no communication:
         what 2 ranks could reach if the sums across ranks cost nothing (their images/s added)
  2r Gn  mpirun -np 2, 1 thread per rank, the data-parallel step in n gradient groups, with each
         rank's milliseconds per step in the sums across ranks and waiting for the other
and prints every round, then the median over rounds of each case's ratio to that round's 1x1
(pairs of runs minutes apart are steadier than the ratio of medians on a drifting machine).
"""
import argparse
import os
import re
import statistics
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUIET = os.path.join(os.path.dirname(REPO), "shared", "bench", "quiet_run.py")
MPIRUN = ["mpirun", "--oversubscribe", "--mca", "btl_vader_single_copy_mechanism", "none",
          "-np", "2"]
TRAINING = re.compile(r"training:\s+([0-9.]+) images/s")
RANK_SUMS = re.compile(r"rank (\d+): ([0-9.]+) ms per step in the sums across ranks "
                       r"\(with a barrier before each sum: ([0-9.]+) ms waiting")


def run(command):
    if os.path.exists(QUIET):
        command = ["python3", QUIET, "--max-wait", "120", "--tries", "3", "--"] + command
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    if result.returncode != 0:
        raise SystemExit(f"mpi_scaling: {' '.join(command)} failed:\n{result.stdout}")
    return result.stdout


def images_per_s(output):
    figures = [float(x) for x in TRAINING.findall(output)]
    if not figures:
        raise SystemExit(f"mpi_scaling: expected a 'training: ... images/s' line, got:\n{output}")
    return sum(figures)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(REPO, "build"))
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--model", default="fashion-lenet")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--groups", default="2,8",
                        help="gradient groups of the 2-rank runs, comma-separated")
    args = parser.parse_args()
    tool = os.path.join(args.build, "tools", "cnnkit")
    bench = [tool, "bench", "--model", args.model, "--iterations", "40", "--repeats", "5"]
    one = bench + ["--batch", str(args.batch)]
    half = " ".join(bench + ["--batch", str(args.batch // 2), "--threads", "1"])
    groups = [int(g) for g in args.groups.split(",")]
    cases = ["1x1", "1x2", "pair"] + [f"2r G{g}" for g in groups]
    figures = {case: [] for case in cases}
    sums = {g: [] for g in groups}
    for round_index in range(args.rounds):
        row = {"1x1": images_per_s(run(one + ["--threads", "1"])),
               "1x2": images_per_s(run(one + ["--threads", "2"])),
               "pair": images_per_s(run(["sh", "-c", f"{half} & {half} & wait"]))}
        for g in groups:
            output = run(MPIRUN + one + ["--threads", "1", "--gradient-groups", str(g)])
            row[f"2r G{g}"] = images_per_s(output)
            sums[g].append([(float(t), float(w)) for _, t, w in RANK_SUMS.findall(output)])
        for case in cases:
            figures[case].append(row[case])
        print(f"round {round_index + 1}: " +
              " | ".join(f"{case} {row[case]:,.0f}" for case in cases), flush=True)
    print(f"\nmedian of the rounds' ratios to 1x1 ({args.model}, global batch {args.batch}):")
    for case in cases[1:]:
        ratios = [x / base for x, base in zip(figures[case], figures["1x1"])]
        print(f"  {case:6s} {statistics.median(ratios):.2f}  "
              f"({min(ratios):.2f}-{max(ratios):.2f}; at least 1.6 in "
              f"{sum(r >= 1.6 for r in ratios)} of {len(ratios)})")
    for g in groups:
        transfer = [t for run_sums in sums[g] for t, _ in run_sums]
        wait = [w for run_sums in sums[g] for _, w in run_sums]
        if transfer:
            print(f"  2r G{g}: per rank and step, the sums across ranks "
                  f"{statistics.median(transfer):.3f} ms (median of ranks and rounds), of which "
                  f"waiting for the other rank about {statistics.median(wait):.3f} ms")


if __name__ == "__main__":
    main()
