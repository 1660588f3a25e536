"""The training features of the regularisation lecture from Python: AdamW, the schedules, the
losses' reduction and the fused softmax cross-entropy, the convolution's padding, dilation and
groups, and BatchNorm's settings, checked against worked numbers and against PyTorch 1.13's values
committed in tests/data/oracle (no torch needed)."""

import json
import math
import os

import numpy as np
import pytest

import cnnkit

ORACLE = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "oracle")


def oracle(name):
    with open(os.path.join(ORACLE, name)) as file:
        return json.load(file)


def array(entry, dtype=np.float32):
    return np.asarray(entry["data"], dtype=dtype).reshape(entry["shape"])


def close(actual, expected, what, tolerance=1e-5):
    """|a - b| <= tolerance (|b| + rms(b)), the oracle tests' rule."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    rms = math.sqrt(float(np.mean(expected ** 2))) if expected.size else 0.0
    bound = tolerance * (np.abs(expected) + rms)
    worst = np.max(np.abs(actual - expected) - bound) if expected.size else 0.0
    assert worst <= 0, f"{what}: off by {np.max(np.abs(actual - expected)):.3g}"


def test_adamw_one_step_by_hand():
    # w <- w (1 - lr wd), then Adam: at k = 1 the corrected moments are g and g^2, so the step is
    # lr g / (|g| + eps). Then a second step with the moments of both gradients.
    lr, mu, rho, eps, wd = 0.1, 0.9, 0.999, 1e-8, 0.01
    optimizer = cnnkit.AdamW(lr, mu, rho, eps, wd, dtype=np.float64)
    assert optimizer.name == "AdamW" and optimizer.weight_decay == wd
    w = np.array([1.0, -2.0, 3.0])
    g1 = np.array([0.5, 0.1, -0.3])
    w1 = optimizer.calculate_update(w, g1)
    np.testing.assert_allclose(w1, [0.999 - 0.1, -1.998 - 0.1, 2.997 + 0.1], rtol=0, atol=1e-7)
    g2 = np.array([-0.2, 0.4, 0.1])
    v = mu * 0.1 * g1 + (1 - mu) * g2
    r = rho * 0.001 * g1 ** 2 + (1 - rho) * g2 ** 2
    expected = w1 * (1 - lr * wd) - lr * (v / (1 - mu ** 2)) / (np.sqrt(r / (1 - rho ** 2)) + eps)
    np.testing.assert_allclose(optimizer.calculate_update(w1, g2), expected, rtol=1e-14)
    assert optimizer.step == 2
    assert isinstance(optimizer, cnnkit.Adam.__class__) or optimizer.mu == pytest.approx(mu)
    with pytest.raises(ValueError, match="weight_decay"):
        cnnkit.AdamW(0.1, weight_decay=-1.0)


def test_schedules_at_given_steps():
    cosine = cnnkit.Schedule("cosine")
    assert [cosine.scale(t, 10) for t in (0, 5, 10)] == pytest.approx([1.0, 0.5, 0.0])
    assert cosine.scale(3, 10) == pytest.approx((1 + math.cos(math.pi * 0.3)) / 2)
    warm = cnnkit.Schedule("cosine", warmup_steps=2)
    # Warm-up (t + 1) / W, then the cosine over U = T - W = 8 steps from u = t - W = 0.
    assert [warm.scale(t, 10) for t in (0, 1, 2, 6, 10)] == pytest.approx(
        [0.5, 1.0, 1.0, 0.5, 0.0])
    step = cnnkit.Schedule("step", step_size=3, gamma=0.5)
    assert [step.scale(t, 100) for t in (0, 2, 3, 7)] == pytest.approx([1, 1, 0.5, 0.25])
    assert cnnkit.Schedule().scale(99, 10) == 1.0
    fixed = cnnkit.Schedule("cosine", total_steps=4)
    assert fixed.scale(2, 1000) == pytest.approx(0.5)  # total_steps wins over the run's length
    assert (fixed.type, fixed.total_steps, step.step_size, step.gamma) == ("cosine", 4, 3, 0.5)


@pytest.mark.parametrize("kwargs, message", [
    (dict(type="linear"), "constant, step or cosine"), (dict(type="step"), "step_size"),
    (dict(type="step", step_size=2, gamma=0.0), "gamma"),
    (dict(type="cosine", warmup_steps=20, total_steps=10), "warmup")])
def test_bad_schedules_are_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        cnnkit.Schedule(**kwargs)


def test_a_warm_up_longer_than_the_run_is_a_value_error():
    with pytest.raises(ValueError, match="warm"):
        cnnkit.Schedule("cosine", warmup_steps=10).scale(0, 5)


def test_optimizers_and_schedules_match_pytorch():
    """Each case of tests/data/oracle/optimizers.json: the schedule's factor at every step, and the
    optimizer's update with it (PyTorch's weight_decay of SGD and Adam adds wd * w to g)."""
    for case in oracle("optimizers.json")["cases"]:
        spec, schedule = dict(case["optimizer"]), dict(case["schedule"])
        kind = spec.pop("type")
        optimizer = getattr(cnnkit, kind)(**spec)
        plan = cnnkit.Schedule(**schedule)
        w = array(case["weights"])
        for t, step in enumerate(case["steps"]):
            factor = plan.scale(t, len(case["steps"]))
            assert factor == pytest.approx(step["scale"], rel=1e-6), f"{case['name']} step {t}"
            optimizer.learning_rate_scale = factor
            g = array(step["gradient"]) + np.float32(case["l2_weight_decay"]) * w
            w = optimizer.calculate_update(w, g.astype(np.float32))
            close(w, array(step["weights"], np.float64), f"{case['name']} step {t}")


@pytest.mark.parametrize("case", oracle("ConvOptions.json")["cases"], ids=lambda c: c["name"])
def test_conv_padding_dilation_groups_match_pytorch(case):
    params = case["params"]
    layer = cnnkit.Conv(params["stride"], params["convolution_shape"], params["kernels"],
                        padding=params["padding"], dilation=params["dilation"],
                        groups=params["groups"])
    assert layer.groups == params["groups"] and list(layer.dilation) == list(params["dilation"])
    weights, bias = case["parameters"]
    layer.weights = array(weights)
    layer.bias = array(bias)
    tensors = case["tensors"]
    close(layer.forward(array(tensors["input"])), array(tensors["output"]), "forward")
    close(layer.backward(array(tensors["error"])), array(tensors["input_error"]), "input error")
    close(layer.gradient_weights, array(case["gradients"][0]), "weight gradient")
    close(layer.gradient_bias, array(case["gradients"][1]), "bias gradient")


def test_conv_options_in_float64_pass_the_gradient_check():
    layers = [cnnkit.Conv(2, (4, 3, 3), 6, padding=[(0, 1), 2], dilation=(2, 1), groups=2,
                          dtype=np.float64)]
    layers[0].initialize(cnnkit.He(dtype=np.float64), cnnkit.Constant(0.1, dtype=np.float64))
    x = np.random.default_rng(3).standard_normal((2, 4, 7, 6))
    label = np.random.default_rng(4).standard_normal(layers[0].output_shape(x.shape))
    errors = cnnkit.gradient_check(layers, cnnkit.L2Loss(dtype=np.float64), x, label)
    assert errors and max(errors.values()) < 1e-5, errors


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(groups=3), ValueError, "groups"), (dict(dilation=0), ValueError, "dilation"),
    (dict(padding="full"), ValueError, "padding"), (dict(padding=[(1, 2, 3)]), ValueError,
                                                    "padding"),
    (dict(padding=1.5), TypeError, "padding")])
def test_bad_conv_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        cnnkit.Conv(1, (4, 3, 3), 4, **kwargs)


def test_softmax_cross_entropy_and_reduction_match_pytorch():
    for case in oracle("SoftmaxCrossEntropy.json")["cases"]:
        loss = cnnkit.SoftmaxCrossEntropyLoss(case["reduction"])
        assert (loss.type, loss.reduction) == ("SoftmaxCrossEntropy", case["reduction"])
        logits, label = array(case["logits"]), array(case["label"])
        close([loss.forward(logits, label)], [case["loss"]], case["name"] + " loss")
        close(loss.backward(label), array(case["gradient"]), case["name"] + " gradient")
        close(loss.prediction_from(logits), array(case["probabilities"]),
              case["name"] + " probabilities")


def test_mean_reduction_divides_loss_and_error_by_the_batch():
    prediction = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]], np.float64)
    label = np.array([[0, 1], [1, 0], [0, 1]], np.float64)
    total, mean = (cnnkit.CrossEntropyLoss(r, dtype=np.float64) for r in ("sum", "mean"))
    expected = -(math.log(0.8) + math.log(0.6) + math.log(0.5))
    assert total.forward(prediction, label) == pytest.approx(expected, rel=1e-12)
    assert mean.forward(prediction, label) == pytest.approx(expected / 3, rel=1e-12)
    np.testing.assert_allclose(mean.backward(label), total.backward(label) / 3, rtol=1e-14)
    l2 = cnnkit.L2Loss("mean", dtype=np.float64)
    assert l2.forward(prediction, label) == pytest.approx(np.sum((prediction - label) ** 2) / 3)
    with pytest.raises(ValueError, match="'sum' or 'mean'|sum|mean"):
        cnnkit.CrossEntropyLoss("average")


def test_batch_norm_settings_and_running_statistics_views():
    layer = cnnkit.BatchNorm(3, momentum=0.25, epsilon=1e-3)
    assert (layer.channels, layer.momentum, layer.epsilon) == (3, 0.25, pytest.approx(1e-3))
    mean_view, var_view = layer.running_mean, layer.running_var
    np.testing.assert_array_equal(mean_view, [0, 0, 0])
    np.testing.assert_array_equal(var_view, [1, 1, 1])
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2)  # channel c: 4c..4c+3 and 12+4c..
    layer.forward(x)
    # Channel 0 holds 0..3 and 12..15: mean 7.5, unbiased variance over 8 values 165/7 ... by hand:
    values = np.concatenate([x[:, c].ravel() for c in range(3)]).reshape(3, 8)
    batch_mean, batch_var = values.mean(axis=1), values.var(axis=1, ddof=1)
    # The views taken before the step see the new running statistics (the layer's own buffers).
    np.testing.assert_allclose(mean_view, 0.75 * 0 + 0.25 * batch_mean, rtol=1e-6)
    np.testing.assert_allclose(var_view, 0.75 * 1 + 0.25 * batch_var, rtol=1e-6)
    assert batch_mean[0] == 7.5
    with pytest.raises(ValueError, match="momentum"):
        cnnkit.BatchNorm(3, momentum=1.5)
    with pytest.raises(ValueError, match="epsilon"):
        cnnkit.BatchNorm(3, epsilon=0.0)


def graph_step(configure):
    """One Graph.train_step of a float64 FullyConnected with Sgd(1): the weights before and
    after."""
    cnnkit.set_seed(1)  # the same initial weights every time
    graph = cnnkit.Graph(dtype=np.float64)
    layer = cnnkit.FullyConnected(3, 2, dtype=np.float64)
    graph.append(layer)
    graph.initialize(cnnkit.He(dtype=np.float64), cnnkit.Constant(0.5, dtype=np.float64))
    graph.set_optimizer(cnnkit.Sgd(1.0, dtype=np.float64))
    configure(graph)
    x = np.array([[1.0, 2.0, -1.0], [0.5, -0.5, 2.0]])
    label = np.array([[1.0, 0.0], [0.0, 1.0]])
    before = (layer.weights.copy(), layer.bias.copy())
    graph.train_step(x, label, cnnkit.L2Loss(dtype=np.float64))
    gradient = (layer.gradient_weights.copy(), layer.gradient_bias.copy())
    return before, (layer.weights.copy(), layer.bias.copy()), gradient


def test_graph_update_phase_clipping_weight_decay_and_rate_scale():
    # Sgd(1): the step is the clipped gradient, of global norm 0.01 (the L2 loss's is ~ 10).
    (w0, b0), (w, b), _ = graph_step(lambda g: g.add_gradient_clipping(0.01))
    assert math.hypot(np.linalg.norm(w - w0), np.linalg.norm(b - b0)) == pytest.approx(0.01,
                                                                                     rel=1e-4)
    (w0, b0), (w, b), _ = graph_step(lambda g: g.add_weight_decay(0.1, False))
    (_, _), (w_plain, b_plain), _ = graph_step(lambda g: None)
    np.testing.assert_allclose(w - w_plain, -0.1 * w0, rtol=1e-12)  # wd w added to the gradient
    np.testing.assert_array_equal(b, b_plain)  # the bias is left out
    (w0, b0), (w, b), _ = graph_step(lambda g: g.set_learning_rate_scale(0.0))
    np.testing.assert_array_equal(w, w0)
    with pytest.raises(ValueError, match="clip_norm"):
        cnnkit.Graph().add_gradient_clipping(0.0)
    with pytest.raises(ValueError, match="weight_decay"):
        cnnkit.Graph().add_weight_decay(-1.0)
