"""The workloads beyond W1-W3 for bench/compare.py: W5 and W6 (docs/WORKLOADS.md), the
convolution sweep (bench/sweep_cases.py, cnnkit_conv_sweep, bench/torch_sweep.py) and training
beside a busy core. Each function runs its commands through compare.py's Runner (so --quiet and
the rounds apply) and adds its rows to the table.
"""
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sweep_cases import MAX_FORWARD_FLOP, draw_cases, forward_flop  # noqa: E402,F401
from compare_reference import spread, welch_t  # noqa: E402

# name -> (preset or model file in bench/models, training batch, inference batch, what else
# torch_next.py is given). W4's PyTorch side trains on Fashion-MNIST with augmentation outside
# the clock; 60 iterations are enough for its throughput (its accuracy takes whole epochs).
NEXT_WORKLOADS = {
    "w4": ("fashion-resnet", 128, 1000, ["--epochs", "1", "--max-iterations", "60"]),
    "w5": ("w5-speech-1d.json", 64, 512, []),
    "w6": ("w6-rgb-64.json", 64, 512, []),
}


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def next_workloads(runner, args, table, workloads):
    """W4, W5 and W6: training and inference images/s at the workload's batches and batch-1
    latency, cnnkit on --threads threads (latency on one thread) against PyTorch's best setting
    (latency on one thread too), alternating, each figure the median over the rounds. cnnkit
    times its step on synthetic data of the input's shape (augmentation is not timed on either
    side)."""
    cli = os.path.join(args.build, "tools", "cnnkit")
    torch_next = os.path.join(args.shared, "bench", "torch_next.py")
    t, s = str(args.threads), str(args.seed)
    for workload in workloads:
        model, batch, infer_batch, torch_extra = NEXT_WORKLOADS[workload]
        if model.endswith(".json"):
            model = os.path.join(HERE, "models", model)
        bench = [cli, "bench", "--model", model, "--json",
                 "--batch", str(batch), "--infer-batch", str(infer_batch), "--warmup", "5",
                 "--iterations", "40", "--repeats", "3"]
        ours_cmd = bench + ["--threads", t]
        latency_cmd = bench[:-6] + ["--iterations", "1", "--repeats", "1", "--threads", "1",
                                    "--latency"]
        torch_cmd = ["/usr/bin/python3", torch_next, "--workload", workload, "--threads", t,
                     "--blas-threads", "1", "--malloc-keep", "--seed", s] + torch_extra
        torch_latency_cmd = torch_cmd[:]
        torch_latency_cmd[torch_latency_cmd.index("--threads") + 1] = "1"
        ours, latency, theirs, theirs_latency = [], [], [], []
        for round_index in range(1, args.rounds + 1):
            tag = f" (round {round_index}/{args.rounds})" if args.rounds > 1 else ""
            ours += runner.run(f"cnnkit {workload}{tag}", ours_cmd)
            latency += runner.run(f"cnnkit {workload} latency 1 thread{tag}", latency_cmd)
            if not args.skip_torch:
                theirs += runner.run(f"torch {workload}{tag}", torch_cmd)
                theirs_latency += runner.run(f"torch {workload} 1 thread{tag}",
                                             torch_latency_cmd)
        name = workload.upper()
        for field, label in (("train_images_per_s", f"training (batch {batch})"),
                             ("infer_images_per_s", f"inference (batch {infer_batch})")):
            mine = median([r.get(field) for r in ours])
            peer = median([r.get(field) for r in theirs])
            ratio = mine / peer if peer else None
            table.add(f"{name} {label}, images/s (>= 2x PyTorch)", mine, peer, ratio, ">= 2",
                      ratio >= 2 if ratio else None)
        mine = median([r.get("latency_us_batch1") for r in latency])
        peer = median([r.get("latency_us_batch1") for r in theirs_latency])
        ratio = peer / mine if peer else None
        table.add(f"{name} batch-1 latency on 1 thread, us (PyTorch us / cnnkit us)", mine, peer,
                  ratio, ">= 2", ratio >= 2 if ratio else None)
        faults = median([r.get("infer_minor_faults_per_batch") for r in ours])
        runner.notes.append(f"{name} inference at batch {infer_batch}: {faults} minor page "
                            "faults per batch (cnnkit)")


