"""The layers: the lecture's and the regularisation lecture's, the Graph's Add and Concat, and
Layer, the base of every layer and of layers written in Python."""

from __future__ import annotations

from typing import Any, Dict, Sequence, Tuple, Union

import numpy

from . import _cnnkit
from ._dispatch import DtypeDispatch, bound

ShapeLike = Union[int, Sequence[int]]
DType = Any


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
