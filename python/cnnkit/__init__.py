"""cnnkit from Python: the CNN lecture's API on numpy arrays, and a Keras-like Model.

The lecture's objects keep their names: layers (Conv, Pooling, Flatten, FullyConnected, ReLU,
SoftMax, and the regularisation lecture's BatchNorm, Dropout, poolings and activations) with
forward/backward and weights/gradient_weights (and bias) as numpy views, initializers, optimizers
with calculate_update (AdamW too), losses, NeuralNetwork, Graph (with Add and Concat),
gradient_check; subclasses of Layer are layers written in Python. Training settings (Schedule,
Augmentation, EarlyStopping, weight decay, clipping) go to Model.fit; cnnkit.distributed trains
data-parallel under mpirun. Each takes
dtype=numpy.float32 (the default) or numpy.float64; arrays passed in must have exactly that dtype
(TypeError otherwise) and be C-contiguous (ValueError otherwise); they are copied once.

Views: `layer.weights`, `layer.bias` and their gradients share the layer's memory and keep the
layer alive. They stay valid when the layer is re-initialised (initialize, append_layer) and while
optimizers update the weights: the new values are written into the same buffer.

cnnkit computes without the GIL. Errors arrive as ValueError (shapes, values), TypeError (dtypes),
OSError (files that cannot be read) and RuntimeError (calls in the wrong order, e.g. backward
before forward), with cnnkit's message.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy

from . import _cnnkit
from ._dispatch import DtypeDispatch, bound, dtype_of
from .data import (load_csv, load_digits, load_fashion_mnist, load_idx, load_idx_directory,
                   load_image_folder)
from . import distributed
from .model import EarlyStopping, Model, preset_names

ShapeLike = Union[int, Sequence[int]]
DType = Any

__all__ = [
    "Layer", "Conv", "Pooling", "Flatten", "FullyConnected", "ReLU", "SoftMax", "Sigmoid", "TanH",
    "LeakyReLU", "Dropout", "AveragePooling", "GlobalAveragePooling", "BatchNorm",
    "Initializer", "Constant", "UniformRandom", "Xavier", "He",
    "Optimizer", "Sgd", "SgdWithMomentum", "Adam", "AdamW",
    "Loss", "CrossEntropyLoss", "L2Loss", "SoftmaxCrossEntropyLoss",
    "Schedule", "Augmentation", "EarlyStopping", "normalize", "distributed",
    "ArrayDataLayer", "NeuralNetwork", "Graph", "Add", "Concat", "gradient_check",
    "set_seed", "set_num_threads", "num_threads",
    "Model", "preset_names",
    "load_fashion_mnist", "load_idx", "load_idx_directory", "load_csv", "load_digits",
    "load_image_folder",
]


def set_seed(seed: int) -> None:
    """Re-seeds cnnkit's random engine: the same seed gives the same weights and batches."""
    _cnnkit.set_seed(seed)


def set_num_threads(threads: int) -> None:
    """Threads for every kernel from now on (0: all cores the process may use; at most 1024)."""
    _cnnkit.set_num_threads(threads)


def num_threads() -> int:
    """The number of threads the kernels use now."""
    return _cnnkit.num_threads()


class _LayerType(type(_cnnkit.Layer_float32)):  # type: ignore[misc]
    """The metaclass of cnnkit.Layer: isinstance and issubclass see every layer of either dtype
    as a cnnkit.Layer, and `class L(cnnkit.Layer, dtype=numpy.float64)` picks the float64 base."""

    def __new__(mcls, name: str, bases: Tuple[type, ...], namespace: Dict[str, Any],
                dtype: DType = None) -> Any:
        if dtype is not None and numpy.dtype(dtype) == numpy.float64:
            bases = tuple(_Layer64 if base is Layer else base for base in bases)
        elif dtype is not None and numpy.dtype(dtype) != numpy.float32:
            raise TypeError(f"cnnkit.Layer: expected dtype float32 or float64, got "
                            f"{numpy.dtype(dtype)}")
        # The subclass's forward and backward become what cnnkit's Layer.forward and .backward
        # call (python_layer.hpp): a call from Python takes the same path as one from a network,
        # with the same checks, the calls' order and the optimizer's update after backward.
        for method in ("forward", "backward"):
            if method in namespace:
                namespace[f"_python_{method}"] = namespace.pop(method)
        return super().__new__(mcls, name, bases, namespace)

    def __init__(cls, name: str, bases: Tuple[type, ...], namespace: Dict[str, Any],
                 dtype: DType = None) -> None:
        super().__init__(name, bases, namespace)

    def __instancecheck__(cls, instance: Any) -> bool:
        if cls is Layer:
            return isinstance(instance, (_cnnkit.Layer_float32, _cnnkit.Layer_float64))
        return type.__instancecheck__(cls, instance)

    def __subclasscheck__(cls, subclass: type) -> bool:
        if cls is Layer:
            return issubclass(subclass, (_cnnkit.Layer_float32, _cnnkit.Layer_float64))
        return type.__subclasscheck__(cls, subclass)


