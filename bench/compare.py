#!/usr/bin/env python3
"""cnnkit against PyTorch on the reference workloads, back to back, and the ratio table.

    python3 bench/compare.py --build build [--quiet] [--threads 2] [--epochs 3] [--rounds 3]
                             [--workloads w1,w2,w3,w4,w5,w6,sweep,busy] [--simd avx2]

Runs, one process per figure so that each has its own peak memory:
  1. ../shared/bench/fma_peak.cpp (built into BUILD/fma_peak): the machine's fp32 FMA peak, at
     the start and again before and after each round's W3 runs (their "% of FMA peak" is taken
     against the peak of their own round: share_of_peak says why; a round whose two peaks
     disagree is run again: w3_round);
  2. BUILD/bench/cnnkit_bench (compare_reference.py): W1 (--epochs epochs, and one epoch on 1
     thread for the scaling figure), W2 and W3 at --threads;
  3. ../shared/bench/torch_ref.py with Debian's /usr/bin/python3 at its best 2-core setting
     (--threads N --blas-threads 1 --malloc-keep): the same workloads.
  4. with --workloads (all by default; compare_next.py): W4's throughput, W5 and W6 (cnnkit
     bench against ../shared/bench/torch_next.py), batch-1 latency of W1, W5 and W6 on one
     thread (W1's PyTorch side: bench/torch_latency.py), the convolution sweep (sweep_cases.py,
     cnnkit_conv_sweep, torch_sweep.py) and W1 training beside a busy core; --simd holds both
     frameworks to one SIMD level; on request (w4acc) W4's accuracy over --accuracy-seeds seeds.
W1 also runs --accuracy-seeds seeds in all (once each, 3 epochs) for both frameworks: a single
run's test accuracy moves by about half a point from seed to seed, so "the same accuracy" is a
comparison of the two means (Welch's t) next to the one-seed rows.
With --rounds R every measurement runs R times, cnnkit and PyTorch alternating workload by
workload, and each figure of the table is the median over the rounds (a shared VM's noise comes
in bursts of seconds: one round can catch one for either side).
OpenBLAS 0.3.21 (Debian 12) does not know recent Xeons and falls back to its generic "Prescott"
kernels (4x slower sgemm); --openblas-coretype auto (the default) then sets OPENBLAS_CORETYPE to
SkylakeX (AVX-512) or Haswell (AVX2) for both frameworks alike (PyTorch's Linear layers use the
same OpenBLAS), and the table says so. Every command runs under a small wrapper that reports the child's peak resident memory
(wait4 ru_maxrss), and with --quiet under ../shared/bench/quiet_run.py, which waits for an idle
machine and repeats runs that other processes disturbed (when every attempt of a run was
disturbed, as a W2 run of 0.1 s is by one clock tick of another process, it is called again,
and at worst the least disturbed attempt is kept and the notes under the table say so). Prints a markdown table with one row per
goal of issue 4, each marked met or NOT MET, and saves every raw JSON line with --json FILE.
Python standard library only.
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_next  # noqa: E402  (beside this file)
from compare_reference import fma_peak, reference_workloads  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), "shared")


def rss_wrap(cmd):
    """Run cmd, pass its stdout through, then print its peak RSS as a JSON line."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate()
    # communicate() has reaped the child; its rusage is in RUSAGE_CHILDREN (only child here).
    import resource
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    sys.stdout.write(out)
    print(json.dumps({"wrapped_peak_rss_mb": round(peak_kib / 1024.0, 1)}), flush=True)
    return proc.returncode


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default=os.path.join(REPO, "build"), help="cnnkit build directory")
    p.add_argument("--shared", default=SHARED, help="the shared/ folder beside the repository")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rounds", type=int, default=1,
                   help="run everything this many times, alternating; figures are the medians")
    p.add_argument("--quiet", action="store_true", help="run everything through quiet_run.py")
    p.add_argument("--max-wait", type=float, default=300, help="quiet_run.py --max-wait (s)")
    p.add_argument("--tries", type=int, default=3, help="quiet_run.py --tries")
    p.add_argument("--accuracy-seeds", type=int, default=5,
                   help="W1 test accuracy over this many seeds (from --seed on) for both "
                        "frameworks, mean and spread (0 or 1: the one seed only)")
    p.add_argument("--w3-tries", type=int, default=3,
                   help="runs of a W3 round at most while the FMA peak around it moves")
    p.add_argument("--peak-tolerance", type=float, default=0.05,
                   help="how far the FMA peaks around a W3 round may differ (fraction)")
    p.add_argument("--skip-torch", action="store_true")
    p.add_argument("--workloads", default="w1,w2,w3,w4,w5,w6,sweep,busy",
                   help="comma-separated: w1 (with w2 and w3: the reference three, always "
                        "together), w4 (throughput), w5, w6, sweep (the convolution sweep), busy "
                        "(W1 training beside a busy core); w4acc (W4's accuracy over --accuracy-seeds seeds "
                        "of 3 epochs, both frameworks: about 25 minutes on 2 cores, so not in the "
                        "default list)")
    p.add_argument("--sweep-cases", type=int, default=48, help="geometries in the sweep")
    p.add_argument("--simd", choices=["avx512", "avx2", "none"],
                   help="hold both frameworks to this SIMD level (CNNKIT_SIMD for cnnkit, "
                        "ATEN_CPU_CAPABILITY and ONEDNN_MAX_CPU_ISA for PyTorch)")
    p.add_argument("--json", help="also write every raw result line to this file")
    p.add_argument("--openblas-coretype", default="auto",
                   help="OPENBLAS_CORETYPE for every run: auto, none, or a core name")
    return p.parse_args()


