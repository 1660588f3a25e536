"""The convolution geometries of the sweep (issue: speed on shapes nobody tuned for), drawn from
a fixed seed so that cnnkit's side (cnnkit_conv_sweep) and PyTorch's (torch_sweep.py) time the
same list. Each case is capped at about 2 GFLOP per forward (2 N K C m n Y' X'): the batch and
then the size shrink until it fits.

    python3 bench/sweep_cases.py [--count 48] [--seed 0] > cases.json
"""
import argparse
import json
import random

MAX_FORWARD_FLOP = 2e9


def forward_flop(case):
    out = 1
    for size, stride in zip(case["size"], case["stride"]):
        out *= -(-size // stride)  # "same" padding: ceil(size / stride)
    kernel = 1
    for k in case["kernel"]:
        kernel *= k
    return 2.0 * case["batch"] * case["kernels"] * case["channels"] * kernel * out


def draw_cases(count=48, seed=0):
    rng = random.Random(seed)
    channel_choices = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256]
    cases = []
    for index in range(count):
        dims = 1 if index % 4 == 3 else 2  # a quarter of the cases are 1-D
        kernel = rng.randint(1, 7)
        stride = rng.randint(1, 3)
        size = rng.randint(7, 128)
        case = {
            "name": f"s{index:02d}",
            "batch": rng.choice([1, 2, 4, 8, 16, 32, 64]),
            "channels": rng.choice(channel_choices),
            "kernels": rng.choice(channel_choices),
            "size": [size] * dims,
            "kernel": [kernel] * dims,
            "stride": [stride] * dims,
        }
        if dims == 2 and rng.random() < 0.25:  # some non-square kernels and sizes
            case["kernel"][1] = rng.randint(1, 7)
            case["size"][1] = rng.randint(7, 128)
        while forward_flop(case) > MAX_FORWARD_FLOP and case["batch"] > 1:
            case["batch"] //= 2
        while forward_flop(case) > MAX_FORWARD_FLOP:
            case["size"] = [max(7, s * 3 // 4) for s in case["size"]]
        case["gflop_forward"] = round(forward_flop(case) / 1e9, 4)
        cases.append(case)
    return cases


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(json.dumps(draw_cases(args.count, args.seed), indent=1))
