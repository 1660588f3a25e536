"""Model in float64: the same API as float32, arrays of float64, the same model files."""

import numpy as np
import pytest

import cnnkit


def test_a_float64_model_computes_what_the_float32_one_does_in_double(tmp_path):
    (x, y, _), (tx, ty, _) = cnnkit.load_digits()
    single = cnnkit.Model("digits-cnn", seed=0)
    double = cnnkit.Model("digits-cnn", seed=0, dtype=np.float64)
    assert double.dtype == np.float64 and single.dtype == np.float32
    for ours, theirs in zip(double.layers, single.layers):
        if theirs.trainable:
            assert ours.weights.dtype == np.float64
            ours.weights = theirs.weights.astype(np.float64)
            ours.bias = theirs.bias.astype(np.float64)
    x64, tx64 = x.astype(np.float64), tx.astype(np.float64)
    prediction = double.predict(tx64)
    assert prediction.dtype == np.float64 and prediction.shape == (599, 10)
    np.testing.assert_allclose(prediction, single.predict(tx), rtol=1e-4, atol=1e-6)
    assert not np.array_equal(prediction, single.predict(tx).astype(np.float64))

    # Trained alike from the same weights and batches, the two stay close: float64 differs from
    # float32 only by rounding.
    history = double.fit(x64, y, epochs=3, batch_size=32, validation_data=(tx64, ty), seed=1,
                         verbose=False)
    reference = single.fit(x, y, epochs=3, batch_size=32, validation_data=(tx, ty), seed=1,
                           verbose=False)
    np.testing.assert_allclose(history["loss"], reference["loss"], rtol=1e-4)
    np.testing.assert_allclose(history["val_accuracy"], reference["val_accuracy"], atol=0.01)
    assert history["val_accuracy"][-1] > 0.85 and history["loss"][-1] < history["loss"][0] / 2
    scores = double.evaluate(tx64, ty)
    assert scores["accuracy"] == history["val_accuracy"][-1]

    double.save(tmp_path / "double.safetensors")
    loaded = cnnkit.Model.load(tmp_path / "double.safetensors", dtype=np.float64)
    np.testing.assert_array_equal(loaded.predict(tx64), double.predict(tx64))
    # The float32 reader takes the float64 file, rounded.
    as_single = cnnkit.Model.load(tmp_path / "double.safetensors")
    np.testing.assert_array_equal(as_single.layers[0].weights,
                                  double.layers[0].weights.astype(np.float32))


def test_a_float64_model_refuses_float32_arrays():
    (x, y, _), _ = cnnkit.load_digits()
    model = cnnkit.Model("digits-cnn", seed=0, dtype=np.float64)
    with pytest.raises(TypeError, match="fit x: expected a float64 array, got float32"):
        model.fit(x, y, verbose=False)
    with pytest.raises(TypeError, match="Model.predict x: expected a float64 array"):
        model.predict(x)
    with pytest.raises(TypeError, match="expected dtype float32 or float64, got int32"):
        cnnkit.Model("digits-cnn", dtype=np.int32)
