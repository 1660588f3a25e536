"""fit's control flow: Ctrl-C (SIGINT) stops it between batches with KeyboardInterrupt and the
model intact; a callback's exception stops it too; batch callbacks see every batch."""

import signal

import numpy as np
import pytest

import cnnkit


class InterruptAt:
    """Sends the process SIGINT, as Ctrl-C does, after batch `batch` of the first epoch."""

    def __init__(self, batch):
        self.batch = batch
        self.batches = []

    def on_batch_end(self, batch, logs):
        self.batches.append(batch)
        if batch == self.batch:
            signal.raise_signal(signal.SIGINT)


def test_ctrl_c_stops_fit_between_batches_with_keyboard_interrupt():
    (x, y, _), (tx, ty, _) = cnnkit.load_digits()
    model = cnnkit.Model("digits-cnn", seed=0)
    before = model.predict(tx)
    interrupt = InterruptAt(3)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=2, batch_size=64, callbacks=[interrupt], verbose=False)
    assert interrupt.batches == [1, 2, 3]  # stopped before batch 4
    # The model holds the weights of the three batches done and goes on working.
    after = model.predict(tx)
    assert np.all(np.isfinite(after)) and not np.array_equal(before, after)
    history = model.fit(x, y, epochs=1, batch_size=64, verbose=False)
    assert len(history["loss"]) == 1


def test_a_callback_error_stops_fit_and_is_raised():
    (x, y, _), _ = cnnkit.load_digits()

    def failing(logs):
        raise LookupError("from the callback")

    model = cnnkit.Model("digits-cnn", seed=0)
    with pytest.raises(LookupError, match="from the callback"):
        model.fit(x, y, epochs=3, callbacks=[failing], verbose=False)


def test_batch_callbacks_see_every_batch_and_epochs_continue():
    (x, y, _), _ = cnnkit.load_digits()

    class Count:
        def __init__(self):
            self.batches, self.epochs = 0, []

        def on_batch_end(self, batch, logs):
            self.batches += 1

        def on_epoch_end(self, epoch, logs):
            self.epochs.append(epoch)

    count = Count()
    model = cnnkit.Model("digits-cnn", seed=0)
    model.fit(x, y, epochs=1, batch_size=100, callbacks=[count], verbose=False)
    model.fit(x, y, epochs=1, batch_size=100, callbacks=[count], verbose=False)
    assert count.batches == 2 * 12 and count.epochs == [1, 2]  # 1198 samples: 12 batches
    with pytest.raises(ValueError, match=r"batch size of the earlier fit \(100\)"):
        model.fit(x, y, epochs=1, batch_size=50, verbose=False)


def test_ctrl_c_from_outside_stops_fit_inside_an_epoch():
    """SIGINT while cnnkit trains without the GIL and no Python code runs: the trainer's
    stop_requested check (PyErr_CheckSignals) stops it before the next batch, so the epoch in
    progress is not completed (a check only at the epoch's end would complete it)."""
    import os
    import threading

    (x, y, _), _ = cnnkit.load_digits()
    # One epoch of 59,904 batches of 2: most of a second on a fast machine (an epoch in batches of
    # 16 took 0.15 s, less than a timer of 0.2 s), so the signal comes well inside it.
    x, y = np.repeat(x, 100, axis=0), np.repeat(y, 100)
    model = cnnkit.Model("digits-cnn", seed=0)
    timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(x, y, epochs=1, batch_size=2, verbose=False)
    finally:
        timer.cancel()
    assert model.epochs_done == 0
