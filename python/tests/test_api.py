"""The lecture's API from Python: worked values, views, the network, the model API."""

import json
import os

import numpy as np
import pytest

import cnnkit


def test_fully_connected_forward_is_x_w_plus_b():
    layer = cnnkit.FullyConnected(3, 2)
    layer.weights = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32)
    layer.bias = np.array([[0.5, -1]], dtype=np.float32)
    x = np.array([[1, 0, -1], [2, 1, 0]], dtype=np.float32)
    np.testing.assert_array_equal(layer.forward(x), [[-3.5, -5], [5.5, 7]])
    # The lecture's combined matrix: the bias as last row.
    np.testing.assert_array_equal(layer.weights_with_bias()[-1], [0.5, -1])


def test_relu_backward_passes_error_where_input_positive():
    relu = cnnkit.ReLU(dtype=np.float64)
    out = relu.forward(np.array([[-1.0, 2.0, 0.0, 3.0]]))
    np.testing.assert_array_equal(out, [[0, 2, 0, 3]])
    np.testing.assert_array_equal(relu.backward(np.array([[5.0, 6.0, 7.0, 8.0]])), [[0, 6, 0, 8]])
    assert out.dtype == np.float64
    assert isinstance(relu, cnnkit.ReLU) and isinstance(relu, cnnkit.Layer)
    assert not isinstance(relu, cnnkit.Conv)


def test_weight_views_share_memory_keep_layer_alive_and_survive_initialize():
    layer = cnnkit.Conv((1, 1), (2, 3, 3), 4)
    weights = layer.weights
    bias = layer.bias
    assert weights.shape == (4, 2, 3, 3) and bias.shape == (4,)
    weights[0, 0, 0, 0] = 42.0
    assert layer.weights[0, 0, 0, 0] == 42.0
    layer.initialize(cnnkit.Constant(0.25), cnnkit.Constant(-0.5))
    assert np.all(weights == 0.25) and np.all(bias == -0.5)  # the old views see the new values
    del layer
    assert np.all(weights == 0.25)  # the view keeps the layer alive


def test_gradient_view_after_backward_and_optimizer_update_in_place():
    cnnkit.set_seed(3)
    layer = cnnkit.FullyConnected(4, 3)
    weights = layer.weights
    before = weights.copy()
    layer.set_optimizer(cnnkit.Sgd(0.5))
    x = np.ones((2, 4), dtype=np.float32)
    layer.forward(x)
    layer.backward(np.ones((2, 3), dtype=np.float32))
    # dL/dW = x^T E = 2 everywhere; w -= 0.5 * 2.
    np.testing.assert_array_equal(layer.gradient_weights, np.full((4, 3), 2.0, np.float32))
    np.testing.assert_allclose(weights, before - 1.0, rtol=0, atol=1e-6)


def test_optimizers_calculate_update():
    w = np.array([1.0, 2.0], dtype=np.float32)
    g = np.array([0.5, -1.0], dtype=np.float32)
    np.testing.assert_allclose(cnnkit.Sgd(0.1).calculate_update(w, g), [0.95, 2.1], rtol=1e-6)
    momentum = cnnkit.SgdWithMomentum(0.1, 0.9)
    momentum.calculate_update(w, g)
    # v1 = -0.1 g; v2 = 0.9 v1 - 0.1 g = -0.19 g; from the same w: w - 0.19 g.
    np.testing.assert_allclose(momentum.calculate_update(w, g), [0.905, 2.19], rtol=1e-6)
    adam = cnnkit.Adam(0.01, 0.9, 0.999)
    # The first Adam step moves each weight by lr against the gradient's sign.
    np.testing.assert_allclose(adam.calculate_update(w, g), [0.99, 2.01], rtol=1e-5)
    assert adam.step == 1


def test_initializers_and_seed():
    cnnkit.set_seed(7)
    a = cnnkit.He().initialize((100, 50), 50, 100)
    cnnkit.set_seed(7)
    b = cnnkit.He().initialize((100, 50), 50, 100)
    np.testing.assert_array_equal(a, b)
    assert abs(a.std() - np.sqrt(2 / 50)) < 0.01
    np.testing.assert_array_equal(cnnkit.Constant(0.3).initialize(2, 1, 1),
                                  np.full(2, 0.3, np.float32))


def test_losses():
    loss = cnnkit.L2Loss(dtype=np.float64)
    assert loss.forward(np.array([[1.0, 2.0]]), np.array([[0.0, 4.0]])) == 5.0
    np.testing.assert_array_equal(loss.backward(np.array([[0.0, 4.0]])), [[2.0, -4.0]])


