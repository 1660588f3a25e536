#!/usr/bin/env python3
"""The speed of the Python package against the C++ tool, the issue's two figures:

  fit      Model.fit on numpy arrays against `cnnkit train` on the same data set: images/s of an
           epoch (the trainer's own epoch clock on both sides, which includes the epoch's
           evaluation of the test set, the same work on both sides).
  predict  Model.predict on the first --predict-count test images (batches of --predict-batch)
           against `cnnkit bench --stream`'s inference images/s over as many distinct samples in
           batches of the same size: both copy each batch from one array of all samples into a
           reused input tensor and the prediction out, so both stream the input from memory
           (`cnnkit bench` without --stream times one cached batch, which is not what predict
           does). Both the median of five timed passes after warm-up ones.

Each figure is the median of --repeats runs, Python and C++ alternating, in this one process
tree; the ratio python/C++ should be at least 0.95. Run it on a quiet machine (the machines are
shared: a busy neighbour moves the figures by far more than 5%) and report the figures in
docs/PERFORMANCE.md.

  PYTHONPATH=build/python python3 python/bench/fit_predict_speed.py --cli build/tools/cnnkit
  (W1: --model fashion-lenet --data fashion-mnist, the defaults; a quick look: --model digits-cnn
  --data digits --predict-count 599)
"""

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import cnnkit


def load(data):
    if data == "digits":
        return cnnkit.load_digits()
    if data == "fashion-mnist":
        return cnnkit.load_fashion_mnist()
    raise SystemExit(f"fit_predict_speed: expected --data digits or fashion-mnist, got {data}")


def tool_epoch_rate(args, count):
    """images/s of the last epoch of `cnnkit train`, from its metrics.csv."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([args.cli, "train", "--model", args.model, "--data", args.data,
                        "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
                        "--seed", "0", "--threads", str(args.threads), "--out", out],
                       check=True, capture_output=True, text=True)
        with open(Path(out) / "metrics.csv", newline="") as metrics:
            seconds = float(list(csv.DictReader(metrics))[-1]["seconds"])
    return count / seconds


def python_epoch_rate(args, train, test):
    (x, y, names), (tx, ty, _) = train, test
    model = cnnkit.Model(args.model, seed=0)
    model.classes = names
    history = model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size,
                        validation_data=(tx, ty), verbose=False)
    return len(x) / history["seconds"][-1]


def tool_inference_rate(args, count):
    output = subprocess.run([args.cli, "bench", "--model", args.model, "--batch",
                             str(args.predict_batch), "--iterations", "1", "--stream",
                             str(count), "--warmup", "1", "--repeats", "5",
                             "--threads", str(args.threads), "--json"],
                            check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])["infer_images_per_s"]


def python_inference_rate(args, model, x):
    """As `cnnkit bench --stream` times inference: a warm-up pass, then the median of five."""
    model.predict(x, batch_size=args.predict_batch)
    seconds = []
    for _ in range(5):
        start = time.perf_counter()
        model.predict(x, batch_size=args.predict_batch)
        seconds.append(time.perf_counter() - start)
    return len(x) / statistics.median(seconds)


def report(name, python_rates, tool_rates):
    ours, theirs = statistics.median(python_rates), statistics.median(tool_rates)
    print(json.dumps({"figure": name, "python_images_per_s": round(ours, 1),
                      "cnnkit_images_per_s": round(theirs, 1), "ratio": round(ours / theirs, 4),
                      "python_runs": [round(r, 1) for r in python_rates],
                      "cnnkit_runs": [round(r, 1) for r in tool_rates]}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", required=True, help="the cnnkit tool (build/tools/cnnkit)")
    parser.add_argument("--model", default="fashion-lenet")
    parser.add_argument("--data", default="fashion-mnist", help="fashion-mnist or digits")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="0: all cores")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--predict-count", type=int, default=10000)
    parser.add_argument("--predict-batch", type=int, default=1000)
    parser.add_argument("--skip-fit", action="store_true", help="only the predict figure")
    args = parser.parse_args()

    cnnkit.set_num_threads(args.threads)
    train, test = load(args.data)
    if not args.skip_fit:
        python_rates, tool_rates = [], []
        for _ in range(args.repeats):
            tool_rates.append(tool_epoch_rate(args, len(train[0])))
            python_rates.append(python_epoch_rate(args, train, test))
        report(f"fit {args.model} on {args.data}, batch {args.batch_size}", python_rates,
               tool_rates)

    x = test[0][:args.predict_count]
    if len(x) < args.predict_count:
        print(f"fit_predict_speed: only {len(x)} test images", file=sys.stderr)
    model = cnnkit.Model(args.model, seed=0)
    python_rates, tool_rates = [], []
    for _ in range(args.repeats):
        tool_rates.append(tool_inference_rate(args, len(x)))
        python_rates.append(python_inference_rate(args, model, x))
    report(f"predict {args.model}, {len(x)} images, batch {args.predict_batch}", python_rates,
           tool_rates)


if __name__ == "__main__":
    main()