class Layer(_cnnkit.Layer_float32, metaclass=_LayerType):
    """The base of every layer, and the class to subclass for a layer written in Python.

    Every layer has forward(input) -> output, backward(error_tensor) -> input error,
    weights/bias/gradient_weights/gradient_bias as numpy views (None where the layer has none),
    initialize, set_optimizer, frozen, testing_phase; isinstance(x, cnnkit.Layer) holds for all.

    A layer in Python (research use; it runs at Python's speed, with the GIL, so it is slow):

        class Square(cnnkit.Layer):                    # float32; float64: add dtype=numpy.float64
            def forward(self, input):                  # numpy in, numpy out (the layer's dtype)
                self.input = input
                return input * input
            def backward(self, error_tensor):          # dLoss/dOutput -> dLoss/dInput
                return 2 * self.input * error_tensor

    It works alone, in a NeuralNetwork, in a Graph and under gradient_check. A layer that changes
    the shape defines output_shape(self, input_shape) -> tuple (batch axis included); forward's
    result must have that shape (ValueError otherwise) and backward's the input's. A trainable
    one calls self.add_parameter('weights', initial_array) in __init__ (after
    super().__init__()); self.weights is then a view, and backward assigns its gradient:
    self.gradient_weights[...] = ...; the layer's optimizer updates the weights after backward,
    as for the built-in layers. Define initialize(self, weights_initializer, bias_initializer) to
    be initialized by networks (else the initial values stay).
    """


class _Layer64(_cnnkit.Layer_float64, metaclass=_LayerType):
    """The float64 base that `class L(cnnkit.Layer, dtype=numpy.float64)` derives from."""


class Conv(metaclass=DtypeDispatch):
    """Convolution (cross-correlation), 1-D or 2-D, padding then the stride. By default 'same'
    padding: (batch, c, y[, x]) -> (batch, num_kernels, ceil(y/sy)[, ceil(x/sx)]).

    stride_shape: s (1-D) or (sy, sx) (2-D; one value means both); convolution_shape: (c, m) or
    (c, m, n), c the input channels of all groups. weights (num_kernels, c/groups, m[, n]), bias
    (num_kernels,). Starts uniform in [0, 1).

    As PyTorch's Conv1d/Conv2d: padding 'same' ((s-1)/2 before and s/2 after, s the dilated
    kernel's span), 'valid' (none), p (p on both sides of every axis), or per axis p or (before,
    after), e.g. [(0, 1), 2]; dilation d or (dy, dx) (the taps' spacing); groups (channels and
    kernels cut into groups, kernel slice g over channel slice g; groups = c is depthwise). An
    axis of length L then has floor((L + before + after - d (k-1) - 1) / s) + 1 outputs.
    """
    _bound_name = "Conv"

    def __new__(cls, stride_shape: ShapeLike, convolution_shape: ShapeLike, num_kernels: int,
                *, padding: Union[str, int, Sequence[Union[int, Tuple[int, int]]]] = "same",
                dilation: ShapeLike = 1, groups: int = 1, dtype: DType = numpy.float32) -> Any:
        return bound("Conv", dtype)(stride_shape, convolution_shape, num_kernels, padding,
                                    dilation, groups)