def test_gradient_check_of_a_small_cnn():
    cnnkit.set_seed(1)
    f64 = np.float64
    layers = [cnnkit.Conv((2, 1), (2, 3, 2), 3, dtype=f64), cnnkit.ReLU(dtype=f64),
              cnnkit.Pooling(2, 2, dtype=f64), cnnkit.Flatten(dtype=f64),
              cnnkit.FullyConnected(3 * 1 * 2, 4, dtype=f64), cnnkit.SoftMax(dtype=f64)]
    for layer in layers:
        if layer.trainable:
            layer.initialize(cnnkit.He(dtype=f64), cnnkit.Constant(0.1, dtype=f64))
    x = np.random.default_rng(0).normal(size=(2, 2, 5, 4))
    label = np.eye(4)[[1, 3]]
    errors = cnnkit.gradient_check(layers, cnnkit.CrossEntropyLoss(dtype=f64), x, label)
    assert "input" in errors and len(errors) == 5
    assert max(errors.values()) < 1e-5, errors


def test_neural_network_trains_on_digits():
    (x, y, names), (tx, ty, _) = cnnkit.load_digits()
    assert x.shape == (1198, 1, 8, 8) and tx.shape == (599, 1, 8, 8) and len(names) == 10
    cnnkit.set_seed(1)
    net = cnnkit.NeuralNetwork(cnnkit.Adam(5e-3, 0.98, 0.999), cnnkit.He(), cnnkit.Constant(0.1))
    conv = cnnkit.Conv(1, (1, 3, 3), 4)
    for layer in [conv, cnnkit.ReLU(), cnnkit.Pooling(2, 2), cnnkit.Flatten(),
                  cnnkit.FullyConnected(64, 10), cnnkit.SoftMax()]:
        net.append_layer(layer)
    net.set_loss_layer(cnnkit.CrossEntropyLoss())
    net.set_data_layer(cnnkit.ArrayDataLayer(x, y, 200))
    weights = conv.weights
    before = weights.copy()
    net.train(200)
    assert len(net.loss) == 200 and net.loss[-1] < net.loss[0] / 4
    assert not np.array_equal(weights, before)  # the Python-held layer is the trained one
    assert net.layers[0] is not None and net.layers[0].type == "Conv"
    accuracy = np.mean(net.test(tx).argmax(axis=1) == ty)
    assert accuracy > 0.85


def test_model_fit_predict_evaluate_save_load(tmp_path):
    (x, y, _), (tx, ty, _) = cnnkit.load_digits()
    model = cnnkit.Model("digits-cnn", seed=0)
    assert model.input_shape == (1, 8, 8)
    assert "Conv" in model.summary()
    seen = []
    history = model.fit(x, y, epochs=2, batch_size=32, validation_data=(tx, ty),
                        callbacks=[seen.append], verbose=False)
    assert len(history["loss"]) == 2 and len(seen) == 2
    assert history["val_accuracy"][-1] > 0.75
    scores = model.evaluate(tx, ty)
    assert scores["accuracy"] == pytest.approx(history["val_accuracy"][-1])
    probabilities = model.predict(tx)
    assert probabilities.shape == (599, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    assert np.mean(probabilities.argmax(axis=1) == ty) == pytest.approx(scores["accuracy"])
    path = tmp_path / "digits.safetensors"
    model.save(path)
    loaded = cnnkit.Model.load(path)
    np.testing.assert_array_equal(loaded.predict(tx), probabilities)
    np.testing.assert_array_equal(loaded.layers[0].weights, model.layers[0].weights)


def test_model_from_dict_and_json_file(tmp_path):
    description = {"name": "tiny", "input_shape": [4],
                   "layers": [{"type": "FullyConnected", "outputs": 3}, {"type": "SoftMax"}]}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(description))
    a = cnnkit.Model(description, seed=5)
    b = cnnkit.Model(str(path), seed=5)
    np.testing.assert_array_equal(a.layers[0].weights, b.layers[0].weights)
    assert a.description["name"] == "tiny"


def test_same_seed_same_fit():
    (x, y, _), _ = cnnkit.load_digits()
    histories = []
    for _ in range(2):
        model = cnnkit.Model("digits-cnn", seed=4)
        histories.append(model.fit(x, y, epochs=1, seed=9, verbose=False)["loss"])
    assert histories[0] == histories[1]


def test_set_num_threads():
    cnnkit.set_num_threads(1)
    assert cnnkit.num_threads() == 1
    cnnkit.set_num_threads(0)
    assert cnnkit.num_threads() >= 1


def test_csv_loader(tmp_path, data_dir):
    path = tmp_path / "points.csv"
    path.write_text("x,y,label\n1,2,a\n3,4,b\n")
    x, y, names = cnnkit.load_csv(str(path), label_column=-1)
    np.testing.assert_array_equal(x, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(y, [0, 1])
    assert names == ["a", "b"]


def test_every_public_name_has_a_docstring():
    for name in cnnkit.__all__:
        assert getattr(cnnkit, name).__doc__, name
