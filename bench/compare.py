#!/usr/bin/env python3
"""cnnkit against PyTorch on the reference workloads, back to back, and the ratio table.

    python3 bench/compare.py --build build [--quiet] [--threads 2] [--epochs 3] [--rounds 3]
                             [--workloads w1,w2,w3,w4,w5,w6,sweep,busy] [--simd avx2]

Runs, one process per figure so that each has its own peak memory:
  1. ../shared/bench/fma_peak.cpp (built into BUILD/fma_peak): the machine's fp32 FMA peak, at
     the start and again before and after each round's W3 runs (their "% of FMA peak" is taken
     against the peak of their own round: share_of_peak says why; a round whose two peaks
     disagree is run again: w3_round);
  2. BUILD/bench/cnnkit_bench: W1 (--epochs epochs, and one epoch on 1 thread for the scaling
     figure), W2 and W3 at --threads;
  3. ../shared/bench/torch_ref.py with Debian's /usr/bin/python3 at its best 2-core setting
     (--threads N --blas-threads 1 --malloc-keep): the same workloads.
  4. with --workloads (all by default; compare_next.py): W4's throughput, W5 and W6 (cnnkit
     bench against ../shared/bench/torch_next.py), batch-1 latency of W1, W5 and W6 on one
     thread (W1's PyTorch side: bench/torch_latency.py), the convolution sweep (sweep_cases.py,
     cnnkit_conv_sweep, torch_sweep.py) and W1 training beside a busy core; --simd holds both
     frameworks to one SIMD level.
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
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_next  # noqa: E402  (beside this file)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), "shared")
TINY_DNN_INFER = 26000.0  # images/s, W1 inference, quoted in issue 4 (tiny-dnn, TBB, AVX2)


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


def fma_peak(runner, build, tag=""):
    binary = os.path.join(build, "fma_peak")
    source = os.path.join(runner.args.shared, "bench", "fma_peak.cpp")
    if not os.path.exists(binary) or os.path.getmtime(binary) < os.path.getmtime(source):
        subprocess.run(["g++", "-O2", "-march=native", "-pthread", source, "-o", binary], check=True)
    lines = runner.run("fma_peak" + tag, [binary, "7"], parse_json=False)
    peak = {}
    for line in lines:
        parts = line.split()
        if len(parts) > 3 and parts[0].startswith("threads=") and parts[1].startswith("fma"):
            threads = int(parts[0].split("=")[1])
            peak[threads] = max(peak.get(threads, 0.0), float(parts[3]))
    return peak  # threads -> GFLOP/s (the wider of fma256 / fma512)


def scaling(two_thread_rounds, one_thread_rounds):
    """W1's scaling: in each round, the median epoch's images/s on --threads threads over the
    one-thread epoch of the same round, and the median of those ratios. Like a share of the
    peak (share_of_peak), a ratio is taken within one round, seconds apart: the ratio of the
    two medians can set a fast minute's figure over a slow minute's."""
    ratios = []
    for two, single in zip(two_thread_rounds, one_thread_rounds):
        many = statistics.median([r["train_images_per_s"] for r in two])
        one = statistics.median([r["train_images_per_s"] for r in single])
        ratios.append(many / one)
    return ratios, statistics.median(ratios)


def steady_peak(before, after, threads, tolerance):
    """Whether the machine held still from one FMA peak measurement to the next: the peak on
    `threads` threads the same (within `tolerance`) both times, and each time `threads` times
    the one-thread peak of the same run (within `tolerance`). A host that takes a core away
    passes quiet_run (the guest sees no other process) but shows here: a 2-thread peak of 232
    GFLOP/s, the 1-thread figure, once between two of 443 and 460."""
    def scaled(peak):
        many, one = peak.get(threads), peak.get(1)
        return many is not None and one is not None and many >= (1 - tolerance) * threads * one
    many_before, many_after = before.get(threads), after.get(threads)
    if not many_before or not many_after or not scaled(before) or not scaled(after):
        return False
    return abs(many_after - many_before) <= tolerance * max(many_before, many_after)


def w3_round(runner, args, cmd, torch_commands, tag):
    """One round of W3, cnnkit then PyTorch, between two FMA peak measurements. The "% of FMA
    peak" rows need the machine in the same state during the peak and during the kernels; when
    the two peaks disagree (steady_peak) the round is run again, up to --w3-tries times, and the
    notes say so. The round's peak is the higher of the two (the share is not flattered by a
    dip)."""
    before = fma_peak(runner, args.build, tag)
    for attempt in range(1, args.w3_tries + 1):
        again = f" attempt {attempt}" if attempt > 1 else ""  # the raw lines tell them apart
        ours = runner.run("cnnkit w3" + tag + again, cmd)
        theirs = None
        if not args.skip_torch:
            theirs = runner.run(f"torch w3{tag}{again}", torch_commands["w3"])
        after = fma_peak(runner, args.build, tag + " after W3")
        peak = max(before.get(args.threads) or max(before.values()),
                   after.get(args.threads) or max(after.values()))
        if steady_peak(before, after, args.threads, args.peak_tolerance):
            return ours, theirs, peak
        threads = " and ".join(str(k) for k in sorted(after))
        text = lambda p: ", ".join(f"{v:.0f}" for _, v in sorted(p.items()))
        runner.notes.append(f"W3{tag}, attempt {attempt}: the FMA peak moved (GFLOP/s on "
                            f"{threads} threads: before {text(before)}, after {text(after)})"
                            + ("; run again" if attempt < args.w3_tries else "; kept anyway"))
        before = after
    return ours, theirs, peak


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


def share_of_peak(gflops_by_round, peaks_by_round):
    """Percent of the FMA peak: each round's GFLOP/s over the peak measured around that
    round's W3 runs, the median over the rounds. The host of a shared VM runs faster and slower
    for minutes at a time (fma_peak itself 460-520 GFLOP/s on 2 threads within a day), so a
    share needs its peak from the same minutes, as a ratio against PyTorch needs PyTorch's run
    from the same round."""
    shares = [100.0 * g / p for g, p in zip(gflops_by_round, peaks_by_round) if g and p]
    return statistics.median(shares) if shares else None


def combine(rounds, key):
    """One result list from several rounds of the same command: results matched by `key` (e.g.
    the epoch or the W3 case), each numeric field the median over the rounds."""
    if not rounds:
        return []
    combined = []
    for first in rounds[0]:
        same = [r for results in rounds for r in results if r.get(key) == first.get(key)]
        merged = dict(first)
        for field, value in first.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and field != key:
                values = [r[field] for r in same if isinstance(r.get(field), (int, float))]
                merged[field] = statistics.median(values)
        combined.append(merged)
    return combined


def by(results, **match):
    return [r for r in results if all(r.get(k) == v for k, v in match.items())]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def accuracies(main_run, seed_runs, epoch):
    """W1 test accuracy after `epoch` epochs: the main run's seed first, then one per seed run."""
    runs = [main_run] + list(seed_runs)
    return [r["test_accuracy"] for run in runs for r in run if r["epoch"] == epoch]


