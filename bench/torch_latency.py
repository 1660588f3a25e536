#!/usr/bin/python3
"""Batch-1 inference latency of W1 (LeNet-5 on 28x28 grey images) in PyTorch: the figure that
../shared/bench/torch_ref.py does not print (its W4-W6 twin, torch_next.py, does). The network,
the initialisation and the timing are those of the reference scripts: eval mode, no_grad, the
median of 300 single-sample forwards after 30 warm-ups. One JSON line.

    /usr/bin/python3 bench/torch_latency.py --threads 1
"""
import argparse
import json
import os
import statistics
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
os.environ["OMP_NUM_THREADS"] = str(args.threads)
os.environ["OPENBLAS_NUM_THREADS"] = "1"
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
model = nn.Sequential(
    nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
    nn.Conv2d(6, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
    nn.Flatten(), nn.Linear(784, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
    nn.Linear(84, 10), nn.Softmax(dim=1))
for m in model.modules():
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
        nn.init.constant_(m.bias, 0.1)
model.eval()
x = torch.randn(1, 1, 28, 28)
times = []
with torch.no_grad():
    for _ in range(30):
        model(x)
    for _ in range(300):
        start = time.perf_counter()
        model(x)
        times.append(time.perf_counter() - start)
print(json.dumps({"workload": "w1", "threads": args.threads,
                  "latency_us_batch1": round(statistics.median(times) * 1e6, 1)}))