class Runner:
    def __init__(self, args):
        self.args = args
        self.notes = []   # quiet_run verdicts and anything odd
        self.raw = []     # every JSON line, tagged with its source

    def run(self, label, cmd, parse_json=True):
        wrapped = [sys.executable, os.path.abspath(__file__), "--rss-wrap", "--"] + cmd
        if self.args.quiet:
            wrapped = [sys.executable, os.path.join(self.args.shared, "bench", "quiet_run.py"),
                       "--max-wait", str(self.args.max_wait), "--tries", str(self.args.tries),
                       "--"] + wrapped
        print(f"# running {label}: {' '.join(cmd)}", file=sys.stderr, flush=True)
        if self.args.quiet:
            lines = self.quiet_lines(label, wrapped)
        else:
            proc = subprocess.run(wrapped, stdout=subprocess.PIPE, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"compare.py: {label} failed (exit {proc.returncode})")
            lines = proc.stdout.splitlines()
        if not parse_json:
            return lines
        results, peak = [], None
        for line in lines:
            line = line.strip()
            if not line.startswith("{"):
                continue
            obj = json.loads(line)
            if "wrapped_peak_rss_mb" in obj:
                peak = obj["wrapped_peak_rss_mb"]
                continue
            results.append(obj)
        for obj in results:
            obj["wrapped_peak_rss_mb"] = peak
            self.raw.append({"source": label, **obj})
        return results


    def quiet_lines(self, label, wrapped, calls=3):
        """The output of the run quiet_run.py kept. quiet_run prints every attempt's output, each
        followed by its verdict line, and exits 1 when every attempt was disturbed: a run of a
        tenth of a second (W2) is disturbed by a single clock tick of another process. Then it
        is called again, up to `calls` times in all; if no attempt passes, the least disturbed
        one is kept and the note says so. Any other failure ends compare.py."""
        attempts = []  # (foreign load, verdict line, output lines)
        for _ in range(calls):
            proc = subprocess.run(wrapped, stdout=subprocess.PIPE, text=True)
            segment = []
            for line in proc.stdout.splitlines():
                if not line.startswith("# quiet_run"):
                    segment.append(line)
                    continue
                found = re.search(r"foreign load ([0-9.]+)%", line)
                load = float(found.group(1)) if found else float("inf")
                attempts.append((load, line, segment))
                segment = []
            if proc.returncode == 0 and attempts and attempts[-1][1].endswith("OK"):
                self.notes.append(f"{label}: {attempts[-1][1][2:]}")
                return attempts[-1][2]
            disturbed = attempts and all(a[1].endswith("DISCARD") for a in attempts)
            if proc.returncode != 1 or not disturbed:
                raise SystemExit(f"compare.py: {label} failed (exit {proc.returncode})")
        load, line, kept = min(attempts, key=lambda a: a[0])
        self.notes.append(f"{label}: every one of {len(attempts)} attempts disturbed; kept the "
                          f"least disturbed: {line[2:]}")
        return kept


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def openblas_coretype(choice):
    """The OPENBLAS_CORETYPE to export (None: leave the environment alone)."""
    if choice == "none":
        return None
    if choice != "auto":
        return choice
    if "OPENBLAS_CORETYPE" in os.environ:
        return os.environ["OPENBLAS_CORETYPE"]
    import ctypes
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        name = lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return None
    if name.lower() not in ("prescott", "core2", "nehalem", "katmai", "unknown"):
        return None  # OpenBLAS knows this CPU
    flags = cpu_flags()
    if "avx512f" in flags:
        return "SkylakeX"
    if "avx2" in flags and "fma" in flags:
        return "Haswell"
    return None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


