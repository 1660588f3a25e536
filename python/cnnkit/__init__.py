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

from . import _cnnkit
from .data import (load_csv, load_digits, load_fashion_mnist, load_idx, load_idx_directory,
                   load_image_folder)
from . import distributed
from .layers import (Add, AveragePooling, BatchNorm, Concat, Conv, Dropout, Flatten,
                     FullyConnected, GlobalAveragePooling, Layer, LeakyReLU, Pooling, ReLU,
                     Sigmoid, SoftMax, TanH)
from .model import EarlyStopping, Model, preset_names
from .networks import ArrayDataLayer, Graph, NeuralNetwork, gradient_check
from .training import (Adam, AdamW, Augmentation, Constant, CrossEntropyLoss, He, Initializer,
                       L2Loss, Loss, Optimizer, Schedule, Sgd, SgdWithMomentum,
                       SoftmaxCrossEntropyLoss, UniformRandom, Xavier, normalize)

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