class Pooling(metaclass=DtypeDispatch):
    """2-D max pooling without padding: (batch, c, y, x) -> (batch, c, (y-py)//sy + 1,
    (x-px)//sx + 1). Windows may overlap; backward routes each error to its window's maximum
    (the first on ties) and sums where windows overlap."""
    _bound_name = "Pooling"

    def __new__(cls, stride_shape: ShapeLike, pooling_shape: ShapeLike, *,
                dtype: DType = numpy.float32) -> Any:
        return bound("Pooling", dtype)(stride_shape, pooling_shape)


class Flatten(metaclass=DtypeDispatch):
    """(batch, d1, d2, ...) -> (batch, d1*d2*...), and back in backward."""
    _bound_name = "Flatten"

    def __new__(cls, *, dtype: DType = numpy.float32) -> Any:
        return bound("Flatten", dtype)()


class FullyConnected(metaclass=DtypeDispatch):
    """y = x W + b for x of shape (batch, input_size). weights (input_size, output_size) and bias
    (1, output_size) are views; weights_with_bias() is the lecture's combined matrix (a copy)."""
    _bound_name = "FullyConnected"

    def __new__(cls, input_size: int, output_size: int, *, dtype: DType = numpy.float32) -> Any:
        return bound("FullyConnected", dtype)(input_size, output_size)


class ReLU(metaclass=DtypeDispatch):
    """y = max(0, x); backward passes the error where x > 0."""
    _bound_name = "ReLU"

    def __new__(cls, *, dtype: DType = numpy.float32) -> Any:
        return bound("ReLU", dtype)()


class SoftMax(metaclass=DtypeDispatch):
    """SoftMax over the last axis of (batch, categories), shifted by the row maximum."""
    _bound_name = "SoftMax"

    def __new__(cls, *, dtype: DType = numpy.float32) -> Any:
        return bound("SoftMax", dtype)()


class Sigmoid(metaclass=DtypeDispatch):
    """y = 1 / (1 + exp(-x)); backward multiplies the error by y (1 - y)."""
    _bound_name = "Sigmoid"

    def __new__(cls, *, dtype: DType = numpy.float32) -> Any:
        return bound("Sigmoid", dtype)()


class TanH(metaclass=DtypeDispatch):
    """y = tanh(x); backward multiplies the error by 1 - y^2."""
    _bound_name = "TanH"

    def __new__(cls, *, dtype: DType = numpy.float32) -> Any:
        return bound("TanH", dtype)()


class LeakyReLU(metaclass=DtypeDispatch):
    """y = x for x > 0, slope * x otherwise (PyTorch's slope at x = 0)."""
    _bound_name = "LeakyReLU"

    def __new__(cls, slope: float = 0.01, *, dtype: DType = numpy.float32) -> Any:
        return bound("LeakyReLU", dtype)(slope)


class Dropout(metaclass=DtypeDispatch):
    """Inverted dropout: in the training phase each element is kept with probability 1 - p and
    scaled by 1 / (1 - p), else zeroed (the mask a pure function of the seed, the step and the
    sample's place in the batch); the identity in the testing phase."""
    _bound_name = "Dropout"

    def __new__(cls, p: float = 0.5, *, dtype: DType = numpy.float32) -> Any:
        return bound("Dropout", dtype)(p)


class AveragePooling(metaclass=DtypeDispatch):
    """Average pooling without padding, 1-D (batch, c, l) or 2-D (batch, c, y, x), windows of
    pooling_shape moved by stride_shape; backward spreads each error evenly over its window."""
    _bound_name = "AveragePooling"

    def __new__(cls, stride_shape: ShapeLike, pooling_shape: ShapeLike, *,
                dtype: DType = numpy.float32) -> Any:
        return bound("AveragePooling", dtype)(stride_shape, pooling_shape)


class GlobalAveragePooling(metaclass=DtypeDispatch):
    """(batch, c, ...) -> (batch, c): the mean of every channel."""
    _bound_name = "GlobalAveragePooling"

    def __new__(cls, *, dtype: DType = numpy.float32) -> Any:
        return bound("GlobalAveragePooling", dtype)()


class BatchNorm(metaclass=DtypeDispatch):
    """Batch normalisation with PyTorch's rules: batch statistics while training, running_mean /
    running_var (unbiased, momentum 0.1) in the testing phase; scale (gamma, starts at 1) and
    shift (beta, starts at 0) are trainable views."""
    _bound_name = "BatchNorm"

    def __new__(cls, channels: int, momentum: float = 0.1, epsilon: float = 1e-5, *,
                dtype: DType = numpy.float32) -> Any:
        return bound("BatchNorm", dtype)(channels, momentum, epsilon)


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


