"""Public names that pick the float32 or float64 build of a bound class by their dtype argument."""

from __future__ import annotations

from typing import Any, Tuple

import numpy

from . import _cnnkit


def suffix(dtype: Any) -> str:
    """'_float32' or '_float64' for a dtype; TypeError for any other."""
    kind = numpy.dtype(dtype)
    if kind == numpy.float32:
        return "_float32"
    if kind == numpy.float64:
        return "_float64"
    raise TypeError(f"cnnkit: expected dtype float32 or float64, got {kind}")


def bound(name: str, dtype: Any) -> Any:
    """The bound class `name` for this dtype (e.g. Conv_float32)."""
    return getattr(_cnnkit, name + suffix(dtype))


def dtype_of(obj: Any) -> Any:
    """The dtype of a bound object (from its class name)."""
    return numpy.float64 if type(obj).__name__.endswith("_float64") else numpy.float32


class DtypeDispatch(type):
    """Metaclass: isinstance(x, cnnkit.Conv) is true for both builds of Conv."""

    _bound_name: str = ""

    def __instancecheck__(cls, instance: Any) -> bool:
        builds: Tuple[type, ...] = tuple(
            getattr(_cnnkit, cls._bound_name + s) for s in ("_float32", "_float64"))
        return isinstance(instance, builds)
