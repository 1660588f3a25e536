"""PyTorch 1.13 as the oracle: the same layers in torch (float64, from the very float32 values
cnnkit gets) and in cnnkit (float32) on random shapes, forward outputs and every gradient
compared. "Within 1e-5 relative" means max|cnnkit - torch| <= 1e-5 * max|torch| per tensor: an
element-wise ratio is meaningless for elements near zero, whose float32 sums carry the rounding
of terms 1e4 times larger. Skipped when torch is not installed."""

import numpy as np
import pytest

import cnnkit

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed (Debian: apt-get install python3-torch); "
                    "the oracle tests need it")
F = torch.nn.functional

TOLERANCE = 1e-5
EPS32 = float(np.finfo(np.float32).eps)


def assert_close(actual, expected, what):
    expected = expected.detach().numpy() if hasattr(expected, "detach") else np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(np.abs(expected).max(), 1e-30)
    error = np.abs(actual.astype(np.float64) - expected).max() / scale
    assert error <= TOLERANCE, f"{what}: relative error {error:.3g} > {TOLERANCE}"


def t64(array, grad=False):
    return torch.tensor(np.asarray(array, dtype=np.float64), requires_grad=grad)


def conv_cases(count, dims, seed):
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        channels = int(rng.choice([1, 2, 3, 16, 64]))
        kernels = int(rng.choice([1, 4, 8, 64]))
        kernel = tuple(int(k) for k in rng.integers(1, 6, size=dims))  # even and odd
        stride = tuple(int(s) for s in rng.integers(1, 4, size=dims))
        size = tuple(int(s) for s in rng.integers(max(kernel), 12, size=dims))
        batch = int(rng.integers(1, 4))
        cases.append((batch, channels, kernels, kernel, stride, size))
    # Fixed corners: one channel in, 64 out; even kernels with strides on both axes.
    cases.append((2, 1, 64, (2,) * dims, (2,) * dims, (7,) * dims))
    cases.append((1, 64, 1, (4,) * dims, (3,) * dims, (9,) * dims))
    return cases