class ArrayDataLayer(metaclass=DtypeDispatch):
    """A data layer over numpy arrays: inputs (count, ...) of the network's dtype and integer
    class indices labels (count,). The arrays are read in place (and kept alive); each batch is
    copied once into a reused buffer and its labels made one-hot (num_classes: by default the
    largest label + 1). Shuffled at every epoch from the seeded engine unless shuffle=False."""
    _bound_name = "ArrayDataLayer"

    def __new__(cls, inputs: numpy.ndarray, labels: numpy.ndarray, batch_size: int,
                num_classes: Optional[int] = None, shuffle: bool = True, *,
                dtype: DType = numpy.float32) -> Any:
        return bound("ArrayDataLayer", dtype)(inputs, labels, batch_size, num_classes, shuffle)


class NeuralNetwork(metaclass=DtypeDispatch):
    """The lecture's network: append_layer, set_data_layer (an ArrayDataLayer), set_loss_layer,
    forward() -> batch loss, backward(), train(iterations) (losses in .loss), test(x) -> output.
    Each trainable layer gets its own optimizer copies and is initialised when appended; the
    layers stay usable from Python."""
    _bound_name = "NeuralNetwork"

    def __new__(cls, optimizer: Any, weights_initializer: Any, bias_initializer: Any) -> Any:
        return bound("NeuralNetwork", dtype_of(optimizer))(optimizer, weights_initializer,
                                                           bias_initializer)


class Add(metaclass=DtypeDispatch):
    """A Graph node's inputs summed elementwise, all of one shape (a residual connection);
    backward hands every input the error unchanged."""
    _bound_name = "Add"

    def __new__(cls, *, dtype: DType = numpy.float32) -> Any:
        return bound("Add", dtype)()


class Concat(metaclass=DtypeDispatch):
    """A Graph node's inputs joined along the channel axis (axis 1); the other axes agree."""
    _bound_name = "Concat"

    def __new__(cls, *, dtype: DType = numpy.float32) -> Any:
        return bound("Concat", dtype)()


class Graph(metaclass=DtypeDispatch):
    """The engine as a graph of named layers, for residual and branching networks:

        graph = cnnkit.Graph()
        graph.add("conv1", cnnkit.Conv(1, (4, 3, 3), 4), ["input"])
        graph.add("relu1", cnnkit.ReLU(), ["conv1"])
        graph.add("sum", cnnkit.Add(), ["relu1", "input"])      # a residual connection
        graph.initialize(cnnkit.He(), cnnkit.Constant(0.1)); graph.set_optimizer(cnnkit.Adam(...))
        loss = graph.train_step(x, one_hot_labels, cnnkit.CrossEntropyLoss())
        prediction = graph.infer(x)

    add(name, layer, inputs) adds a node reading the named nodes ('input' is the graph's input;
    several only for Add and Concat); append(layer) adds 'layer{i}' after the last node. The
    layers stay usable from Python (their weights are the graph's), layers written in Python too.
    forward / backward (gradients only) / update() are the engine's steps, train_step the whole
    step of Model.fit and `cnnkit train`, infer the testing phase; gradient_check takes a graph.
    """
    _bound_name = "Graph"

    def __new__(cls, *, dtype: DType = numpy.float32) -> Any:
        return bound("Graph", dtype)()


def gradient_check(layers: Any, loss: Any, input: numpy.ndarray,
                   label: numpy.ndarray, step: float = 1e-5,
                   absolute_floor: float = 1e-9) -> Dict[str, float]:
    """Compares backward()'s gradients with central differences for the input and every
    parameter of a chain (a sequence of layers) or a Graph; returns {what: largest relative
    error}. Use float64 layers without an optimizer (layers written in Python too)."""
    build = "_float64" if dtype_of(loss) == numpy.float64 else "_float32"
    if isinstance(layers, Graph):
        return getattr(_cnnkit, "gradient_check_graph" + build)(layers, loss, input, label, step,
                                                                absolute_floor)
    return getattr(_cnnkit, "gradient_check" + build)(list(layers), loss, input, label, step,
                                                      absolute_floor)