def conv_sweep(runner, args, table):
    """The sweep: every geometry forward and backward, cnnkit and PyTorch alternating for
    max(5, --rounds) rounds, each figure the median over them; one row per direction with the
    slowest case and the geometric mean, and every case in the notes."""
    cases = draw_cases(args.sweep_cases, args.seed)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(cases, f)
        cases_path = f.name
    sweep = os.path.join(args.build, "bench", "cnnkit_conv_sweep")
    ours_cmd = [sweep, "--cases", cases_path, "--threads", str(args.threads)]
    torch_cmd = ["/usr/bin/python3", os.path.join(HERE, "torch_sweep.py"), "--cases", cases_path,
                 "--threads", str(args.threads), "--blas-threads", "1"]
    ours, theirs = {}, {}
    rounds = max(5, args.rounds)
    try:
        for round_index in range(1, rounds + 1):
            tag = f" (round {round_index}/{rounds})"
            for r in runner.run("cnnkit sweep" + tag, ours_cmd):
                ours.setdefault(r["case"], []).append(r)
            if not args.skip_torch:
                for r in runner.run("torch sweep" + tag, torch_cmd):
                    theirs.setdefault(r["case"], []).append(r)
    finally:
        os.unlink(cases_path)
    for direction in ("forward", "backward"):
        field = f"ms_{direction}"
        ratios = []
        for case in cases:
            mine = median([r[field] for r in ours.get(case["name"], [])])
            peer = median([r[field] for r in theirs.get(case["name"], [])])
            if mine and peer:
                ratios.append((peer / mine, case, mine, peer))
        if not ratios:
            continue
        geomean = math.exp(sum(math.log(r[0]) for r in ratios) / len(ratios))
        worst = min(ratios, key=lambda r: r[0])
        table.add(f"Sweep {direction}, {len(ratios)} geometries: geometric mean of PyTorch ms / "
                  "cnnkit ms", None, None, geomean, ">= 1.5", geomean >= 1.5)
        table.add(f"Sweep {direction}: slowest case {worst[1]['name']} (PyTorch ms / cnnkit ms)",
                  worst[2], worst[3], worst[0], ">= 1", worst[0] >= 1)
        for ratio, case, mine, peer in ratios:
            geometry = (f"N{case['batch']} C{case['channels']} K{case['kernels']} "
                        f"size {'x'.join(map(str, case['size']))} kernel "
                        f"{'x'.join(map(str, case['kernel']))} stride "
                        f"{'x'.join(map(str, case['stride']))}")
            runner.notes.append(f"sweep {case['name']} {direction} ({geometry}): cnnkit "
                                f"{mine:.3f} ms, PyTorch {peer:.3f} ms, {ratio:.2f}x")


def busy_core(runner, args, table):
    """W1's model (fashion-lenet) training beside a busy loop pinned to the last core: --threads
    and the default (0: all cores) against one thread. Not under quiet_run (the busy loop is the
    point), alternating, the median over max(3, --rounds) rounds of each round's ratio."""
    cli = os.path.join(args.build, "tools", "cnnkit")
    last_core = str(os.cpu_count() - 1)
    busy = subprocess.Popen(["taskset", "-c", last_core, "sh", "-c", "while :; do :; done"])
    ratios = {args.threads: [], 0: []}
    rates = {1: [], args.threads: [], 0: []}
    try:
        for _ in range(max(3, args.rounds)):
            measured = {}
            for threads in (1, args.threads, 0):
                cmd = [cli, "bench", "--model", "fashion-lenet", "--threads", str(threads),
                       "--iterations", "20", "--repeats", "3", "--json"]
                out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True).stdout
                measured[threads] = json.loads(out.strip().splitlines()[-1])["train_images_per_s"]
                rates[threads].append(measured[threads])
            for threads in ratios:
                ratios[threads].append(measured[threads] / measured[1])
    finally:
        busy.kill()
        busy.wait()
    for threads, label in ((args.threads, f"--threads {args.threads}"), (0, "the default")):
        ratio = median(ratios[threads])
        table.add(f"W1 training beside a busy core, {label} / --threads 1 (cnnkit)",
                  median(rates[threads]), None, ratio, ">= 0.9", ratio >= 0.9)
    runner.notes.append("busy core, images/s per round: " + "; ".join(
        f"threads {t}: " + ", ".join(f"{v:,.0f}" for v in rates[t]) for t in rates))


