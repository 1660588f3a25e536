"""Model.fit's training settings, each with worked values: the schedule's factor on every step,
clipping to a global norm, L2 and decoupled weight decay (with biases left out), the validation
split with early stopping, augmentation and normalisation, and bad values as ValueError."""

import numpy as np
import pytest

import cnnkit


@pytest.fixture(scope="module")
def digits():
    (x, y, _), _ = cnnkit.load_digits()
    return x, y


def parameters(model):
    """Every trainable tensor of the model, copied, in order."""
    return [np.array(p) for layer in model.layers if layer.trainable
            for p in (layer.weights, layer.bias)]


def one_full_batch_step(digits, **settings):
    """The weights before and after one step on the whole training set (one batch)."""
    x, y = digits
    model = cnnkit.Model("digits-cnn", seed=5)
    before = parameters(model)
    model.fit(x, y, epochs=1, batch_size=len(x), verbose=False, **settings)
    return model, before, parameters(model)


def test_the_schedule_sets_the_learning_rate_of_every_step(digits):
    # A cosine over T = 2 steps (2 epochs of one batch) scales the rate by 1, then by 0.5: the
    # same as a rate of 0.01 for one fit and 0.005 for the next.
    x, y = digits
    scheduled = cnnkit.Model("digits-cnn", seed=5)
    scheduled.fit(x, y, epochs=2, batch_size=len(x), verbose=False, optimizer=cnnkit.Sgd(0.01),
                  schedule="cosine")
    by_hand = cnnkit.Model("digits-cnn", seed=5)
    by_hand.fit(x, y, epochs=1, batch_size=len(x), verbose=False, optimizer=cnnkit.Sgd(0.01))
    by_hand.fit(x, y, epochs=1, batch_size=len(x), verbose=False, optimizer=cnnkit.Sgd(0.005))
    for ours, theirs in zip(parameters(scheduled), parameters(by_hand)):
        np.testing.assert_array_equal(ours, theirs)
    assert scheduled.description["schedule"]["type"] == "cosine"
    assert scheduled.description["optimizer"]["type"] == "Sgd"


def test_clip_norm_bounds_the_step(digits):
    # Sgd with rate 1: the step is the clipped gradient, of global norm clip_norm.
    _, before, after = one_full_batch_step(digits, optimizer=cnnkit.Sgd(1.0), clip_norm=1e-3)
    step = np.sqrt(sum(np.sum((a.astype(np.float64) - b) ** 2) for a, b in zip(after, before)))
    assert step == pytest.approx(1e-3, rel=1e-3)
    _, before, after = one_full_batch_step(digits, optimizer=cnnkit.Sgd(1.0))
    unclipped = np.sqrt(sum(np.sum((a.astype(np.float64) - b) ** 2) for a, b in zip(after, before)))
    assert unclipped > 1.0  # the same step without clipping: the check above can fail


@pytest.mark.parametrize("optimizer", ["Sgd", "AdamW"])
def test_weight_decay_shrinks_the_weights_and_leaves_biases_out(digits, optimizer):
    # One step from the same weights with the same gradient: the decay alone differs, -lr wd w
    # (L2 with Sgd: lr (g + wd w); decoupled with AdamW: w (1 - lr wd) before Adam's step).
    lr, wd = 0.01, 0.1
    plain = cnnkit.Sgd(lr) if optimizer == "Sgd" else cnnkit.AdamW(lr, weight_decay=0.0)
    decayed = cnnkit.Sgd(lr) if optimizer == "Sgd" else cnnkit.AdamW(lr, weight_decay=wd)
    _, before, without = one_full_batch_step(digits, optimizer=plain)
    extra = dict(weight_decay=wd) if optimizer == "Sgd" else {}
    model, _, with_decay = one_full_batch_step(digits, optimizer=decayed,
                                               decay_bias_and_norm=False, **extra)
    for i, (w0, a, b) in enumerate(zip(before, without, with_decay)):
        if i % 2 == 0:  # weights
            np.testing.assert_allclose(b - a, -lr * wd * w0, rtol=2e-3, atol=3e-7)  # a few ulp
        else:  # biases: left out
            np.testing.assert_array_equal(b, a)
    assert model.description["optimizer"]["weight_decay"] == pytest.approx(wd)
    assert model.description["optimizer"]["decay_bias_and_norm"] is False


def test_weight_decay_reaches_biases_by_default(digits):
    lr, wd = 0.01, 0.1
    _, before, without = one_full_batch_step(digits, optimizer=cnnkit.Sgd(lr))
    _, _, with_decay = one_full_batch_step(digits, optimizer=cnnkit.Sgd(lr), weight_decay=wd)
    np.testing.assert_allclose(with_decay[1] - without[1], -lr * wd * before[1], rtol=2e-3)


def test_early_stopping_stops_after_patience_epochs_without_improvement(digits):
    # After the first step the rate is 1e-30 of itself: the weights stay, the validation loss
    # does not improve, and patience 2 stops the run after epoch 1 + 2.
    x, y = digits
    model = cnnkit.Model("digits-cnn", seed=5)
    stopper = cnnkit.EarlyStopping(patience=2)
    history = model.fit(x, y, epochs=10, batch_size=len(x), verbose=False,
                        optimizer=cnnkit.Sgd(0.01), validation_split=0.2,
                        schedule=cnnkit.Schedule("step", step_size=1, gamma=1e-30),
                        callbacks=[stopper])
    assert len(history["val_loss"]) == 3 and stopper.stopped_epoch == 3
    assert history["val_loss"][0] == history["val_loss"][1] == history["val_loss"][2]
    assert 0 < history["val_accuracy"][0] <= 1
    assert model.epochs_done == 3


