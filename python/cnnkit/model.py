"""Model: a network built from a preset or a JSON description, trained with fit(), saved as the
same safetensors model file the C++ API and the `cnnkit` tool read and write."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy

from . import _cnnkit
from ._dispatch import bound

History = Dict[str, List[float]]


def preset_names() -> List[str]:
    """The built-in presets: 'fashion-lenet', 'digits-cnn', 'iris-mlp'."""
    return list(_cnnkit.preset_names())


class _ProgressBar:
    """One line per epoch redrawn in place on a terminal, at most ten times a second."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.last = 0.0

    def batch(self, epoch: int, epochs: int, batch: int, batches: int, loss: float,
              accuracy: float, seconds: float) -> None:
        now = time.monotonic()
        if batch != batches and now - self.last < 0.1:
            return
        self.last = now
        width = 30
        done = width * batch // batches
        self.stream.write(f"\repoch {epoch}/{epochs} [{'=' * done}{' ' * (width - done)}] "
                          f"{batch}/{batches} loss {loss:.4f} accuracy {accuracy:.4f} "
                          f"{seconds:.1f}s")
        self.stream.flush()

    def epoch(self, logs: Dict[str, float]) -> None:
        validation = ("" if numpy.isnan(logs["val_accuracy"]) else
                      f" val_loss {logs['val_loss']:.4f} val_accuracy {logs['val_accuracy']:.4f}")
        self.stream.write(f"\repoch {int(logs['epoch'])}: loss {logs['loss']:.4f} accuracy "
                          f"{logs['accuracy']:.4f}{validation} ({logs['seconds']:.1f}s)\033[K\n")
        self.stream.flush()


class EarlyStopping:
    """Keras's EarlyStopping for Model.fit(validation_split=...): stops once the monitored
    validation figure ('val_loss': lower is better, 'val_accuracy': higher) has not improved for
    `patience` epochs in a row (at least 1; Keras's 0 behaves as 1); restore_best_weights=True
    ends the fit with the best epoch's weights. After fit, stopped_epoch is the epoch it stopped
    after (0: it did not stop early)."""

    def __init__(self, monitor: str = "val_loss", patience: int = 1,
                 restore_best_weights: bool = False) -> None:
        if monitor not in ("val_loss", "val_accuracy"):
            raise ValueError(f"EarlyStopping monitor: expected 'val_loss' or 'val_accuracy' (the "
                             f"part of x held out by validation_split), got {monitor!r}")
        self.monitor = monitor
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.stopped_epoch = 0

    @property
    def metric(self) -> str:
        """The validation metric as cnnkit names it: 'loss' or 'accuracy'."""
        return self.monitor[len("val_"):]


