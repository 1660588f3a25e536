"""Data loaders: each returns numpy arrays, inputs (count, ...) float32 and labels (count,) int64,
with the class names: (x, y, class_names), or ((x, y, names), (x, y, names)) for a train/test pair.
A missing or unreadable file raises OSError, a malformed one ValueError, naming the file."""

from __future__ import annotations

import os
from typing import List, Optional, Sequence, Tuple, Union

import numpy

from . import _cnnkit

Arrays = Tuple[numpy.ndarray, numpy.ndarray, List[str]]
ShapeLike = Union[int, Sequence[int]]


def load_idx(images_path: str, labels_path: str,
             class_names: Optional[Sequence[str]] = None) -> Arrays:
    """An IDX images file (n, rows, cols) and its labels: x (n, 1, rows, cols) in [0, 1]."""
    return _cnnkit.load_idx(os.fspath(images_path), os.fspath(labels_path),
                            list(class_names or []))


def load_idx_directory(directory: str,
                       class_names: Optional[Sequence[str]] = None) -> Tuple[Arrays, Arrays]:
    """(train, test) from the four MNIST-layout files in a directory (.gz or plain)."""
    return _cnnkit.load_idx_directory(os.fspath(directory), list(class_names or []))


def load_fashion_mnist(directory: Optional[str] = None) -> Tuple[Arrays, Arrays]:
    """Fashion-MNIST's (train, test), 60,000 and 10,000 images, with its class names; by default
    from where Debian's dataset-fashion-mnist installs it."""
    return _cnnkit.load_idx_directory(
        os.fspath(directory) if directory else _cnnkit.FASHION_MNIST_DIR,
        _cnnkit.fashion_mnist_class_names())


def load_csv(path: str, label_column: int = 0, header: Optional[bool] = None,
             delimiter: str = ",", class_names: Optional[Sequence[str]] = None) -> Arrays:
    """Labelled feature vectors, one sample per line (plain or gzip): x (count, features).
    label_column=-1 is the last column; header None: detected."""
    column = (1 << 64) - 1 if label_column == -1 else label_column
    return _cnnkit.load_csv(os.fspath(path), column, header, delimiter, list(class_names or []))


def load_digits(path: Optional[str] = None,
                split: bool = True) -> Union[Arrays, Tuple[Arrays, Arrays]]:
    """The 8x8 hand-written digits shipped with cnnkit: x (count, 1, 8, 8). split=True gives the
    repository's fixed (train, test) split (1198 / 599 images), as the C++ examples use."""
    if path is None:
        path = os.path.join(os.path.dirname(__file__), "digits.csv.gz")
    return _cnnkit.load_digits(os.fspath(path), split)


def load_image_folder(directory: str, sample_shape: ShapeLike) -> Arrays:
    """Every image under directory/<class>/, resized to sample_shape (channels, height, width)."""
    return _cnnkit.load_image_folder(os.fspath(directory), sample_shape)
