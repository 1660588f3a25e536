"""A layer Python holds keeps its own behaviour outside the networks and graphs that use it."""

import numpy as np

import cnnkit


def test_a_layer_used_alone_after_a_network_updates_its_weights_in_backward():
    # The network defers the updates of the layers it holds (its engine runs the optimizers after
    # the whole backward pass) and skips the input error of its first layer; used alone again, the
    # layer is the lecture's: backward() computes the input error and updates the weights.
    (x, y, _), _ = cnnkit.load_digits()
    cnnkit.set_seed(5)
    net = cnnkit.NeuralNetwork(cnnkit.Sgd(0.01), cnnkit.He(), cnnkit.Constant(0.1))
    dense = cnnkit.FullyConnected(64, 10)
    for layer in [cnnkit.Flatten(), dense, cnnkit.SoftMax()]:
        net.append_layer(layer)
    net.set_loss_layer(cnnkit.CrossEntropyLoss())
    net.set_data_layer(cnnkit.ArrayDataLayer(x, y, 50))
    net.train(2)

    first = cnnkit.FullyConnected(2, 2)
    net2 = cnnkit.NeuralNetwork(cnnkit.Sgd(0.01), cnnkit.He(), cnnkit.Constant(0.1))
    net2.append_layer(first)  # the first layer: no input error needed inside the network
    net2.append_layer(cnnkit.SoftMax())
    net2.set_loss_layer(cnnkit.CrossEntropyLoss())
    net2.set_data_layer(cnnkit.ArrayDataLayer(np.ones((4, 2), np.float32),
                                              np.array([0, 1, 0, 1]), 2))
    net2.train(1)

    dense.weights = np.zeros((64, 10), np.float32)
    first.weights = np.array([[0, 1], [2, 3]], np.float32)
    # first: W = [[0, 1], [2, 3]], b = 0; x = (1, 2), E = (1, -1).
    first.bias = np.zeros((1, 2), np.float32)
    first.set_optimizer(cnnkit.Sgd(0.5))
    assert not first.testing_phase
    np.testing.assert_array_equal(first.forward(np.array([[1, 2]], np.float32)), [[4, 7]])
    # dL/dx = E W^T = (0 - 1, 2 - 3); dL/dW = x^T E = [[1, -1], [2, -2]]; W -= 0.5 dL/dW.
    np.testing.assert_array_equal(first.backward(np.array([[1, -1]], np.float32)), [[-1, -1]])
    np.testing.assert_array_equal(first.gradient_weights, [[1, -1], [2, -2]])
    np.testing.assert_array_equal(first.weights, [[-0.5, 1.5], [1, 4]])
    np.testing.assert_array_equal(first.bias, [[-0.5, 0.5]])

    dense.set_optimizer(cnnkit.Sgd(1.0))
    dense.forward(np.ones((1, 64), np.float32))
    dense.backward(np.ones((1, 10), np.float32))
    np.testing.assert_array_equal(dense.weights, np.full((64, 10), -1, np.float32))
    # The network still trains its layers with deferred updates.
    net.train(1)
    assert len(net.loss) == 3