def torch_conv_same(x, weights, bias, kernel, stride):
    """cnnkit's convolution: zero padding (k-1)//2 before and k//2 after, then the stride."""
    padding = []
    for k in reversed(kernel):  # F.pad takes the last axis first
        padding += [(k - 1) // 2, k // 2]
    padded = F.pad(x, padding)
    conv = F.conv1d if len(kernel) == 1 else F.conv2d
    return conv(padded, weights, bias, stride=stride)


@pytest.mark.parametrize("case", conv_cases(10, 2, 2026) + conv_cases(6, 1, 27))
def test_conv_matches_torch(case):
    batch, channels, kernels, kernel, stride, size = case
    rng = np.random.default_rng(abs(hash(case)) % 2**32)
    layer = cnnkit.Conv(stride, (channels,) + kernel, kernels)
    layer.weights = rng.normal(size=layer.weights.shape).astype(np.float32)
    layer.bias = rng.normal(size=layer.bias.shape).astype(np.float32)
    x = rng.normal(size=(batch, channels) + size).astype(np.float32)

    out = layer.forward(x)
    tx, tw, tb = t64(x, True), t64(layer.weights, True), t64(layer.bias, True)
    expected = torch_conv_same(tx, tw, tb, kernel, stride)
    assert_close(out, expected, f"Conv forward {case}")

    error = rng.normal(size=out.shape).astype(np.float32)
    input_error = layer.backward(error)
    expected.backward(t64(error))
    assert_close(input_error, tx.grad, f"Conv input error {case}")
    assert_close(layer.gradient_weights, tw.grad, f"Conv weight gradient {case}")
    assert_close(layer.gradient_bias, tb.grad, f"Conv bias gradient {case}")


def pooling_cases(count, seed):
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        window = tuple(int(w) for w in rng.integers(1, 5, size=2))
        stride = tuple(int(s) for s in rng.integers(1, 4, size=2))  # often < window: overlap
        size = tuple(int(s) for s in rng.integers(max(window), 13, size=2))
        cases.append((int(rng.integers(1, 4)), int(rng.choice([1, 3, 16])), window, stride, size))
    cases.append((2, 4, (3, 3), (1, 1), (8, 8)))  # every window overlaps its neighbours
    cases.append((1, 2, (3, 2), (2, 1), (9, 6)))
    return cases


@pytest.mark.parametrize("case", pooling_cases(10, 5))
def test_pooling_matches_torch(case):
    batch, channels, window, stride, size = case
    rng = np.random.default_rng(abs(hash(case)) % 2**32)
    layer = cnnkit.Pooling(stride, window)
    x = rng.normal(size=(batch, channels) + size).astype(np.float32)
    out = layer.forward(x)
    tx = t64(x, True)
    expected = F.max_pool2d(tx, window, stride)
    assert_close(out, expected, f"Pooling forward {case}")
    error = rng.normal(size=out.shape).astype(np.float32)
    expected.backward(t64(error))
    assert_close(layer.backward(error), tx.grad, f"Pooling input error {case}")


@pytest.mark.parametrize("inputs,outputs,batch", [(1, 1, 1), (7, 3, 5), (64, 10, 32),
                                                  (300, 64, 8)])
def test_fully_connected_matches_torch(inputs, outputs, batch):
    rng = np.random.default_rng(inputs * 1000 + outputs)
    layer = cnnkit.FullyConnected(inputs, outputs)
    layer.weights = rng.normal(size=(inputs, outputs)).astype(np.float32)
    layer.bias = rng.normal(size=(1, outputs)).astype(np.float32)
    x = rng.normal(size=(batch, inputs)).astype(np.float32)
    out = layer.forward(x)
    tx, tw, tb = t64(x, True), t64(layer.weights, True), t64(layer.bias, True)
    expected = tx @ tw + tb
    assert_close(out, expected, "FullyConnected forward")
    error = rng.normal(size=out.shape).astype(np.float32)
    expected.backward(t64(error))
    assert_close(layer.backward(error), tx.grad, "FullyConnected input error")
    assert_close(layer.gradient_weights, tw.grad, "FullyConnected weight gradient")
    assert_close(layer.gradient_bias, tb.grad, "FullyConnected bias gradient")


def test_relu_matches_torch():
    rng = np.random.default_rng(1)
    layer = cnnkit.ReLU()
    x = rng.normal(size=(4, 3, 5, 5)).astype(np.float32)
    tx = t64(x, True)
    expected = F.relu(tx)
    assert_close(layer.forward(x), expected, "ReLU forward")
    error = rng.normal(size=x.shape).astype(np.float32)
    expected.backward(t64(error))
    assert_close(layer.backward(error), tx.grad, "ReLU input error")


@pytest.mark.parametrize("batch,categories", [(1, 2), (5, 10), (16, 64)])
def test_softmax_with_cross_entropy_matches_torch(batch, categories):
    rng = np.random.default_rng(batch * categories)
    softmax, loss = cnnkit.SoftMax(), cnnkit.CrossEntropyLoss()
    x = (3 * rng.normal(size=(batch, categories))).astype(np.float32)
    label = np.eye(categories, dtype=np.float32)[rng.integers(0, categories, size=batch)]
    probabilities = softmax.forward(x)
    value = loss.forward(probabilities, label)
    input_error = softmax.backward(loss.backward(label))

    tx = t64(x, True)
    tp = F.softmax(tx, dim=1)
    expected = -(torch.log(tp + EPS32) * t64(label)).sum()  # cnnkit's loss: eps inside the log
    expected.backward()
    assert_close(probabilities, tp, "SoftMax forward")
    assert value == pytest.approx(expected.item(), rel=TOLERANCE)
    assert_close(input_error, tx.grad, "SoftMax + CrossEntropy input error")


def build_both(optimizer, torch_optimizer, seed):
    """The same small CNN in cnnkit (NeuralNetwork) and torch, cnnkit's initial weights copied."""
    cnnkit.set_seed(seed)
    net = cnnkit.NeuralNetwork(optimizer, cnnkit.He(), cnnkit.Constant(0.1))
    layers = [cnnkit.Conv((1, 2), (2, 3, 4), 5), cnnkit.ReLU(), cnnkit.Pooling(2, 3),
              cnnkit.Flatten(), cnnkit.FullyConnected(5 * 3 * 1, 4), cnnkit.SoftMax()]
    for layer in layers:
        net.append_layer(layer)
    net.set_loss_layer(cnnkit.CrossEntropyLoss())
    conv, fc = layers[0], layers[4]
    parameters = [t64(p, True) for p in (conv.weights, conv.bias, fc.weights, fc.bias)]

    def torch_forward(x):
        h = F.relu(torch_conv_same(x, parameters[0], parameters[1], (3, 4), (1, 2)))
        h = F.max_pool2d(h, 3, 2).flatten(1)
        return F.softmax(h @ parameters[2] + parameters[3], dim=1)

    return net, (conv, fc), parameters, torch_forward, torch_optimizer(parameters)


@pytest.mark.parametrize("name", ["Adam", "SgdWithMomentum"])
def test_training_steps_match_torch(name):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(6, 2, 7, 8)).astype(np.float32)
    y = rng.integers(0, 4, size=6)
    if name == "Adam":
        ours = cnnkit.Adam(1e-3, 0.9, 0.999, 1e-8)
        theirs = lambda p: torch.optim.Adam(p, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    else:
        # cnnkit: v = mu v - lr g, w += v; torch: b = mu b + g, w -= lr b: the same for fixed lr.
        ours = cnnkit.SgdWithMomentum(0.05, 0.9)
        theirs = lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)
    net, (conv, fc), parameters, torch_forward, optimizer = build_both(ours, theirs, 3)
    net.set_data_layer(cnnkit.ArrayDataLayer(x, y, len(y), num_classes=4, shuffle=False))
    label = t64(np.eye(4)[y])
    for step in range(4):
        loss = net.forward()
        net.backward()
        optimizer.zero_grad()
        expected = -(torch.log(torch_forward(t64(x)) + EPS32) * label).sum()
        expected.backward()
        optimizer.step()
        assert loss == pytest.approx(expected.item(), rel=TOLERANCE), f"{name} step {step} loss"
        for ours_now, theirs_now, what in zip(
                (conv.weights, conv.bias, fc.weights, fc.bias), parameters,
                ("conv weights", "conv bias", "fc weights", "fc bias")):
            assert_close(ours_now, theirs_now, f"{name} step {step}: {what}")
