"""Dropout from Python: the kept fraction and scale of inverted dropout, the same mask in
backward, the identity in the testing phase, and a clear error for p outside [0, 1)."""
import numpy as np
import pytest

import cnnkit


def test_kept_fraction_and_scale():
    layer = cnnkit.Dropout(0.25)
    x = np.ones((8, 1000), dtype=np.float32)
    y = np.array(layer.forward(x))
    kept = np.count_nonzero(y)
    # 8000 draws kept with probability 0.75: mean 6000, sd sqrt(8000 * 0.75 * 0.25) = 38.7; five
    # standard deviations either side.
    assert abs(kept - 6000) <= 5 * 38.73
    assert np.all(y[y != 0] == np.float32(1.0) / np.float32(0.75))


def test_backward_uses_the_forward_mask():
    layer = cnnkit.Dropout(0.5, dtype=np.float64)
    x = np.arange(1.0, 401.0).reshape(4, 100)
    y = np.array(layer.forward(x))
    error = np.full((4, 100), 3.0)
    input_error = np.array(layer.backward(error))
    np.testing.assert_array_equal(input_error, np.where(y != 0, 6.0, 0.0))


def test_identity_in_the_testing_phase():
    layer = cnnkit.Dropout(0.9)
    layer.testing_phase = True
    x = np.random.default_rng(0).standard_normal((3, 7)).astype(np.float32)
    np.testing.assert_array_equal(np.array(layer.forward(x)), x)


@pytest.mark.parametrize("p", [-0.1, 1.0, float("nan")])
def test_p_outside_the_unit_interval_is_a_value_error(p):
    with pytest.raises(ValueError, match="Dropout"):
        cnnkit.Dropout(p)