def test_validation_split_reports_the_held_out_part(digits):
    x, y = digits
    model = cnnkit.Model("digits-cnn", seed=5)
    history = model.fit(x, y, epochs=2, verbose=False, validation_split=0.25)
    assert all(0 < v <= 1 for v in history["val_accuracy"]) and len(history["val_loss"]) == 2
    # A later fit continues the run with the same split.
    assert len(model.fit(x, y, epochs=1, verbose=False, validation_split=0.25)["loss"]) == 1
    with pytest.raises(ValueError, match="validation fraction"):
        model.fit(x, y, epochs=1, verbose=False, validation_split=0.5)


def test_augmentation_changes_training_and_keeps_the_run_repeatable(digits):
    x, y = digits
    runs = []
    for augmentation in (None, cnnkit.Augmentation(crop_padding=1, flip_probability=0.5),
                         cnnkit.Augmentation(crop_padding=1, flip_probability=0.5)):
        model = cnnkit.Model("digits-cnn", seed=5)
        model.fit(x, y, epochs=1, seed=5, verbose=False, augmentation=augmentation)
        runs.append(parameters(model)[0])
    assert not np.array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(runs[1], runs[2])


def test_normalize_per_channel():
    x = np.array([[[[1.0, 3.0]], [[2.0, 10.0]]]], np.float32)  # (1, 2, 1, 2)
    np.testing.assert_allclose(cnnkit.normalize(x, [1, 2], [2, 4]), [[[[0, 1]], [[0, 2]]]])
    np.testing.assert_allclose(cnnkit.normalize(x, 1.0, 2.0), (x - 1) / 2)
    assert cnnkit.normalize(x.astype(np.float64), 0, 1).dtype == np.float64
    with pytest.raises(ValueError, match="normalize mean"):
        cnnkit.normalize(x, [1, 2, 3], 1)
    with pytest.raises(ValueError, match="normalize std"):
        cnnkit.normalize(x, 0, [1, 0])
    with pytest.raises(TypeError):
        cnnkit.normalize(x.astype(np.int32), 0, 1)


def test_a_normalize_layer_keeps_the_normalisation_in_the_model():
    # The model with Normalize first computes on raw x what the plain model computes on
    # normalize(x): the layer draws no weights, so the same seed initialises both alike.
    layers = [{"type": "Conv", "kernels": 3, "kernel": 3}, {"type": "ReLU"}, {"type": "Flatten"},
              {"type": "FullyConnected", "outputs": 4}, {"type": "SoftMax"}]
    plain = {"name": "plain", "input_shape": [2, 5, 5], "layers": layers}
    kept = dict(plain, name="kept",
                layers=[{"type": "Normalize", "mean": [0.5, -1.0], "std": [2.0, 0.25]}] + layers)
    x = np.random.default_rng(3).uniform(-2, 2, (6, 2, 5, 5)).astype(np.float32)
    expected = cnnkit.Model(plain, seed=4).predict(cnnkit.normalize(x, [0.5, -1.0], [2.0, 0.25]))
    np.testing.assert_allclose(cnnkit.Model(kept, seed=4).predict(x), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("preset, settings, message", [
    ("digits-cnn", dict(weight_decay=-1.0), "weight_decay"),
    ("digits-cnn", dict(clip_norm=-2.0), "clip_norm"),
    ("digits-cnn", dict(optimizer=cnnkit.AdamW(0.01, weight_decay=0.1), weight_decay=0.2),
     "one weight decay"),
    ("digits-cnn", dict(validation_split=1.5), "validation fraction"),
    ("digits-cnn", dict(validation_split=0.2, callbacks=[cnnkit.EarlyStopping(patience=0)]),
     "patience"),
    ("digits-cnn", dict(callbacks=[cnnkit.EarlyStopping()]), "validation_split"),
    ("digits-cnn", dict(validation_split=0.2, validation_data="both"), "got both"),
    ("digits-cnn", dict(augmentation=cnnkit.Augmentation(flip_probability=2.0)),
     "augmentation flip"),
    ("iris-mlp", dict(augmentation=cnnkit.Augmentation(crop_padding=1)), "augmentation crop")])
def test_bad_settings_are_value_errors_with_cnnkits_message(digits, preset, settings, message):
    x, y = digits
    model = cnnkit.Model(preset)
    if preset == "iris-mlp":
        x, y = np.zeros((8, 4), np.float32), np.arange(8) % 3  # samples of rank 1: no crop
    if settings.get("validation_data") == "both":
        settings["validation_data"] = (x, y)
    before = parameters(model)
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, epochs=1, verbose=False, **settings)
    for a, b in zip(before, parameters(model)):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_watches_validation_figures_only():
    with pytest.raises(ValueError, match="val_loss"):
        cnnkit.EarlyStopping(monitor="loss")
