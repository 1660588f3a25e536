"""What trains a network: initializers, optimizers, losses, schedules, augmentation and the
input normalisation."""

from __future__ import annotations

from typing import Any, Sequence, Union

import numpy

from . import _cnnkit
from ._dispatch import DtypeDispatch, bound

DType = Any


class Initializer(metaclass=DtypeDispatch):
    """The base of the initializers: initialize(shape, fan_in, fan_out) -> array."""
    _bound_name = "Initializer"


class Constant(metaclass=DtypeDispatch):
    """Every value = value (0.1 by default: the lecture's bias in front of ReLUs)."""
    _bound_name = "Constant"

    def __new__(cls, value: float = 0.1, *, dtype: DType = numpy.float32) -> Any:
        return bound("Constant", dtype)(value)


class UniformRandom(metaclass=DtypeDispatch):
    """Uniform in [0, 1) from the seeded engine."""
    _bound_name = "UniformRandom"

    def __new__(cls, *, dtype: DType = numpy.float32) -> Any:
        return bound("UniformRandom", dtype)()


class Xavier(metaclass=DtypeDispatch):
    """Zero-mean normal, sigma = sqrt(2 / (fan_out + fan_in))."""
    _bound_name = "Xavier"

    def __new__(cls, *, dtype: DType = numpy.float32) -> Any:
        return bound("Xavier", dtype)()


class He(metaclass=DtypeDispatch):
    """Zero-mean normal, sigma = sqrt(2 / fan_in) (for ReLU networks)."""
    _bound_name = "He"

    def __new__(cls, *, dtype: DType = numpy.float32) -> Any:
        return bound("He", dtype)()


class Optimizer(metaclass=DtypeDispatch):
    """The base of the optimizers: calculate_update(weights, gradient) -> updated weights."""
    _bound_name = "Optimizer"


class Sgd(metaclass=DtypeDispatch):
    """w = w - learning_rate * g."""
    _bound_name = "Sgd"

    def __new__(cls, learning_rate: float, *, dtype: DType = numpy.float32) -> Any:
        return bound("Sgd", dtype)(learning_rate)


class SgdWithMomentum(metaclass=DtypeDispatch):
    """v = momentum * v - learning_rate * g; w = w + v (v starts at 0)."""
    _bound_name = "SgdWithMomentum"

    def __new__(cls, learning_rate: float, momentum: float, *,
                dtype: DType = numpy.float32) -> Any:
        return bound("SgdWithMomentum", dtype)(learning_rate, momentum)


class Adam(metaclass=DtypeDispatch):
    """Adam with bias correction: v = mu v + (1-mu) g, r = rho r + (1-rho) g^2,
    w = w - lr v^ / (sqrt(r^) + epsilon)."""
    _bound_name = "Adam"

    def __new__(cls, learning_rate: float, mu: float, rho: float, epsilon: float = 1e-8, *,
                dtype: DType = numpy.float32) -> Any:
        return bound("Adam", dtype)(learning_rate, mu, rho, epsilon)


class AdamW(metaclass=DtypeDispatch):
    """PyTorch's AdamW (decoupled weight decay): w = w (1 - lr weight_decay), then Adam's step
    (mu, rho: PyTorch's betas). lr is the scheduled rate. PyTorch's defaults."""
    _bound_name = "AdamW"

    def __new__(cls, learning_rate: float, mu: float = 0.9, rho: float = 0.999,
                epsilon: float = 1e-8, weight_decay: float = 0.01, *,
                dtype: DType = numpy.float32) -> Any:
        return bound("AdamW", dtype)(learning_rate, mu, rho, epsilon, weight_decay)


class Loss(metaclass=DtypeDispatch):
    """The base of the losses: forward(prediction, label) -> float, backward(label) -> error.
    reduction 'sum' (the lecture's, the default) adds the samples' losses, 'mean' divides the
    loss and its error tensor by the batch size (PyTorch's default)."""
    _bound_name = "Loss"


