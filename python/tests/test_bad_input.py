"""Bad input from Python: every case a Python exception with cnnkit's message, never a crash."""

import numpy as np
import pytest

import cnnkit


def digits_model():
    return cnnkit.Model("digits-cnn", seed=0)


def test_float64_where_float32_expected():
    with pytest.raises(TypeError, match="Conv.forward: expected a float32 array, got float64"):
        cnnkit.Conv(1, (1, 3, 3), 2).forward(np.zeros((1, 1, 4, 4)))


def test_float32_where_float64_expected():
    with pytest.raises(TypeError, match="expected a float64 array, got float32"):
        cnnkit.ReLU(dtype=np.float64).forward(np.zeros((1, 3), np.float32))


def test_int_arrays_and_lists():
    with pytest.raises(TypeError, match="expected a float32 array, got int64"):
        cnnkit.ReLU().forward(np.zeros((1, 3), np.int64))
    with pytest.raises(TypeError, match="expected a numpy array of float32, got list"):
        cnnkit.ReLU().forward([[1.0, 2.0]])


def test_unknown_dtype_argument():
    with pytest.raises(TypeError, match="expected dtype float32 or float64, got int32"):
        cnnkit.ReLU(dtype=np.int32)


def test_non_contiguous_and_negative_stride_views():
    x = np.zeros((2, 6), np.float32)
    with pytest.raises(ValueError, match="expected a C-contiguous array, got a strided"):
        cnnkit.ReLU().forward(x[:, ::2])
    with pytest.raises(ValueError, match="C-contiguous"):
        cnnkit.ReLU().forward(x[:, ::-1])
    with pytest.raises(ValueError, match="C-contiguous"):
        digits_model().predict(np.zeros((8, 8, 1, 4), np.float32).transpose(3, 2, 0, 1))


def test_wrong_ranks_and_shapes():
    with pytest.raises(ValueError, match=r"Conv: expected input of rank"):
        cnnkit.Conv(1, (1, 3, 3), 2).forward(np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"FullyConnected: expected input of shape \[batch, 3\]"):
        cnnkit.FullyConnected(3, 2).forward(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="rank 1 to 8"):
        cnnkit.ReLU().forward(np.array(1.0, np.float32))
    with pytest.raises(ValueError, match=r"expects x of shape \[5, 1, 8, 8\], got \(5, 1, 8, 9\)"):
        digits_model().predict(np.zeros((5, 1, 8, 9), np.float32))
    with pytest.raises(ValueError, match=r"expected shape \[4, 1, 3, 3\], got \(4, 1, 3\)"):
        cnnkit.Conv(1, (1, 3, 3), 4).weights = np.zeros((4, 1, 3), np.float32)
    with pytest.raises(ValueError, match="expected extents >= 0, got -1"):
        cnnkit.Pooling(-1, 2)


def test_labels_out_of_range_and_of_wrong_type():
    (x, y, _), _ = cnnkit.load_digits()
    bad = y.copy()
    bad[5] = 10
    with pytest.raises(ValueError, match=r"fit y: expected class indices in \[0, 10\), got 10 at position 5"):
        digits_model().fit(x, bad, verbose=False)
    bad[5] = -1
    with pytest.raises(ValueError, match="got -1 at position 5"):
        digits_model().fit(x, bad, verbose=False)
    with pytest.raises(TypeError, match="expected integer class indices, got a float64 array"):
        digits_model().fit(x, y.astype(np.float64), verbose=False)
    with pytest.raises(ValueError, match=r"expected shape \(1198,\), one class index per sample"):
        digits_model().fit(x, y[:10], verbose=False)
    with pytest.raises(ValueError, match="got 12 at position 0"):
        cnnkit.ArrayDataLayer(x[:2], np.array([12, 0]), 2, num_classes=10)


