"""Python and the cnnkit tool train and read the same models: the same seed gives the same
weights bit for bit, and a model file written by one is read by the other with the same results.
Needs the tool (CNNKIT_CLI, set by CTest); skipped without it."""

import json
import os
import re
import subprocess

import numpy as np
import pytest

import cnnkit

CLI = os.environ.get("CNNKIT_CLI")
pytestmark = pytest.mark.skipif(not CLI or not os.path.exists(CLI),
                                reason="the cnnkit tool is not built (CNNKIT_CLI unset)")


def run(*args, cwd):
    result = subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, check=True)
    return result.stdout


def test_fit_equals_cnnkit_train_with_the_same_seed(tmp_path):
    output = run("train", "--model", "digits-cnn", "--data", "digits", "--epochs", "2",
                 "--seed", "3", "--out", "run", cwd=tmp_path)
    (x, y, _), (tx, ty, _) = cnnkit.load_digits()
    model = cnnkit.Model("digits-cnn", seed=3)
    history = model.fit(x, y, epochs=2, batch_size=64, validation_data=(tx, ty), verbose=False)
    trained = cnnkit.Model.load(tmp_path / "run" / "model.safetensors")
    for ours, theirs in zip(model.layers, trained.layers):
        if ours.trainable:
            np.testing.assert_array_equal(ours.weights, theirs.weights)
            np.testing.assert_array_equal(ours.bias, theirs.bias)
    printed = re.search(r"test accuracy (\d\.\d{4}) after epoch 2", output).group(1)
    assert f"{history['val_accuracy'][-1]:.4f}" == printed


def test_a_model_saved_from_python_evaluates_the_same_in_the_tool(tmp_path):
    (x, y, _), (tx, ty, _) = cnnkit.load_digits()
    model = cnnkit.Model("digits-cnn", seed=8)
    model.fit(x, y, epochs=1, batch_size=32, verbose=False)
    model.save(tmp_path / "py.safetensors")
    output = run("eval", "--model", "py.safetensors", "--data", "digits", cwd=tmp_path)
    scores = model.evaluate(tx, ty)
    assert f"loss {scores['loss']:.4f}, accuracy {scores['accuracy']:.4f}" in output


def predict_json_and_python_agree(model, model_file, tx, cwd):
    """`cnnkit predict --json` on two test digits against model.predict: the same bits."""
    # Two test digits as 8-bit grey PGM files, which the tool reads like any image; the same
    # pixels divided by 255 in float32 are what it feeds the model.
    pixels = np.rint(tx[:2].reshape(2, 8, 8) * 255).astype(np.uint8)
    files = []
    for i, image in enumerate(pixels):
        path = cwd / f"digit{i}.pgm"
        path.write_bytes(b"P5 8 8 255\n" + image.tobytes())
        files.append(path.name)
    output = run("predict", "--json", "--model", model_file, *files, cwd=cwd)
    printed = json.loads(output)["images"]
    ours = model.predict(pixels.reshape(2, 1, 8, 8).astype(np.float32) / np.float32(255))
    for i in range(2):
        theirs = np.array(printed[i]["probabilities"], dtype=np.float64).astype(np.float32)
        np.testing.assert_array_equal(ours[i], theirs)
        assert printed[i]["predicted"] == int(np.argmax(ours[i]))


def test_a_model_saved_from_python_predicts_the_same_bits_in_cnnkit_predict_json(tmp_path):
    (x, y, _), (tx, _, _) = cnnkit.load_digits()
    model = cnnkit.Model("digits-cnn", seed=11)
    model.fit(x, y, epochs=1, batch_size=32, verbose=False)
    model.save(tmp_path / "py.safetensors")
    predict_json_and_python_agree(model, "py.safetensors", tx, tmp_path)


def test_a_model_saved_by_cnnkit_train_predicts_the_same_bits_in_python(tmp_path):
    run("train", "--model", "digits-cnn", "--data", "digits", "--epochs", "1", "--seed", "12",
        "--out", "run", cwd=tmp_path)
    (_, _, _), (tx, _, _) = cnnkit.load_digits()
    model = cnnkit.Model.load(tmp_path / "run" / "model.safetensors")
    predict_json_and_python_agree(model, "run/model.safetensors", tx, tmp_path)


def test_fit_with_every_training_setting_equals_cnnkit_train(tmp_path):
    """AdamW with decoupled decay (biases left out), a cosine schedule with warm-up, clipping,
    a validation split with early stopping (after epoch 6, back to epoch 5's weights), and
    augmentation: fit's keyword arguments and the tool's options give the same model bit for bit
    (the same split, steps and draws)."""
    output = run("train", "--model", "digits-cnn", "--data", "digits", "--epochs", "8",
                 "--seed", "3", "--optimizer", "adamw", "--learning-rate", "0.02",
                 "--weight-decay", "0.05", "--no-decay-bias-and-norm", "--schedule", "cosine",
                 "--warmup-steps", "5", "--clip-norm", "2", "--validation-split", "0.2",
                 "--early-stopping-patience", "1", "--monitor", "accuracy",
                 "--augment", "crop=1,flip", "--out", "run", cwd=tmp_path)
    (x, y, _), _ = cnnkit.load_digits()
    model = cnnkit.Model("digits-cnn", seed=3)  # the tool's --seed: weights, shuffles, draws
    stopper = cnnkit.EarlyStopping("val_accuracy", patience=1, restore_best_weights=True)
    history = model.fit(
        x, y, epochs=8, batch_size=64, verbose=False,
        optimizer=cnnkit.AdamW(0.02, weight_decay=0.05), decay_bias_and_norm=False,
        schedule=cnnkit.Schedule("cosine", warmup_steps=5), clip_norm=2.0,
        validation_split=0.2, augmentation=cnnkit.Augmentation(crop_padding=1,
                                                                flip_probability=0.5),
        callbacks=[stopper])
    trained = cnnkit.Model.load(tmp_path / "run" / "model.safetensors")
    for ours, theirs in zip(model.layers, trained.layers):
        if ours.trainable:
            np.testing.assert_array_equal(ours.weights, theirs.weights)
            np.testing.assert_array_equal(ours.bias, theirs.bias)
    assert "early stopping after epoch 6" in output and "best epoch 5" in output
    assert stopper.stopped_epoch == model.epochs_done == len(history["loss"]) == 6