class Model:
    """A network described by data (cnnkit's model description).

    Model('fashion-lenet'), Model('net.json'), Model('{"name": ...}') or Model({...}) builds it,
    with initial weights from cnnkit's random engine (seed=...: set_seed first, as `cnnkit train
    --seed` does); graphs (layers with "name" and "inputs", Add, Concat) too. Model.load(path)
    reads a model file. fit, train_on_batch, predict, evaluate, save, summary.

    dtype: numpy.float32 (the default; what `cnnkit train` computes in) or numpy.float64. Arrays
    passed in must have that dtype (TypeError otherwise). A float64 model saves float64 tensors,
    which the float32 tool reads rounded to float32.
    """

    def __init__(self, description: Union[str, Dict[str, Any], os.PathLike],
                 seed: Optional[int] = None, *, dtype: Any = numpy.float32) -> None:
        if isinstance(description, dict):
            text = json.dumps(description)
        else:
            text = _cnnkit.description_json(os.fspath(description))
        self._core = bound("ModelCore", dtype).build(text, seed)

    @classmethod
    def load(cls, path: Union[str, os.PathLike], *, dtype: Any = numpy.float32) -> "Model":
        """A model file written by save(), `cnnkit train` or the C++ save_model, its weights
        converted to dtype."""
        model = cls.__new__(cls)
        model._core = bound("ModelCore", dtype).load(os.fspath(path))
        return model

    @property
    def dtype(self) -> Any:
        """numpy.float32 or numpy.float64: what the model computes in."""
        return numpy.float64 if type(self._core).__name__.endswith("_float64") else numpy.float32

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes the model file (safetensors; atomic), loadable by `cnnkit predict` and C++."""
        self._core.save(os.fspath(path))

    @property
    def name(self) -> str:
        """The description's name."""
        return self._core.name

    @property
    def input_shape(self) -> Tuple[int, ...]:
        """One sample's shape, no batch axis (e.g. (1, 28, 28))."""
        return self._core.input_shape

    @property
    def classes(self) -> List[str]:
        """The class names ('0'.. by default); settable before fit."""
        return self._core.classes

    @classes.setter
    def classes(self, names: Sequence[str]) -> None:
        self._core.classes = list(names)

    @property
    def description(self) -> Dict[str, Any]:
        """The model description as a dict (the JSON of a model file)."""
        return json.loads(self._core.description_json)

    @property
    def epochs_done(self) -> int:
        """Epochs completed by fit so far (an interrupted epoch does not count)."""
        return self._core.epochs_done

    @property
    def layers(self) -> List[Any]:
        """The layers, with weights and gradients as numpy views (valid while the model lives)."""
        return self._core.layers

    def summary(self) -> str:
        """The table of layers, output shapes, parameters and FLOPs (as `cnnkit summary`)."""
        return self._core.summary()

    def fit(self, x: numpy.ndarray, y: numpy.ndarray, epochs: int = 1, batch_size: int = 64,
            validation_data: Optional[Tuple[numpy.ndarray, numpy.ndarray]] = None,
            seed: Optional[int] = None, callbacks: Sequence[Any] = (),
            verbose: Optional[bool] = None, *, optimizer: Any = None,
            weight_decay: Optional[float] = None, decay_bias_and_norm: Optional[bool] = None,
            schedule: Union[None, str, Any] = None, clip_norm: Optional[float] = None,
            validation_split: float = 0.0, augmentation: Any = None, communicator: Any = None,
            gradient_groups: Optional[int] = None) -> History:
        """Trains on x (count, *input_shape) of the model's dtype and integer labels y (count,) with the
        library's trainer: shuffled batches, the description's optimizer, after each epoch an
        evaluation of validation_data=(x, y) if given. x is copied once per call.

        seed: re-seeds the engine before training (the shuffling; in the first fit also the key
        of dropout masks and augmentation draws, as `cnnkit train --seed`); None continues.
        callbacks: callables called with each epoch's logs (dict: epoch, loss, accuracy, val_loss,
        val_accuracy, seconds), or objects with on_epoch_end(epoch, logs) and/or
        on_batch_end(batch, logs), and at most one EarlyStopping. verbose: a progress bar
        (default: when stderr is a terminal, on rank 0). A second fit continues the epochs (same
        batch size). Ctrl-C stops between batches with KeyboardInterrupt; the model keeps the
        weights of the batches done.

        The update settings replace the description's (a saved model records them; a changed
        optimizer, weight decay or clip_norm starts the optimizers afresh):
          optimizer: Sgd, SgdWithMomentum, Adam or AdamW (with its weight decay).
          weight_decay: the L2 penalty wd * w added to the gradients (PyTorch's weight_decay of
            SGD and Adam), or AdamW's decoupled decay; decay_bias_and_norm=False leaves biases and
            BatchNorm's scale and shift out of either.
          schedule: a Schedule, or 'constant', 'cosine' (over the whole run).
          clip_norm: clips the gradients to this global norm each step (clip_grad_norm_).
        validation_split: the fraction of x held out (the same samples as `cnnkit train
          --validation-split`), evaluated after each epoch into val_loss and val_accuracy
          (instead of validation_data: not both); EarlyStopping in callbacks watches it.
        augmentation: an Augmentation of the training batches.
        communicator: cnnkit.distributed.world() under mpirun: every rank trains its share of
          each batch of batch_size (the global batch) in gradient_groups fixed groups (default
          8, or one per rank), with the model of one process with the same groups, bit for bit.
        ValueError with cnnkit's message for a setting out of range.

        Returns the history: {'loss': [...], 'accuracy': [...], 'val_loss': [...],
        'val_accuracy': [...], 'seconds': [...]}, one entry per epoch of this fit.
        """
        stoppers = [c for c in callbacks if isinstance(c, EarlyStopping)]
        if len(stoppers) > 1:
            raise ValueError(f"Model.fit callbacks: expected at most one EarlyStopping, got "
                             f"{len(stoppers)}")
        if validation_split and validation_data is not None:
            raise ValueError("Model.fit: expected validation_data or validation_split, got both")
        if stoppers and not validation_split:
            raise ValueError("Model.fit: expected validation_split for EarlyStopping (it watches "
                             "the part of x held out), got none")
        stopper = stoppers[0] if stoppers else None
        if isinstance(schedule, str):
            from . import Schedule
            schedule = Schedule(schedule)

        if verbose is None:
            verbose = sys.stderr.isatty() and (communicator is None or communicator.rank == 0)
        bar = _ProgressBar(sys.stderr) if verbose else None
        batch_listeners = [c for c in callbacks if hasattr(c, "on_batch_end")]

        on_batch: Optional[Callable[..., None]] = None
        if bar or batch_listeners:
            def on_batch(epoch: int, epochs_: int, batch: int, batches: int, loss: float,
                         accuracy: float, seconds: float) -> None:
                if bar:
                    bar.batch(epoch, epochs_, batch, batches, loss, accuracy, seconds)
                for listener in batch_listeners:
                    listener.on_batch_end(batch, {"epoch": epoch, "loss": loss,
                                                  "accuracy": accuracy})

        def on_epoch(logs: Dict[str, float]) -> None:
            if bar:
                bar.epoch(logs)
            for callback in callbacks:
                if hasattr(callback, "on_epoch_end"):
                    callback.on_epoch_end(int(logs["epoch"]), dict(logs))
                elif callable(callback):
                    callback(dict(logs))

        vx, vy = validation_data if validation_data is not None else (None, None)
        epochs_list = self._core.fit(
            x, y, epochs, batch_size, vx, vy, seed, on_batch, on_epoch, optimizer, weight_decay,
            decay_bias_and_norm, schedule, clip_norm, float(validation_split),
            stopper.metric if stopper else "loss", stopper.patience if stopper else None,
            bool(stopper and stopper.restore_best_weights), augmentation, communicator,
            gradient_groups)
        if stopper:
            stopper.stopped_epoch = (self.epochs_done if epochs_list and
                                     len(epochs_list) < epochs else 0)
        history: History = {key: [] for key in
                            ("loss", "accuracy", "val_loss", "val_accuracy", "seconds")}
        for logs in epochs_list:
            for key in history:
                history[key].append(logs[key])
        return history

    def train_on_batch(self, x: numpy.ndarray, y: numpy.ndarray) -> float:
        """One training step on (x, y) as one batch, the step fit takes for each of its batches
        (forward, loss, backward, the optimizers): no shuffling, no epoch counted. Returns the
        batch's loss."""
        return float(self._core.train_on_batch(x, y))

    def predict(self, x: numpy.ndarray, batch_size: int = 1000) -> numpy.ndarray:
        """The model's outputs (count, classes) for x (count, *input_shape) of the model's dtype,
        in batches each copied once into a reused buffer."""
        return self._core.predict(x, batch_size)

    def evaluate(self, x: numpy.ndarray, y: numpy.ndarray,
                 batch_size: int = 1000) -> Dict[str, float]:
        """{'loss': mean loss per sample, 'accuracy': fraction correct} on (x, y)."""
        return self._core.evaluate(x, y, batch_size)

    def __repr__(self) -> str:
        return f"<cnnkit.Model '{self.name}' input {self.input_shape}>"
