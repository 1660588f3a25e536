#!/usr/bin/python3
"""PyTorch's values for cnnkit's optimizers and learning-rate schedules, written as test data
(tests/data/oracle/optimizers.json).

Usage: /usr/bin/python3 scripts/torch_optimizer_oracle.py [output folder]   (python3-torch 1.13)

Each case starts from random weights and applies several steps with random gradients, each at
the learning rate of a schedule (constant, step, cosine, with and without linear warm-up), and
records the weights after every step. tests/oracle_optimizers_test.cpp replays the steps with
cnnkit's optimizers (and, for L2 weight decay, its penalty) and holds the weights to these.

Sgd, Adam and AdamW are PyTorch's (SGD, Adam and AdamW; weight_decay of SGD and Adam is the L2
penalty cnnkit adds to the gradient). SgdWithMomentum is the lecture's v = mu v - lr g; w = w + v,
which equals PyTorch's b = mu b + g; w = w - lr b only in exact arithmetic and only at a constant
rate, so its reference is that formula evaluated here in float64.

Every number, hyperparameters included, is drawn or rounded to float32 and computed in float64
from there: the reference carries no rounding of its own, and cnnkit's float run starts from the
same numbers.
"""
import json
import math
import os
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

STEPS = 7


def f32(value):
    """A hyperparameter rounded to float32, held as a Python float (float64)."""
    return float(np.float32(value))


def rand(shape, low=-1.0, high=1.0):
    """Uniform in [low, high), rounded to float32, held in float64."""
    return (torch.rand(shape, dtype=torch.float32) * (high - low) + low).double()


def tensor_json(t):
    t = t.detach().double().contiguous()
    # 17 significant digits: float64 round-trips, so the double test can be held tight.
    return {"shape": list(t.shape), "data": [float("%.17g" % v) for v in t.flatten().tolist()]}


def scale(schedule, t):
    """cnnkit's schedule (include/cnnkit/schedule.hpp), in closed form."""
    warmup = schedule.get("warmup_steps", 0)
    if t < warmup:
        return (t + 1) / warmup
    u = t - warmup
    if schedule["type"] == "step":
        return schedule["gamma"] ** (u // schedule["step_size"])
    if schedule["type"] == "cosine":
        span = schedule["total_steps"] - warmup
        return 0.5 * (1.0 + math.cos(math.pi * min(u, span) / span))
    return 1.0


def torch_optimizer(spec, weights, l2):
    kind = spec["type"]
    lr = spec["learning_rate"]
    if kind == "Sgd":
        return torch.optim.SGD([weights], lr=lr, weight_decay=l2)
    betas = (spec["mu"], spec["rho"])
    if kind == "Adam":
        return torch.optim.Adam([weights], lr=lr, betas=betas, eps=spec["epsilon"],
                                weight_decay=l2)
    if kind == "AdamW":
        return torch.optim.AdamW([weights], lr=lr, betas=betas, eps=spec["epsilon"],
                                 weight_decay=spec["weight_decay"])
    raise ValueError(kind)


def run_case(name, spec, schedule, shape, seed, l2=0.0, zero_start=False):
    torch.manual_seed(seed)
    start = torch.zeros(shape) if zero_start else rand(shape)
    gradients = [rand(shape) for _ in range(STEPS)]
    scales = [scale(schedule, t) for t in range(STEPS)]
    after = []
    if spec["type"] == "SgdWithMomentum":
        reference = "formula"
        w = start.numpy().copy()
        v = np.zeros_like(w)
        for g, s in zip(gradients, scales):
            lr_t = spec["learning_rate"] * s
            v = spec["momentum"] * v - lr_t * (g.numpy() + l2 * w)
            w = w + v
            after.append(torch.from_numpy(w.copy()))
    else:
        reference = "torch " + torch.__version__
        weights = start.clone().requires_grad_(True)
        optimizer = torch_optimizer(spec, weights, l2)
        for g, s in zip(gradients, scales):
            for group in optimizer.param_groups:
                group["lr"] = spec["learning_rate"] * s
            weights.grad = g.clone()
            optimizer.step()
            after.append(weights.detach().clone())
    return {
        "name": name,
        "reference": reference,
        "optimizer": spec,
        "l2_weight_decay": l2,
        "schedule": schedule,
        "weights": tensor_json(start),
        "steps": [{"gradient": tensor_json(g), "scale": s, "weights": tensor_json(w)}
                  for g, s, w in zip(gradients, scales, after)],
    }


def cases():
    sgd = {"type": "Sgd", "learning_rate": f32(0.1)}
    momentum = {"type": "SgdWithMomentum", "learning_rate": f32(0.05), "momentum": f32(0.9)}
    adam = {"type": "Adam", "learning_rate": f32(1e-3), "mu": f32(0.9), "rho": f32(0.999),
            "epsilon": f32(1e-8)}
    adamw = dict(adam, type="AdamW", learning_rate=f32(1e-2), weight_decay=f32(0.1))
    constant = {"type": "constant"}
    step = {"type": "step", "step_size": 2, "gamma": f32(0.5)}
    step_warmup = dict(step, warmup_steps=2)
    cosine = {"type": "cosine", "total_steps": STEPS}
    cosine_warmup = {"type": "cosine", "warmup_steps": 3, "total_steps": 10}
    l2 = f32(0.01)
    return [
        run_case("Sgd_constant", sgd, constant, (3, 5), 1),
        run_case("Sgd_step_warmup", sgd, step_warmup, (4, 3, 2), 2),
        run_case("Sgd_L2_cosine", sgd, cosine, (6,), 3, l2=l2),
        run_case("SgdWithMomentum_constant", momentum, constant, (3, 5), 4),
        run_case("SgdWithMomentum_cosine_warmup", momentum, cosine_warmup, (2, 7), 5),
        run_case("SgdWithMomentum_L2_step", momentum, step, (9,), 6, l2=l2),
        run_case("Adam_constant_from_zero", adam, constant, (5, 4), 7, zero_start=True),
        run_case("Adam_constant", adam, constant, (3, 5), 8),
        run_case("Adam_cosine_warmup", adam, cosine_warmup, (2, 3, 3), 9),
        run_case("Adam_L2_step_warmup", adam, step_warmup, (11,), 10, l2=l2),
        # rho near 1 from zero, where float's 1 - rho^k is least accurate
        # (tests/adam_bias_correction_test.cpp holds the correction itself to a hand value).
        run_case("Adam_rho0.99999_from_zero", dict(adam, rho=f32(0.99999)), constant, (4, 5), 14,
                 zero_start=True),
        run_case("AdamW_constant", adamw, constant, (3, 5), 11),
        run_case("AdamW_cosine", adamw, cosine, (4, 4), 12),
        run_case("AdamW_cosine_warmup_from_zero", adamw, cosine_warmup, (7,), 13,
                 zero_start=True),
    ]


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "data", "oracle")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "optimizers.json")
    with open(path, "w") as out:
        json.dump({"torch": torch.__version__, "steps": STEPS, "cases": cases()}, out, indent=1)
        out.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
