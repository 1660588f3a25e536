"""Layers written in Python (subclasses of cnnkit.Layer): alone, in a NeuralNetwork, in a Graph and
under gradient_check, with worked values; and what they may not return."""

import numpy as np
import pytest

import cnnkit

f64 = np.float64


class Scale(cnnkit.Layer, dtype=f64):
    """y = x * w, one weight per feature of (batch, features)."""

    def __init__(self, weights):
        super().__init__()
        self.add_parameter("weights", np.asarray(weights, dtype=f64))

    def forward(self, input):
        self.input = input
        return input * self.weights

    def backward(self, error_tensor):
        self.gradient_weights[...] = np.sum(self.input * error_tensor, axis=0)
        return error_tensor * self.weights


class PyReLU(cnnkit.Layer):
    """The built-in ReLU's arithmetic, in Python (float32)."""

    def forward(self, input):
        self.positive = input > 0
        return np.where(self.positive, input, np.float32(0))

    def backward(self, error_tensor):
        return np.where(self.positive, error_tensor, np.float32(0))


class Halve(cnnkit.Layer, dtype=f64):
    """(batch, 2k) -> (batch, k): the sum of the two halves; it changes the shape."""

    def output_shape(self, input_shape):
        return (input_shape[0], input_shape[1] // 2)

    def forward(self, input):
        k = input.shape[1] // 2
        return input[:, :k] + input[:, k:]

    def backward(self, error_tensor):
        return np.concatenate([error_tensor, error_tensor], axis=1)


def test_a_python_layer_alone_worked_values_and_its_optimizer():
    layer = Scale([2.0, -1.0])
    assert isinstance(layer, cnnkit.Layer) and layer.type == "Scale" and layer.trainable
    assert layer.parameter_count == 2
    np.testing.assert_array_equal(layer.forward(np.array([[1.0, 2.0], [3.0, 4.0]])),
                                  [[2, -2], [6, -4]])
    layer.set_optimizer(cnnkit.Sgd(0.5, dtype=f64))
    # dL/dx = E w; dL/dw = sum over the batch of x E = (1 + 3, 2 + 4); w -= 0.5 (4, 6).
    np.testing.assert_array_equal(layer.backward(np.ones((2, 2))), [[2, -1], [2, -1]])
    np.testing.assert_array_equal(layer.gradient_weights, [4, 6])
    np.testing.assert_array_equal(layer.weights, [0, -4])
    np.testing.assert_array_equal(layer.parameter("weights"), [0, -4])
    with pytest.raises(KeyError, match="bias"):
        layer.parameter("bias")


def test_python_layers_pass_gradient_check_in_a_chain_and_in_a_graph():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    label = np.eye(3)[[0, 2, 1]]
    fc = cnnkit.FullyConnected(4, 6, dtype=f64)
    fc.initialize(cnnkit.Xavier(dtype=f64), cnnkit.Constant(0.1, dtype=f64))
    chain = [fc, Scale(rng.standard_normal(6)), Halve(), cnnkit.SoftMax(dtype=f64)]
    errors = cnnkit.gradient_check(chain, cnnkit.CrossEntropyLoss(dtype=f64), x, label)
    assert set(errors) == {"input", "layer 0 (FullyConnected) weights",
                           "layer 0 (FullyConnected) bias", "layer 1 (Scale) weights"}
    assert max(errors.values()) < 1e-6, errors

    graph = cnnkit.Graph(dtype=f64)
    graph.add("fc", fc, ["input"]).add("scale", Scale(rng.standard_normal(6)), ["fc"])
    graph.add("sum", cnnkit.Add(dtype=f64), ["scale", "fc"]).add("halve", Halve(), ["sum"])
    graph.add("softmax", cnnkit.SoftMax(dtype=f64), ["halve"])
    errors = cnnkit.gradient_check(graph, cnnkit.CrossEntropyLoss(dtype=f64), x, label)
    assert "node 'scale' (Scale) weights" in errors and len(errors) == 4
    assert max(errors.values()) < 1e-6, errors


def test_a_planted_wrong_gradient_in_a_python_layer_fails_gradient_check():
    class WrongScale(Scale):
        def backward(self, error_tensor):
            self.gradient_weights[...] = -np.sum(self.input * error_tensor, axis=0)
            return error_tensor * self.weights

    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    errors = cnnkit.gradient_check([WrongScale([1.5, 0.5]), cnnkit.SoftMax(dtype=f64)],
                                   cnnkit.CrossEntropyLoss(dtype=f64), x, np.eye(2))
    assert errors["layer 0 (WrongScale) weights"] > 0.5 and errors["input"] < 1e-6


def train_digits(activation):
    (x, y, _), _ = cnnkit.load_digits()
    cnnkit.set_seed(2)
    net = cnnkit.NeuralNetwork(cnnkit.Adam(5e-3, 0.9, 0.999), cnnkit.He(), cnnkit.Constant(0.1))
    layers = [cnnkit.Flatten(), cnnkit.FullyConnected(64, 16), activation,
              cnnkit.FullyConnected(16, 10), cnnkit.SoftMax()]
    for layer in layers:
        net.append_layer(layer)
    net.set_loss_layer(cnnkit.CrossEntropyLoss())
    net.set_data_layer(cnnkit.ArrayDataLayer(x, y, 64))
    net.train(20)
    return net, layers


def test_a_python_layer_in_a_network_trains_like_the_built_in_one_bit_for_bit():
    ours, python_layers = train_digits(PyReLU())
    theirs, builtin_layers = train_digits(cnnkit.ReLU())
    np.testing.assert_array_equal(ours.loss, theirs.loss)
    for a, b in zip(python_layers, builtin_layers):
        if b.trainable:
            np.testing.assert_array_equal(a.weights, b.weights)
    assert ours.loss[-1] < ours.loss[0] * 0.9
    assert ours.layers[2] is python_layers[2]


def test_the_network_keeps_a_python_layer_alive():
    net = cnnkit.NeuralNetwork(cnnkit.Sgd(0.1), cnnkit.He(), cnnkit.Constant(0.1))
    net.append_layer(PyReLU())  # no other reference
    np.testing.assert_array_equal(net.test(np.array([[-1, 2]], np.float32)), [[0, 2]])
    assert type(net.layers[0]).__name__ == "PyReLU"


class WrongShape(cnnkit.Layer):
    def forward(self, input):
        return input[:, :1]

    def backward(self, error_tensor):
        return error_tensor


class WrongBackward(cnnkit.Layer):
    def forward(self, input):
        return input

    def backward(self, error_tensor):
        return error_tensor[:, :1]


class ReturnsFloat64(cnnkit.Layer):
    def forward(self, input):
        return input.astype(np.float64)

    def backward(self, error_tensor):
        return error_tensor


class Raises(cnnkit.Layer):
    def forward(self, input):
        raise ZeroDivisionError("from Python")

    def backward(self, error_tensor):
        return error_tensor


def test_what_a_python_layer_may_not_return_is_a_python_exception():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"node 'layer0' \(WrongShape\): WrongShape.forward: "
                                         r"expected a result of shape \[2, 3\].*got \[2, 1\]"):
        cnnkit.Graph().append(WrongShape()).infer(x)
    layer = WrongBackward()
    graph = cnnkit.Graph().append(layer)
    graph.forward(x)
    with pytest.raises(ValueError, match=r"WrongBackward.backward: expected a result of the last "
                                         r"input's shape \[2, 3\], got \[2, 1\]"):
        graph.backward(x)
    with pytest.raises(TypeError, match="ReturnsFloat64.forward result: expected a float32 array"):
        cnnkit.Graph().append(ReturnsFloat64()).infer(x)
    net = cnnkit.NeuralNetwork(cnnkit.Sgd(0.1), cnnkit.He(), cnnkit.Constant(0.1))
    net.append_layer(Raises())
    with pytest.raises(ZeroDivisionError, match="from Python"):
        net.test(x)
    with pytest.raises(RuntimeError, match=r"PyReLU: expected a fresh forward\(\) before "
                                           r"backward\(\).*got backward\(\) first"):
        cnnkit.Graph().append(PyReLU()).backward(x)  # backward before forward
    with pytest.raises(TypeError, match="float32 or float64"):
        class Int(cnnkit.Layer, dtype=np.int32):
            pass
