#!/usr/bin/python3
"""PyTorch's values for cnnkit's layers, written as test data (tests/data/oracle/<layer>.json).

Usage: /usr/bin/python3 scripts/torch_oracle.py [output folder]   (Debian's python3-torch 1.13)

Each case builds the layer in PyTorch on a random input (fixed seed per case; odd sizes, strides,
1-D and 2-D, and for Conv padding, dilation and groups, where they apply), runs forward, then backward with a random upstream error, and
records the input, the parameters, the error, the output, the input error and the parameter
gradients, each in cnnkit's layout. tests/oracle_layers_test.cpp reads the files and holds the
C++ layers to them without PyTorch.

The inputs are drawn as float32 (so the C++ float test starts from the same numbers) and PyTorch
computes in float64 from them: the reference then carries no float rounding of its own, and the
test's tolerance is left for cnnkit's.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def rand(shape, low=-1.0, high=1.0):
    """Uniform in [low, high), rounded to float32, held in float64."""
    return (torch.rand(shape, dtype=torch.float32) * (high - low) + low).double()


def tensor_json(t):
    t = t.detach().double().contiguous()
    # 9 significant digits: float32 round-trips (the references are float64 and are compared
    # within 1e-5 relative, so 9 digits lose nothing the test looks at).
    return {"shape": list(t.shape), "data": [float("%.9g" % v) for v in t.flatten().tolist()]}


def run(module_or_fn, x, parameters):
    """forward and backward; returns (output, input_error, gradients, error)."""
    x = x.clone().requires_grad_(True)
    y = module_or_fn(x)
    error = rand(y.shape)
    y.backward(error)
    return y, x.grad, [p.grad for p in parameters], error


def case(name, params, x, y, error, input_error, parameters=(), gradients=(), extra=None):
    tensors = {
        "input": tensor_json(x),
        "error": tensor_json(error),
        "output": tensor_json(y),
        "input_error": tensor_json(input_error),
    }
    record = {
        "name": name,
        "params": params,
        "tensors": tensors,
        "parameters": [tensor_json(p) for p in parameters],
        "gradients": [tensor_json(g) for g in gradients],
    }
    if extra:
        record.update(extra)
    return record


# ---- layers without parameters


def elementwise_cases(fn, params=None):
    cases = []
    for seed, shape in enumerate([(3, 7), (2, 3, 5), (2, 3, 4, 5)]):
        torch.manual_seed(100 + seed)
        # Wide enough to reach the activations' flat parts.
        x = rand(shape, -6.0, 6.0)
        y, dx, _, e = run(fn, x, [])
        cases.append(case("rank%d" % len(shape), params or {}, x, y, e, dx))
    return cases


def pooling_cases(kind):
    cases = []
    # (input shape, window, stride): odd sizes, overlapping windows, strides above the window,
    # 1-D inputs (N, C, L). cnnkit's window and stride are (y, x) or one value for both axes.
    specs = [
        ((2, 3, 7, 5), [2, 2], [2, 2]),
        ((1, 2, 9, 8), [3, 2], [2, 3]),
        ((2, 2, 6, 7), [3, 3], [1, 1]),
        ((2, 1, 5, 5), [2, 1], [3, 1]),
        ((2, 3, 11), [3], [2]),
        ((3, 2, 8), [2], [2]),
        ((1, 4, 9), [4], [1]),
    ]
    for seed, (shape, window, stride) in enumerate(specs):
        torch.manual_seed(200 + seed)
        x = rand(shape)
        one_d = len(shape) == 3
        if kind == "max":
            fn = (lambda t: F.max_pool1d(t, window[0], stride[0])) if one_d else (
                lambda t: F.max_pool2d(t, window, stride))
        else:
            fn = (lambda t: F.avg_pool1d(t, window[0], stride[0])) if one_d else (
                lambda t: F.avg_pool2d(t, window, stride))
        y, dx, _, e = run(fn, x, [])
        name = "%dd_%s_window%s_stride%s" % (len(shape) - 2, "x".join(map(str, shape)),
                                           "x".join(map(str, window)), "x".join(map(str, stride)))
        cases.append(case(name, {"window": window, "stride": stride}, x, y, e, dx))
    return cases


def global_average_pooling_cases():
    cases = []
    for seed, shape in enumerate([(2, 3, 5, 7), (3, 4, 9), (1, 2, 1, 1)]):
        torch.manual_seed(300 + seed)
        x = rand(shape)
        y, dx, _, e = run(lambda t: t.flatten(2).mean(dim=2), x, [])
        cases.append(case("%dd_%s" % (len(shape) - 2, "x".join(map(str, shape))), {}, x, y, e, dx))
    return cases


def softmax_cases():
    cases = []
    for seed, shape in enumerate([(3, 5), (4, 10)]):
        torch.manual_seed(400 + seed)
        x = rand(shape, -4.0, 4.0)
        y, dx, _, e = run(lambda t: torch.softmax(t, dim=1), x, [])
        cases.append(case("%s" % "x".join(map(str, shape)), {}, x, y, e, dx))
    return cases


# ---- layers with parameters


def conv_cases():
    cases = []
    # (input shape, kernels, kernel, stride); cnnkit pads "same": (k-1)/2 before, k/2 after.
    specs = [
        ((2, 3, 7, 6), 4, [3, 3], [1, 1]),
        ((1, 2, 9, 8), 3, [4, 3], [2, 3]),
        ((2, 1, 5, 7), 2, [2, 5], [3, 2]),
        ((2, 3, 11), 4, [3], [2]),
        ((3, 2, 8), 2, [4], [1]),
    ]
    for seed, (shape, kernels, kernel, stride) in enumerate(specs):
        torch.manual_seed(500 + seed)
        x = rand(shape)
        weight = rand((kernels, shape[1], *kernel)).requires_grad_(True)
        bias = rand((kernels,)).requires_grad_(True)
        pad = []
        for k in reversed(kernel):  # F.pad lists the last axis first
            pad += [(k - 1) // 2, k // 2]
        if len(kernel) == 1:
            fn = lambda t: F.conv1d(F.pad(t, pad), weight, bias, stride=stride[0])
        else:
            fn = lambda t: F.conv2d(F.pad(t, pad), weight, bias, stride=stride)
        y, dx, grads, e = run(fn, x, [weight, bias])
        name = "%dd_%s_kernel%s_stride%s" % (len(kernel), "x".join(map(str, shape)),
                                           "x".join(map(str, kernel)), "x".join(map(str, stride)))
        params = {"kernels": kernels, "convolution_shape": [shape[1]] + kernel, "stride": stride}
        cases.append(case(name, params, x, y, e, dx, [weight, bias], grads))
    return cases


def conv_padding(padding, kernel, dilation):
    """F.pad's list (last axis first) for cnnkit's padding: "same" pads the dilated span s with
    (s-1)/2 before and s/2 after (PyTorch 1.13 refuses padding='same' with strides), "valid"
    nothing, explicit sizes per axis (one entry for every axis), each p or [before, after]."""
    axes = len(kernel)
    if padding == "same":
        spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
        pairs = [[(s - 1) // 2, s // 2] for s in spans]
    elif padding == "valid":
        pairs = [[0, 0]] * axes
    else:
        entries = padding if isinstance(padding, list) else [padding]
        entries = entries * axes if len(entries) == 1 else entries
        pairs = [e if isinstance(e, list) else [e, e] for e in entries]
    pad = []
    for before, after in reversed(pairs):
        pad += [before, after]
    return pad


def conv_option_cases():
    cases = []
    # (input shape, kernels, kernel, stride, padding, dilation, groups): valid and explicit
    # (asymmetric) padding, dilation 2 and 3, groups 2 and 3, depthwise (with a channel
    # multiplier too), odd sizes, strides, 1-D and 2-D; the last two are "same" written out, and
    # a 1x1 kernel with padding.
    specs = [
        ((2, 3, 9, 8), 4, [3, 3], [1, 1], "valid", [1, 1], 1),
        ((2, 2, 7, 9), 3, [3, 2], [2, 3], [[1, 2], [0, 1]], [1, 1], 1),
        ((1, 3, 11, 10), 2, [3, 3], [1, 1], 2, [2, 2], 1),
        ((2, 2, 13, 12), 3, [3, 3], [2, 2], "same", [3, 2], 1),
        ((2, 4, 8, 7), 6, [3, 3], [1, 1], "same", [1, 1], 2),
        ((2, 5, 9, 8), 5, [3, 3], [2, 1], 1, [1, 1], 5),
        ((1, 3, 12, 11), 6, [3, 3], [1, 1], "valid", [2, 2], 3),
        ((2, 6, 10, 11), 3, [4, 2], [3, 2], "same", [1, 1], 3),
        ((2, 8, 9, 9), 8, [5, 5], [1, 1], "same", [1, 1], 8),
        ((2, 3, 7, 6), 4, [3, 3], [1, 1], [1], [1, 1], 1),
        ((2, 3, 5, 4), 2, [1, 1], [1, 1], [1, [0, 2]], [1, 1], 1),
        ((2, 3, 13), 4, [3], [2], "valid", [1], 1),
        ((3, 2, 14), 2, [4], [1], [[2, 1]], [3], 1),
        ((2, 4, 11), 4, [5], [3], "same", [2], 4),
        ((2, 6, 10), 4, [3], [1], [1], [1], 2),
    ]
    for seed, (shape, kernels, kernel, stride, padding, dilation, groups) in enumerate(specs):
        torch.manual_seed(550 + seed)
        x = rand(shape)
        weight = rand((kernels, shape[1] // groups, *kernel)).requires_grad_(True)
        bias = rand((kernels,)).requires_grad_(True)
        pad = conv_padding(padding, kernel, dilation)
        if len(kernel) == 1:
            fn = lambda t: F.conv1d(F.pad(t, pad), weight, bias, stride=stride[0],
                                    dilation=dilation[0], groups=groups)
        else:
            fn = lambda t: F.conv2d(F.pad(t, pad), weight, bias, stride=stride,
                                    dilation=dilation, groups=groups)
        y, dx, grads, e = run(fn, x, [weight, bias])
        name = "%dd_%s_kernel%s_stride%s_padding%s_dilation%s_groups%d" % (
            len(kernel), "x".join(map(str, shape)), "x".join(map(str, kernel)),
            "x".join(map(str, stride)), json.dumps(padding).replace(" ", ""),
            "x".join(map(str, dilation)), groups)
        params = {"kernels": kernels, "convolution_shape": [shape[1]] + kernel, "stride": stride,
                  "padding": padding, "dilation": dilation, "groups": groups}
        cases.append(case(name, params, x, y, e, dx, [weight, bias], grads))
    return cases


def fully_connected_cases():
    cases = []
    for seed, (batch, inputs, outputs) in enumerate([(3, 7, 5), (1, 4, 9)]):
        torch.manual_seed(600 + seed)
        x = rand((batch, inputs))
        # cnnkit's layout: weights (inputs, outputs), bias (1, outputs): y = x W + b.
        weight = rand((inputs, outputs)).requires_grad_(True)
        bias = rand((1, outputs)).requires_grad_(True)
        y, dx, grads, e = run(lambda t: t @ weight + bias, x, [weight, bias])
        params = {"inputs": inputs, "outputs": outputs}
        cases.append(case("%dx%d_to_%d" % (batch, inputs, outputs), params, x, y, e, dx,
                          [weight, bias], grads))
    return cases


def batch_norm_cases():
    cases = []
    # (input shape, momentum, epsilon): per channel for (N, C, ...), per feature for (N, F).
    specs = [
        ((4, 3), 0.1, 1e-5),
        ((2, 3, 5, 7), 0.1, 1e-5),
        ((3, 2, 9), 0.3, 1e-3),
        ((2, 1), 1.0, 1e-5),
        ((1, 2, 3, 1), 0.0, 0.5),
    ]
    for seed, (shape, momentum, epsilon) in enumerate(specs):
        torch.manual_seed(700 + seed)
        channels = shape[1]
        bn = (torch.nn.BatchNorm1d if len(shape) <= 3 else torch.nn.BatchNorm2d)(
            channels, eps=epsilon, momentum=momentum)
        # Inputs off zero mean and unit variance, so that normalising does something.
        x = rand(shape) * 3.0 + 0.5
        with torch.no_grad():
            bn.weight.copy_(rand((channels,), 0.5, 2.0))
            bn.bias.copy_(rand((channels,)))
            bn.running_mean.copy_(rand((channels,)))
            bn.running_var.copy_(rand((channels,), 0.5, 2.0))
        running_before = [bn.running_mean.clone(), bn.running_var.clone()]
        parameters = [bn.weight.detach().clone(), bn.bias.detach().clone()]
        bn.train()
        y, dx, grads, e = run(bn, x, [bn.weight, bn.bias])
        running_after = [bn.running_mean.clone(), bn.running_var.clone()]
        # The testing phase: running statistics (the updated ones) on a fresh input.
        bn.eval()
        test_input = rand(shape) * 2.0 - 0.25
        with torch.no_grad():
            test_output = bn(test_input)
        params = {"channels": channels, "momentum": momentum, "epsilon": epsilon}
        extra = {
            "buffers_before": [tensor_json(b) for b in running_before],
            "buffers_after": [tensor_json(b) for b in running_after],
            "test_input": tensor_json(test_input),
            "test_output": tensor_json(test_output),
        }
        cases.append(case("%s_momentum%g_epsilon%g" % ("x".join(map(str, shape)), momentum,
                                                       epsilon),
                          params, x, y, e, dx, parameters, grads, extra))
    return cases


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "data", "oracle")
    os.makedirs(folder, exist_ok=True)
    layers = {
        "ReLU": elementwise_cases(torch.relu),
        "Sigmoid": elementwise_cases(torch.sigmoid),
        "TanH": elementwise_cases(torch.tanh),
        "LeakyReLU": elementwise_cases(lambda t: F.leaky_relu(t, 0.1), {"slope": 0.1}),
        "SoftMax": softmax_cases(),
        "Pooling": pooling_cases("max"),
        "AveragePooling": pooling_cases("average"),
        "GlobalAveragePooling": global_average_pooling_cases(),
        "Conv": conv_cases(),
        "ConvOptions": conv_option_cases(),
        "FullyConnected": fully_connected_cases(),
        "BatchNorm": batch_norm_cases(),
    }
    # A second slope, negative, for LeakyReLU (PyTorch accepts any slope).
    torch.manual_seed(150)
    x = rand((2, 3, 5), -3.0, 3.0)
    y, dx, _, e = run(lambda t: F.leaky_relu(t, -0.3), x, [])
    layers["LeakyReLU"].append(case("rank3_negative_slope", {"slope": -0.3}, x, y, e, dx))
    for layer, cases in layers.items():
        path = os.path.join(folder, layer + ".json")
        with open(path, "w") as out:
            # ConvOptions.json holds more Conv cases (padding, dilation, groups).
            name = "Conv" if layer.startswith("Conv") else layer
            json.dump({"layer": name, "torch": torch.__version__, "cases": cases}, out,
                      separators=(",", ":"))
            out.write("\n")
        print("%s: %d cases, %d bytes" % (path, len(cases), os.path.getsize(path)))
    write_loss_oracle(folder)


# ---- the fused softmax + cross-entropy from logits (cnnkit's SoftmaxCrossEntropy loss)


def softmax_cross_entropy_cases():
    """F.cross_entropy (log_softmax + nll_loss) on logits: the loss and d loss / d logits, for
    the reductions sum and mean. The confident cases put the true class's logit far below the
    others: its probability is below float's eps, where SoftMax + the lecture's -log(p + eps) has a
    vanishing gradient and the fused form gives about -1 (sum) for the true class."""
    cases = []
    specs = [("random_4x5", (4, 5), 0.0), ("random_3x10", (3, 10), 0.0),
             ("confidently_wrong_3x4", (3, 4), 60.0)]
    for seed, (name, shape, margin) in enumerate(specs):
        torch.manual_seed(800 + seed)
        logits = rand(shape, -4.0, 4.0)
        target = torch.randint(0, shape[1], (shape[0],))
        if margin:
            # The true class margin below every other logit: softmax p_true ~ exp(-margin).
            logits = logits.clone()
            logits[torch.arange(shape[0]), target] = logits.max() - margin
            logits = logits.float().double()
        label = F.one_hot(target, shape[1]).double()
        for reduction in ("sum", "mean"):
            x = logits.clone().requires_grad_(True)
            loss = F.cross_entropy(x, target, reduction=reduction)
            loss.backward()
            cases.append({
                "name": "%s_%s" % (name, reduction),
                "reduction": reduction,
                "logits": tensor_json(logits),
                "label": tensor_json(label),
                "loss": float("%.12g" % loss.item()),
                "gradient": tensor_json(x.grad),
                "probabilities": tensor_json(torch.softmax(logits, dim=1)),
            })
    return cases


def write_loss_oracle(folder):
    path = os.path.join(folder, "SoftmaxCrossEntropy.json")
    cases = softmax_cross_entropy_cases()
    with open(path, "w") as out:
        json.dump({"loss": "SoftmaxCrossEntropy", "torch": torch.__version__, "cases": cases}, out,
                  separators=(",", ":"))
        out.write("\n")
    print("%s: %d cases, %d bytes" % (path, len(cases), os.path.getsize(path)))


if __name__ == "__main__":
    main()