class Table:
    def __init__(self):
        self.rows = []

    def add(self, goal, cnnkit, torch, ratio, target, met):
        def fmt(v):
            if v is None:
                return "-"
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"
            return str(v)
        self.rows.append((goal, fmt(cnnkit), fmt(torch), fmt(ratio), target,
                          "-" if met is None else ("met" if met else "NOT MET")))

    def print(self):
        header = ("goal", "cnnkit", "PyTorch", "ratio", "target", "status")
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" for _ in header) + "|")
        for row in self.rows:
            print("| " + " | ".join(row) + " |")


def main():
    # Internal: `compare.py --rss-wrap -- CMD...` (how every measured command is started).
    if sys.argv[1:2] == ["--rss-wrap"]:
        cmd = sys.argv[2:]
        return rss_wrap(cmd[1:] if cmd[:1] == ["--"] else cmd)
    args = parse_args()
    needed = [os.path.join(args.shared, "bench", name)
              for name in ("torch_ref.py", "torch_next.py", "fma_peak.cpp", "quiet_run.py")]
    missing = [path for path in needed if not os.path.exists(path)]
    if missing:
        raise SystemExit("compare.py: expected the course's reference scripts (PyTorch's side of "
                         "the workloads, the FMA peak, the idle check), got none at "
                         + ", ".join(missing) + "; pass --shared DIR")

    coretype = openblas_coretype(args.openblas_coretype)
    if coretype:
        os.environ["OPENBLAS_CORETYPE"] = coretype
    os.environ.update(compare_next.simd_environment(args.simd))
    runner = Runner(args)
    peak = fma_peak(runner, args.build)
    table = Table()
    workloads = args.workloads.split(",")
    if "w1" in workloads:
        reference_workloads(runner, args, table, peak)
        compare_next.w1_latency(runner, args, table)
    next_ones = [w for w in workloads if w in compare_next.NEXT_WORKLOADS]
    if next_ones:
        compare_next.next_workloads(runner, args, table, next_ones)
    if "sweep" in workloads:
        compare_next.conv_sweep(runner, args, table)
    if "busy" in workloads:
        compare_next.busy_core(runner, args, table)
    if "w4acc" in workloads:
        compare_next.w4_accuracy(runner, args, table)

    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores; fp32 FMA peak "
          + ", ".join(f"{v:.0f} GFLOP/s on {k} thread(s)" for k, v in sorted(peak.items())))
    print(f"Threads: {args.threads}; W1 epochs: {args.epochs}; seed {args.seed}; "
          f"{args.rounds} round(s), each figure the median over them; "
          f"{'quiet_run.py' if args.quiet else 'no idle check (--quiet not given)'}; "
          f"OPENBLAS_CORETYPE={coretype or os.environ.get('OPENBLAS_CORETYPE', '(unset)')} "
          f"for both frameworks; SIMD {args.simd or 'each framework its best'}")
    print()
    table.print()
    if runner.notes:
        print()
        for note in runner.notes:
            print(f"- {note}")
    if args.json:
        with open(args.json, "w") as f:
            for obj in runner.raw:
                f.write(json.dumps(obj) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