def w1_latency(runner, args, table):
    """W1's batch-1 inference latency on one thread: `cnnkit bench --latency` against
    bench/torch_latency.py (the reference scripts' LeNet-5 and timing), alternating, the median
    over the rounds."""
    cli = os.path.join(args.build, "tools", "cnnkit")
    ours_cmd = [cli, "bench", "--model", "fashion-lenet", "--threads", "1", "--iterations", "1",
                "--repeats", "1", "--latency", "--json"]
    torch_cmd = ["/usr/bin/python3", os.path.join(HERE, "torch_latency.py"), "--threads", "1"]
    ours, theirs = [], []
    for round_index in range(1, args.rounds + 1):
        tag = f" (round {round_index}/{args.rounds})" if args.rounds > 1 else ""
        ours += runner.run("cnnkit w1 latency 1 thread" + tag, ours_cmd)
        if not args.skip_torch:
            theirs += runner.run("torch w1 latency 1 thread" + tag, torch_cmd)
    mine = median([r.get("latency_us_batch1") for r in ours])
    peer = median([r.get("latency_us_batch1") for r in theirs])
    ratio = peer / mine if peer else None
    table.add("W1 batch-1 latency on 1 thread, us (PyTorch us / cnnkit us)", mine, peer, ratio,
              ">= 2", ratio >= 2 if ratio else None)


def w4_accuracy(runner, args, table):
    """W4's test accuracy after 3 epochs over --accuracy-seeds seeds (at least 5), both
    frameworks on the same recipe (AdamW, cosine schedule, batch 128, crop and flip), compared
    as two means by Welch's t. Accuracy is not a timing, so these runs are not held to a quiet
    machine: `cnnkit train` writes the epoch's test accuracy to its run folder's metrics.csv, and
    torch_next.py prints it as a JSON line per epoch."""
    cli = os.path.join(args.build, "tools", "cnnkit")
    torch_next = os.path.join(args.shared, "bench", "torch_next.py")
    seeds = range(args.seed, args.seed + max(5, args.accuracy_seeds))
    ours, theirs = [], []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as out:
            cmd = [cli, "train", "--model", "fashion-resnet", "--epochs", "3", "--seed", str(seed),
                   "--threads", str(args.threads), "--out", out]
            print(f"# running cnnkit w4 accuracy seed {seed}: {' '.join(cmd)}", file=sys.stderr,
                  flush=True)
            subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
            with open(os.path.join(out, "metrics.csv")) as f:
                rows = [line.strip().split(",") for line in f][1:]
            ours.append(float(rows[-1][4]))
        if not args.skip_torch:
            cmd = ["/usr/bin/python3", torch_next, "--workload", "w4", "--epochs", "3",
                   "--seed", str(seed), "--threads", str(args.threads), "--blas-threads", "1",
                   "--malloc-keep"]
            print(f"# running torch w4 accuracy seed {seed}: {' '.join(cmd)}", file=sys.stderr,
                  flush=True)
            out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True).stdout
            epochs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
            theirs.append(next(r["test_accuracy"] for r in epochs if r.get("epoch") == 3))
    t_stat = welch_t(ours, theirs)
    table.add(f"W4 test accuracy after 3 epochs, mean +- sd over {len(ours)} seeds (ratio: "
              "Welch's t of cnnkit - PyTorch)", spread(ours), spread(theirs), t_stat,
              "equal within noise (|t| < 2)", None if t_stat is None else abs(t_stat) < 2)
    runner.notes.append(f"W4 test accuracy after 3 epochs, seed by seed from {args.seed}: "
                        f"cnnkit {ours}, PyTorch {theirs}")


def simd_environment(level):
    """The environment that holds both frameworks to one SIMD level: cnnkit's CNNKIT_SIMD, and
    PyTorch's ATen dispatch and oneDNN ISA caps (None: leave both free)."""
    if level is None:
        return {}
    aten = {"avx512": "avx512", "avx2": "avx2", "none": "default"}[level]
    onednn = {"avx512": "AVX512_CORE", "avx2": "AVX2", "none": "SSE41"}[level]
    return {"CNNKIT_SIMD": level, "ATEN_CPU_CAPABILITY": aten, "ONEDNN_MAX_CPU_ISA": onednn}