def spread(values):
    if len(values) < 2:
        return None
    return f"{statistics.mean(values):.4f} +- {statistics.stdev(values):.4f}"


def welch_t(a, b):
    """Welch's t statistic of mean(a) - mean(b) (unequal variances); None without two of each."""
    if len(a) < 2 or len(b) < 2:
        return None
    se = (statistics.variance(a) / len(a) + statistics.variance(b) / len(b)) ** 0.5
    diff = statistics.mean(a) - statistics.mean(b)
    return diff / se if se > 0 else (0.0 if diff == 0 else float("inf") * diff)


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


def reference_workloads(runner, args, table, peak):
    """W1-W3 (docs/WORKLOADS.md): the rounds, the accuracy seeds and their rows."""
    bench = os.path.join(args.build, "bench", "cnnkit_bench")
    torch_ref = os.path.join(args.shared, "bench", "torch_ref.py")
    t, e, s = str(args.threads), str(args.epochs), str(args.seed)

    commands = {
        "w1": [bench, "--workload", "w1", "--threads", t, "--epochs", e, "--seed", s],
        "w1_1t": [bench, "--workload", "w1", "--threads", "1", "--epochs", "1", "--seed", s],
        "w2": [bench, "--workload", "w2", "--threads", t, "--seed", s],
        "w3": [bench, "--workload", "w3", "--threads", t, "--seed", s],
    }
    best = ["--threads", t, "--blas-threads", "1", "--malloc-keep", "--seed", s]
    torch_commands = {w: ["/usr/bin/python3", torch_ref, "--workload", w] + best
                      + (["--epochs", e] if w == "w1" else []) for w in ("w1", "w2", "w3")}
    ours_rounds = {name: [] for name in commands}
    theirs_rounds = {w: [] for w in torch_commands}
    w3_peaks = []  # per round: the FMA peak on --threads threads around its W3 runs
    for round_index in range(1, args.rounds + 1):
        tag = f" (round {round_index}/{args.rounds})" if args.rounds > 1 else ""
        # cnnkit's one-thread W1 epoch straight after its 2-thread run, PyTorch's W1 after both:
        # the scaling is a ratio of two runs seconds apart, not across PyTorch's half minute.
        for name in ("w1", "w1_1t", "torch w1", "w2", "torch w2", "w3"):
            if name == "w3":
                ours_w3, theirs_w3, round_peak = w3_round(runner, args, commands[name],
                                                          torch_commands, tag)
                ours_rounds[name].append(ours_w3)
                if theirs_w3 is not None:
                    theirs_rounds[name].append(theirs_w3)
                w3_peaks.append(round_peak)
            elif name.startswith("torch "):
                workload = name.split()[1]
                if not args.skip_torch:
                    theirs_rounds[workload].append(
                        runner.run(name + tag, torch_commands[workload]))
            else:
                label = "cnnkit " + name.replace("_1t", " 1 thread")
                ours_rounds[name].append(runner.run(label + tag, commands[name]))
    # W1's accuracy over more seeds (the seed of the rounds is the first): each seed once, as a
    # run is the same bits every time for cnnkit (and its accuracy is all that is read).
    seed_runs = {"cnnkit": [], "torch": []}
    accuracy_epochs = str(max(3, args.epochs))
    for extra in range(args.seed + 1, args.seed + max(args.accuracy_seeds, 1)):
        seed_cmd = commands["w1"][:-4] + ["--epochs", accuracy_epochs, "--seed", str(extra)]
        seed_runs["cnnkit"].append(runner.run(f"cnnkit w1 seed {extra}", seed_cmd))
        if not args.skip_torch:
            torch_cmd = torch_commands["w1"][:]
            torch_cmd[torch_cmd.index("--seed") + 1] = str(extra)
            torch_cmd[torch_cmd.index("--epochs") + 1] = accuracy_epochs
            seed_runs["torch"].append(runner.run(f"torch w1 seed {extra}", torch_cmd))
    keys = {"w1": "epoch", "w1_1t": "epoch", "w2": "workload", "w3": "case"}
    ours = {name: combine(rounds, keys[name]) for name, rounds in ours_rounds.items()}
    theirs = {w: combine(rounds, keys[w]) for w, rounds in theirs_rounds.items()}

    median = lambda xs: statistics.median(xs) if xs else None
    # ---- W1
    w1, tw1 = ours["w1"], theirs["w1"]
    train = median([r["train_images_per_s"] for r in w1])
    ttrain = median([r["train_images_per_s"] for r in tw1])
    table.add("W1 training, images/s (>= 2x PyTorch)", train, ttrain,
              train / ttrain if ttrain else None, ">= 2", train / ttrain >= 2 if ttrain else None)
    infer = median([r["infer_images_per_s"] for r in w1])
    tinfer = median([r["infer_images_per_s"] for r in tw1])
    best_peer = max(tinfer or 0.0, TINY_DNN_INFER)
    table.add(f"W1 inference, images/s (>= 2x best peer: max(PyTorch, tiny-dnn {TINY_DNN_INFER:,.0f}))",
              infer, tinfer, infer / best_peer, ">= 2", infer / best_peer >= 2)
    for epoch, need in ((1, 0.86), (3, 0.89)):
        acc = next((r["test_accuracy"] for r in w1 if r["epoch"] == epoch), None)
        tacc = next((r["test_accuracy"] for r in tw1 if r["epoch"] == epoch), None)
        table.add(f"W1 test accuracy after {epoch} epoch(s)", acc, tacc, None, f">= {need}",
                  None if acc is None else acc >= need)
    if seed_runs["cnnkit"]:
        # "The same accuracy" as PyTorch's: the means over the seeds, not significantly lower
        # (the one-seed rows above keep the thresholds).
        for epoch in (1, 3):
            ours_acc = accuracies(w1, seed_runs["cnnkit"], epoch)
            theirs_acc = accuracies(tw1, seed_runs["torch"], epoch) if tw1 else []
            t_stat = welch_t(ours_acc, theirs_acc)
            table.add(f"W1 test accuracy after {epoch} epoch(s), mean +- sd over "
                      f"{len(ours_acc)} seeds (ratio: Welch's t of cnnkit - PyTorch)",
                      spread(ours_acc), spread(theirs_acc), t_stat, "not below PyTorch's (t > -2)",
                      None if t_stat is None else t_stat > -2)
            runner.notes.append(f"W1 test accuracy after {epoch} epoch(s), seed by seed from "
                                f"{args.seed}: cnnkit {ours_acc}, PyTorch {theirs_acc}")
    one = median([r["train_images_per_s"] for r in ours["w1_1t"]])
    per_round, scale = scaling(ours_rounds["w1"], ours_rounds["w1_1t"])
    if args.rounds > 1:
        runner.notes.append("W1 training scaling round by round (each round's 2-thread median "
                            "epoch / its 1-thread epoch): "
                            + ", ".join(f"{x:.3f}" for x in per_round)
                            + f"; the ratio of the two medians instead: {train / one:.3f}")
    table.add(f"W1 training scaling, images/s on {t} threads / on 1 thread (cnnkit; ratio: "
              "the median of the rounds' ratios)",
              f"{train:,.0f} / {one:,.0f}", None, scale, ">= 1.8", scale >= 1.8)
    rss = max(r["wrapped_peak_rss_mb"] for r in w1)
    trss = max((r["wrapped_peak_rss_mb"] for r in tw1), default=None)
    table.add("W1 training peak memory, MiB (<= 1/3 of PyTorch's)", rss, trss,
              rss / trss if trss else None, "<= 0.333", rss / trss <= 1 / 3 if trss else None)
    # ---- W2
    w2 = ours["w2"][0]
    tw2 = theirs["w2"][0] if theirs["w2"] else None
    table.add("W2 200 iterations, s (PyTorch time / cnnkit time)", w2["wall_s"],
              tw2 and tw2["wall_s"], tw2 and tw2["wall_s"] / w2["wall_s"], ">= 2",
              tw2 and tw2["wall_s"] / w2["wall_s"] >= 2)
    table.add("W2 test accuracy", w2["test_accuracy"], tw2 and tw2["test_accuracy"], None,
              ">= 0.93", w2["test_accuracy"] >= 0.93)
    # ---- W3
    peak_n = peak.get(args.threads) or max(peak.values())
    peaks_text = ", ".join(f"{p:.0f}" for p in w3_peaks)
    for case in ("a", "b", "c", "d"):
        r = by(ours["w3"], case=case)[0]
        tr = (by(theirs["w3"], case=case) or [None])[0]
        for direction in ("forward", "backward"):
            ms = r[f"ms_{direction}"]
            tms = tr and tr[f"ms_{direction}"]
            table.add(f"W3 {case} {direction}, ms (PyTorch ms / cnnkit ms)", ms, tms,
                      tms and tms / ms, ">= 1", tms and tms / ms >= 1)
        if case in ("c", "d"):
            for direction in ("forward", "backward"):
                field = f"gflops_{direction}"
                share = share_of_peak([by(rs, case=case)[0][field] for rs in ours_rounds["w3"]],
                                      w3_peaks)
                tshare = share_of_peak(
                    [by(rs, case=case)[0][field] for rs in theirs_rounds["w3"]], w3_peaks)
                table.add(f"W3 {case} {direction}, % of FMA peak (each round's: {peaks_text} "
                          "GFLOP/s)", share, tshare, None, ">= 85%", share >= 85)
                runner.notes.append(f"W3 {case} {direction} against the first peak "
                                    f"({peak_n:.0f} GFLOP/s) instead: "
                                    f"cnnkit {100 * r[field] / peak_n:.1f} %"
                                    + (f", PyTorch {100 * tr[field] / peak_n:.1f} %" if tr else ""))



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
        compare_next.w4_accuracy(runner, args, table, welch_t, spread)

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
