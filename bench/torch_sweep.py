#!/usr/bin/python3
"""The convolution sweep, PyTorch's side: times torch.nn.functional.conv1d/conv2d forward and
backward on each geometry of a cases file (bench/sweep_cases.py) and prints one JSON line per
case, with the field names of cnnkit_conv_sweep.

    /usr/bin/python3 bench/torch_sweep.py --cases cases.json --threads 2 [--repeats 5] \
        [--only s01,s32]

cnnkit pads "same" inside the layer ((k-1)/2 before and k/2 after each spatial axis, then the
stride), which PyTorch 1.13 refuses with strides; so the input is padded with F.pad before the
timer starts and the convolution runs with padding 0, which gives the same output. Backward
computes the input, weight and bias gradients, as cnnkit's does. Each figure is the median of
--repeats timed calls after one untimed call.
"""
import argparse
import json
import os
import statistics
import sys
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--cases", required=True)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--blas-threads", type=int, default=1)
parser.add_argument("--repeats", type=int, default=5)
parser.add_argument("--only", default="", help="comma-separated case names to time alone")
args = parser.parse_args()
os.environ["OMP_NUM_THREADS"] = str(args.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)


def time_case(case):
    gen = torch.Generator().manual_seed(0)
    dims = len(case["size"])
    x = torch.randn(case["batch"], case["channels"], *case["size"], generator=gen)
    pads = []
    for k in reversed(case["kernel"]):  # F.pad takes the last axis first
        pads += [(k - 1) // 2, k // 2]
    x = F.pad(x, pads).requires_grad_(True)
    w = torch.randn(case["kernels"], case["channels"], *case["kernel"], generator=gen,
                    requires_grad=True)
    b = torch.randn(case["kernels"], generator=gen, requires_grad=True)
    conv = F.conv1d if dims == 1 else F.conv2d
    stride = case["stride"][0] if dims == 1 else tuple(case["stride"])
    forward_ms, backward_ms = [], []
    for call in range(args.repeats + 1):
        x.grad = w.grad = b.grad = None
        start = time.perf_counter()
        y = conv(x, w, b, stride=stride)
        forward = 1e3 * (time.perf_counter() - start)
        error = torch.randn(y.shape, generator=gen) if call == 0 else error
        start = time.perf_counter()
        y.backward(error)
        backward = 1e3 * (time.perf_counter() - start)
        if call > 0:
            forward_ms.append(forward)
            backward_ms.append(backward)
    return statistics.median(forward_ms), statistics.median(backward_ms)


with open(args.cases) as f:
    cases = json.load(f)
only = set(filter(None, args.only.split(",")))
for case in cases:
    if only and case["name"] not in only:
        continue
    fwd, bwd = time_case(case)
    print(json.dumps({"case": case["name"], "threads": args.threads, "ms_forward": round(fwd, 4),
                      "ms_backward": round(bwd, 4)}), flush=True)