def test_nan_inputs_are_refused_by_the_model_api():
    (x, y, _), _ = cnnkit.load_digits()
    x = x.copy()
    x[3, 0, 2, 1] = np.nan
    message = r"expected finite values, got nan in sample 3"
    with pytest.raises(ValueError, match="fit x: " + message):
        digits_model().fit(x, y, verbose=False)
    with pytest.raises(ValueError, match="evaluate x: " + message):
        digits_model().evaluate(x, y)
    with pytest.raises(ValueError, match="Model.predict x: " + message):
        digits_model().predict(x)
    # predict checks batch by batch: the message still counts samples from the start.
    late = np.nan_to_num(x.copy(), nan=0.0)
    late[1005, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="Model.predict x: expected finite values, got nan in "
                                         "sample 1005"):
        digits_model().predict(late, batch_size=1000)
    x[3, 0, 2, 1] = -np.inf
    with pytest.raises(ValueError, match="ArrayDataLayer inputs: expected finite values, got -inf"):
        cnnkit.ArrayDataLayer(x, y, 10)


def test_file_that_is_not_a_model(tmp_path):
    path = tmp_path / "not-a-model.safetensors"
    path.write_bytes(b"this is not a safetensors file at all")
    with pytest.raises(ValueError, match="not-a-model.safetensors"):
        cnnkit.Model.load(path)


def test_missing_files_are_os_errors(tmp_path):
    with pytest.raises(OSError, match="missing.safetensors"):
        cnnkit.Model.load(tmp_path / "missing.safetensors")
    with pytest.raises(OSError, match="missing.csv"):
        cnnkit.load_csv(str(tmp_path / "missing.csv"))
    with pytest.raises(OSError, match="nowhere"):
        cnnkit.load_fashion_mnist(str(tmp_path / "nowhere"))
    with pytest.raises(OSError, match="missing.json"):
        cnnkit.Model(str(tmp_path / "missing.json"))


def test_bad_descriptions():
    with pytest.raises(ValueError, match="unknown parameter 'kernal'"):
        cnnkit.Model({"name": "x", "input_shape": [1, 8, 8],
                      "layers": [{"type": "Conv", "kernal": 3}]})
    with pytest.raises(ValueError, match="invalid JSON"):
        cnnkit.Model('{"name": ')


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match=r"Conv: expected a fresh forward\(\) before backward\(\).*got backward\(\) first"):
        cnnkit.Conv(1, (1, 3, 3), 2).backward(np.zeros((1, 2, 4, 4), np.float32))
    relu = cnnkit.ReLU()
    relu.forward(np.ones((1, 2), np.float32))
    relu.backward(np.ones((1, 2), np.float32))
    with pytest.raises(RuntimeError, match=r"ReLU: expected a fresh forward\(\)"):
        relu.backward(np.ones((1, 2), np.float32))


def test_network_without_data_layer():
    net = cnnkit.NeuralNetwork(cnnkit.Sgd(0.1), cnnkit.He(), cnnkit.Constant())
    net.append_layer(cnnkit.ReLU())
    with pytest.raises((RuntimeError, ValueError), match="data layer"):
        net.forward()


def test_optimizer_and_loss_shape_mismatch():
    with pytest.raises(ValueError, match=r"expected a gradient of the weights' shape \[2\], got \[3\]"):
        cnnkit.Sgd(0.1).calculate_update(np.zeros(2, np.float32), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="expected a label of the prediction's shape"):
        cnnkit.CrossEntropyLoss().forward(np.ones((2, 3), np.float32), np.ones((2, 4), np.float32))


def test_a_python_layer_without_forward_is_refused_with_a_message():
    class Empty(cnnkit.Layer):
        pass

    with pytest.raises(RuntimeError, match=r"Empty: expected a method forward\(self, array\)"):
        Empty().forward(np.ones((1, 2), np.float32))


def test_bad_thread_count():
    with pytest.raises(ValueError, match="1024"):
        cnnkit.set_num_threads(5000)
