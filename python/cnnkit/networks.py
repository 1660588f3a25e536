"""Networks of layers: the lecture's NeuralNetwork with its ArrayDataLayer, the Graph, and
gradient_check for either."""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy

from . import _cnnkit
from ._dispatch import DtypeDispatch, bound, dtype_of

DType = Any


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
