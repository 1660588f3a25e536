"""The layers of the regularisation lecture against PyTorch 1.13: forward outputs and input
gradients (and BatchNorm's parameter gradients and running statistics) within 1e-5 relative, in
float32, on random shapes including 1-D inputs. Skipped without torch."""

import numpy as np
import pytest

import cnnkit

torch = pytest.importorskip("torch", reason="PyTorch (python3-torch) is not installed")
F = torch.nn.functional

TOLERANCE = 1e-5


def close(actual, expected, what):
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(np.abs(expected).max(), 1e-12)
    error = np.abs(np.asarray(actual, dtype=np.float64) - expected).max() / scale
    assert error <= TOLERANCE, f"{what}: relative error {error:.3g} > {TOLERANCE}"


def compare(layer, torch_function, shape, seed, what):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    out = layer.forward(x)
    error = rng.standard_normal(out.shape).astype(np.float32)
    grad = layer.backward(error)
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ty = torch_function(tx)
    ty.backward(torch.tensor(error, dtype=torch.float64))
    close(out, ty.detach().numpy(), what + " forward")
    close(grad, tx.grad.numpy(), what + " input gradient")


@pytest.mark.parametrize("shape", [(3, 7), (2, 3, 5, 4)])
def test_activations(shape):
    compare(cnnkit.Sigmoid(), torch.sigmoid, shape, 1, "Sigmoid")
    compare(cnnkit.TanH(), torch.tanh, shape, 2, "TanH")
    compare(cnnkit.LeakyReLU(0.2), lambda t: F.leaky_relu(t, 0.2), shape, 3, "LeakyReLU")


@pytest.mark.parametrize("window, stride, shape", [
    ((2, 2), (2, 2), (2, 3, 6, 6)), ((3, 2), (1, 2), (2, 2, 7, 5)), ((3,), (2,), (3, 4, 11))])
def test_average_pooling(window, stride, shape):
    function = F.avg_pool2d if len(window) == 2 else F.avg_pool1d
    compare(cnnkit.AveragePooling(stride, window), lambda t: function(t, window, stride), shape,
            4, f"AveragePooling {window}/{stride}")


@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (3, 4, 9)])
def test_global_average_pooling(shape):
    axes = tuple(range(2, len(shape)))
    compare(cnnkit.GlobalAveragePooling(), lambda t: t.mean(dim=axes), shape, 5,
            "GlobalAveragePooling")


@pytest.mark.parametrize("shape", [(6, 4), (3, 2, 5, 4), (4, 3, 7)])
def test_batch_norm_training_step_and_testing_phase(shape):
    channels = shape[1]
    layer = cnnkit.BatchNorm(channels)
    rng = np.random.default_rng(6)
    layer.scale = rng.uniform(0.5, 1.5, channels).astype(np.float32)
    layer.shift = rng.standard_normal(channels).astype(np.float32)
    reference = torch.nn.BatchNorm1d(channels) if len(shape) < 4 else torch.nn.BatchNorm2d(channels)
    reference = reference.double()
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(layer.scale))
        reference.bias.copy_(torch.tensor(layer.shift))
    compare(layer, reference, shape, 7, "BatchNorm")
    close(layer.gradient_scale, reference.weight.grad.numpy(), "BatchNorm scale gradient")
    close(layer.gradient_shift, reference.bias.grad.numpy(), "BatchNorm shift gradient")
    close(layer.running_mean, reference.running_mean.numpy(), "BatchNorm running mean")
    close(layer.running_var, reference.running_var.numpy(), "BatchNorm running variance")
    with pytest.raises(ValueError):
        layer.running_mean[0] = 1.0  # the layer's own state: read-only
    layer.testing_phase = True
    reference.eval()
    x = np.random.default_rng(8).standard_normal(shape).astype(np.float32)
    close(layer.forward(x), reference(torch.tensor(x, dtype=torch.float64)).detach().numpy(),
          "BatchNorm testing phase")


def conv_option_cases(count, seed):
    """Random 1-D and 2-D convolutions with explicit (often uneven) padding, dilation and groups."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        dims = 1 if i % 3 == 2 else 2
        groups = int(rng.choice([1, 2, 3]))
        channels = groups * int(rng.integers(1, 4))
        kernels = groups * int(rng.integers(1, 4))
        kernel = tuple(int(k) for k in rng.integers(1, 5, size=dims))
        dilation = tuple(int(d) for d in rng.integers(1, 4, size=dims))
        stride = tuple(int(s) for s in rng.integers(1, 4, size=dims))
        padding = tuple((int(a), int(b)) for a, b in rng.integers(0, 3, size=(dims, 2)))
        size = tuple(int(d * (k - 1) + 1 + rng.integers(0, 6)) for d, k in zip(dilation, kernel))
        cases.append((int(rng.integers(1, 4)), channels, kernels, kernel, stride, padding,
                      dilation, groups, size))
    cases.append((2, 6, 6, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 6, (7, 5)))  # depthwise
    return cases


@pytest.mark.parametrize("case", conv_option_cases(12, 2027))
def test_conv_padding_dilation_groups_match_torch(case):
    batch, channels, kernels, kernel, stride, padding, dilation, groups, size = case
    rng = np.random.default_rng(abs(hash(case)) % 2**32)
    layer = cnnkit.Conv(stride, (channels,) + kernel, kernels, padding=list(padding),
                        dilation=dilation, groups=groups)
    layer.weights = rng.normal(size=layer.weights.shape).astype(np.float32)
    layer.bias = rng.normal(size=layer.bias.shape).astype(np.float32)
    x = rng.normal(size=(batch, channels) + size).astype(np.float32)
    out = layer.forward(x)
    error = rng.normal(size=out.shape).astype(np.float32)
    input_error = layer.backward(error)

    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tw = torch.tensor(layer.weights, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(layer.bias, dtype=torch.float64, requires_grad=True)
    pads = [p for axis in reversed(padding) for p in axis]  # F.pad: last axis first
    conv = F.conv1d if len(kernel) == 1 else F.conv2d
    expected = conv(F.pad(tx, pads), tw, tb, stride=stride, dilation=dilation, groups=groups)
    expected.backward(torch.tensor(error, dtype=torch.float64))
    close(out, expected.detach().numpy(), f"Conv {case} forward")
    close(input_error, tx.grad.numpy(), f"Conv {case} input gradient")
    close(layer.gradient_weights, tw.grad.numpy(), f"Conv {case} weight gradient")
    close(layer.gradient_bias, tb.grad.numpy(), f"Conv {case} bias gradient")
