"""Graphs built from Python (Graph.add(name, layer, inputs)) compute, train and predict the same
bits as the same graph described in JSON and built by the library (Model)."""

import numpy as np
import pytest

import cnnkit

RESIDUAL = {
    "name": "residual-digits", "input_shape": [1, 8, 8],
    "layers": [
        {"type": "Conv", "name": "conv1", "kernels": 4, "kernel": 3},
        {"type": "ReLU", "name": "relu1"},
        {"type": "Conv", "name": "conv2", "kernels": 4, "kernel": 3},
        {"type": "Add", "name": "sum", "inputs": ["conv2", "relu1"]},
        {"type": "ReLU", "name": "relu2"},
        {"type": "Conv", "name": "branch", "kernels": 2, "kernel": 1, "inputs": ["relu1"]},
        {"type": "Concat", "name": "joined", "inputs": ["relu2", "branch"]},
        {"type": "Flatten"},
        {"type": "FullyConnected", "outputs": 10},
        {"type": "SoftMax"},
    ],
    "optimizer": {"type": "Adam", "learning_rate": 0.005, "mu": 0.9, "rho": 0.999},
    "loss": "CrossEntropyLoss",
}


def python_graph():
    """RESIDUAL, node by node from Python."""
    graph = cnnkit.Graph()
    graph.add("conv1", cnnkit.Conv(1, (1, 3, 3), 4), ["input"])
    graph.add("relu1", cnnkit.ReLU(), ["conv1"])
    graph.add("conv2", cnnkit.Conv(1, (4, 3, 3), 4), ["relu1"])
    graph.add("sum", cnnkit.Add(), ["conv2", "relu1"])
    graph.add("relu2", cnnkit.ReLU(), ["sum"])
    graph.add("branch", cnnkit.Conv(1, (4, 1, 1), 2), ["relu1"])
    graph.add("joined", cnnkit.Concat(), ["relu2", "branch"])
    graph.add("layer7", cnnkit.Flatten(), ["joined"])
    graph.add("layer8", cnnkit.FullyConnected(6 * 8 * 8, 10), ["layer7"])
    graph.add("layer9", cnnkit.SoftMax(), ["layer8"])
    return graph


def test_a_graph_from_python_trains_and_predicts_the_bits_of_the_json_model():
    (x, y, _), (tx, _, _) = cnnkit.load_digits()
    model = cnnkit.Model(RESIDUAL, seed=4)
    graph = python_graph()
    assert graph.names == [n.get("name", f"layer{i}") for i, n in enumerate(RESIDUAL["layers"])]
    assert graph.output_shape((5, 1, 8, 8)) == (5, 10)
    for ours, theirs in zip(graph.layers, model.layers):
        assert ours.type == theirs.type
        if theirs.trainable:
            ours.weights = theirs.weights
            ours.bias = theirs.bias
    graph.set_optimizer(cnnkit.Adam(0.005, 0.9, 0.999))
    np.testing.assert_array_equal(graph.infer(tx), model.predict(tx))

    loss = cnnkit.CrossEntropyLoss()
    for step in range(3):
        batch = slice(32 * step, 32 * step + 32)
        theirs = model.train_on_batch(x[batch], y[batch])
        ours = graph.train_step(x[batch], np.eye(10, dtype=np.float32)[y[batch]], loss)
        assert ours == theirs and ours > 0
    for ours, theirs in zip(graph.layers, model.layers):
        if theirs.trainable:
            np.testing.assert_array_equal(ours.weights, theirs.weights)
            np.testing.assert_array_equal(ours.bias, theirs.bias)
    prediction = graph.infer(tx)
    np.testing.assert_array_equal(prediction, model.predict(tx))
    # The steps changed the weights: the predictions moved.
    assert not np.array_equal(prediction, cnnkit.Model(RESIDUAL, seed=4).predict(tx))


def test_graph_forward_backward_update_is_train_step():
    cnnkit.set_seed(9)
    x = np.random.default_rng(1).standard_normal((4, 1, 8, 8)).astype(np.float32)
    label = np.eye(10, dtype=np.float32)[[1, 2, 3, 4]]
    graphs = [python_graph(), python_graph()]
    for graph in graphs:
        cnnkit.set_seed(9)
        graph.initialize(cnnkit.He(), cnnkit.Constant(0.1))
        graph.set_optimizer(cnnkit.Sgd(0.1))
    loss = cnnkit.CrossEntropyLoss()
    value = graphs[0].train_step(x, label, loss)
    loss.forward(graphs[1].forward(x), label)
    graphs[1].backward(loss.backward(label))
    graphs[1].update()
    for a, b in zip(*[g.layers for g in graphs]):
        if a.trainable:
            np.testing.assert_array_equal(a.weights, b.weights)
    assert value > 0


def test_a_graph_that_does_not_fit_is_a_value_error_naming_the_node():
    graph = cnnkit.Graph().add("relu", cnnkit.ReLU(), ["nowhere"])
    with pytest.raises(ValueError, match="relu.*nowhere"):
        graph.infer(np.ones((1, 2), np.float32))
    with pytest.raises(TypeError, match="Graph.add 'conv': expected a cnnkit layer of dtype "
                                        "float32, got Conv_float64"):
        cnnkit.Graph().add("conv", cnnkit.Conv(1, (1, 3), 2, dtype=np.float64), ["input"])
    assert isinstance(cnnkit.Graph(), cnnkit.Graph) and isinstance(cnnkit.Add(), cnnkit.Layer)