class CrossEntropyLoss(metaclass=DtypeDispatch):
    """Sum over the batch of -log(y_k + eps) for one-hot labels (batch, categories), after a
    SoftMax layer."""
    _bound_name = "CrossEntropyLoss"

    def __new__(cls, reduction: str = "sum", *, dtype: DType = numpy.float32) -> Any:
        return bound("CrossEntropyLoss", dtype)(reduction)


class SoftmaxCrossEntropyLoss(metaclass=DtypeDispatch):
    """Softmax and cross-entropy in one, from the logits (the network ends without SoftMax):
    PyTorch's CrossEntropyLoss, log_softmax + nll_loss. Its error is softmax - one-hot, with no
    eps floor for confidently wrong samples. prediction_from(logits) gives the probabilities.
    In a model description: "loss": {"type": "SoftmaxCrossEntropy", "reduction": "mean"}."""
    _bound_name = "SoftmaxCrossEntropyLoss"

    def __new__(cls, reduction: str = "sum", *, dtype: DType = numpy.float32) -> Any:
        return bound("SoftmaxCrossEntropyLoss", dtype)(reduction)


class L2Loss(metaclass=DtypeDispatch):
    """Sum of (prediction - label)^2 (with 'mean': divided by the batch size)."""
    _bound_name = "L2Loss"

    def __new__(cls, reduction: str = "sum", *, dtype: DType = numpy.float32) -> Any:
        return bound("L2Loss", dtype)(reduction)


class Schedule(_cnnkit.Schedule):  # type: ignore[misc]
    """A learning-rate schedule for Model.fit(schedule=...): the factor on the optimizer's
    learning rate at step t = 0, 1, ... (one step per batch) of a run of T steps:

        constant  1
        step      gamma ** (u // step_size)                (PyTorch's StepLR, counted in steps)
        cosine    (1 + cos(pi min(u, U) / U)) / 2          (CosineAnnealingLR to 0)

    u = t - W, U = T - W; a linear warm-up of W = warmup_steps steps comes first, with the
    factor (t + 1) / W. T = total_steps, or 0 for epochs * ceil(samples / batch_size) of the fit.
    scale(step, run_steps) gives the factor. ValueError for a type other than these three,
    step_size 0 for 'step', gamma <= 0, or a warm-up longer than total_steps.
    """

    def __init__(self, type: str = "constant", step_size: int = 0, gamma: float = 0.1,
                 warmup_steps: int = 0, total_steps: int = 0) -> None:
        super().__init__(type, step_size, gamma, warmup_steps, total_steps)


class Augmentation(_cnnkit.Augmentation):  # type: ignore[misc]
    """Image augmentation of the training batches for Model.fit(augmentation=...), as
    torchvision's RandomCrop(size, padding=crop_padding) then RandomHorizontalFlip(
    flip_probability), on (C, H, W) samples. Each sample's draws are keyed by (seed, epoch, its
    index in x), so they do not depend on the batch size, threads or processes; evaluation never
    augments. Checked against the samples when fit starts (ValueError with cnnkit's message)."""

    def __init__(self, crop_padding: int = 0, flip_probability: float = 0.0) -> None:
        super().__init__(crop_padding, flip_probability)


def normalize(x: numpy.ndarray, mean: Union[float, Sequence[float]],
              std: Union[float, Sequence[float]]) -> numpy.ndarray:
    """(x - mean[c]) / std[c] per channel c (axis 1 of (count, C, ...)), a new array: what `cnnkit
    train --normalize` does to the training and test sets. Apply it to every array the model sees
    (fit, evaluate, predict). mean and std: one value, or one per channel; ValueError for other
    counts or a std <= 0."""
    def values(v: Union[float, Sequence[float]]) -> list:
        return [float(v)] if numpy.isscalar(v) else [float(item) for item in v]
    build = "_float64" if isinstance(x, numpy.ndarray) and x.dtype == numpy.float64 else "_float32"
    return getattr(_cnnkit, "normalize" + build)(x, values(mean), values(std))
