#!/usr/bin/python3
"""Grouped, depthwise and dilated convolutions: cnnkit's Conv layer against PyTorch's.

Usage: /usr/bin/python3 bench/conv_options_compare.py --bench build/bench/cnnkit_conv_options_bench
           [--threads N] [--repeats R] [--quick]

Both frameworks run the shapes of bench/conv_options_shapes.json on the same thread count: one
training step (forward, then backward with the input error and the weight and bias gradients)
and one inference forward (torch.no_grad), median milliseconds over the repeats after a warm-up.
PyTorch pads with its own padding argument (the shapes use symmetric or "valid" padding, where
both mean the same). Prints one line per shape with the ratio torch / cnnkit (above 1: cnnkit is
faster). --quick runs batch 2 and one repeat, only to check that everything works.
"""
import argparse
import json
import os
import statistics
import subprocess
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def median_ms(repeats, work):
    work()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def torch_times(shape, repeats, quick):
    dims = list(shape["input"])
    if quick:
        dims[0] = 2
    one_d = len(dims) == 3
    conv = F.conv1d if one_d else F.conv2d
    groups = shape["groups"]
    x = torch.rand(dims, dtype=torch.float32).requires_grad_(True)
    w = torch.rand([shape["kernels"], dims[1] // groups] + shape["kernel"]).requires_grad_(True)
    b = torch.rand([shape["kernels"]]).requires_grad_(True)
    stride = shape["stride"] * (1 if one_d or len(shape["stride"]) == 2 else 2)
    dilation = shape["dilation"] * (1 if one_d or len(shape["dilation"]) == 2 else 2)
    padding = 0 if shape["padding"] == "valid" else shape["padding"]
    run = lambda t: conv(t, w, b, stride=stride, padding=padding, dilation=dilation,
                         groups=groups)
    error = torch.full_like(run(x), 0.01)

    def step():
        x.grad = w.grad = b.grad = None
        run(x).backward(error)

    def infer():
        with torch.no_grad():
            run(x)

    return median_ms(repeats, step), median_ms(repeats, infer)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bench", default=os.path.join(HERE, "..", "build", "bench",
                                                        "cnnkit_conv_options_bench"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    torch.set_num_threads(args.threads)
    with open(os.path.join(HERE, "conv_options_shapes.json")) as f:
        shapes = json.load(f)
    command = [args.bench, "--threads", str(args.threads), "--repeats", str(repeats)]
    if args.quick:
        command.append("--quick")
    lines = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    ours = {r["name"]: r for r in map(json.loads, lines.splitlines())}
    print("%-50s %12s %12s %7s %12s %12s %7s" % ("shape", "cnnkit train", "torch train",
                                                   "ratio", "cnnkit infer", "torch infer",
                                                   "ratio"))
    for shape in shapes:
        train, infer = torch_times(shape, repeats, args.quick)
        mine = ours[shape["name"]]
        print("%-50s %9.3f ms %9.3f ms %7.2f %9.3f ms %9.3f ms %7.2f" % (
            shape["name"], mine["train_ms"], train, train / mine["train_ms"],
            mine["inference_ms"], infer, infer / mine["inference_ms"]))


if __name__ == "__main__":
    main()
