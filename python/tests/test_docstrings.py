"""help() is useful on every public name: each class, method, property and function of the package
has a docstring, and every bound method names its arguments (no arg0, arg1)."""

import inspect
import re

import cnnkit
from cnnkit import _cnnkit

BUILDS = ("_float32", "_float64")


def text_of(doc, name):
    """A docstring without the signature line pybind11 puts first."""
    doc = doc or ""
    if doc.startswith(name + "(") or doc.startswith("Overloaded function"):
        doc = doc.split("\n", 1)[1] if "\n" in doc else ""
    return doc.strip()


def problems_of_bound_class(cls):
    problems = []
    if not (cls.__doc__ or "").strip():
        problems.append(f"{cls.__name__}: no class docstring")
    for name, member in vars(cls).items():
        where = f"{cls.__name__}.{name}"
        if isinstance(member, property):
            if not (member.__doc__ or "").strip():
                problems.append(f"{where}: property without docstring")
            continue
        doc = getattr(member, "__doc__", None)
        if name.startswith("__") and name != "__init__" or doc is None:
            continue
        if re.search(r"\barg\d+\b", doc):
            problems.append(f"{where}: unnamed arguments in {doc.splitlines()[0]}")
        if name != "__init__" and not text_of(doc, name):
            problems.append(f"{where}: no docstring")
    return problems


def bound_classes():
    for name in cnnkit.__all__:
        bound_name = "Layer" if name == "Layer" else getattr(getattr(cnnkit, name),
                                                             "_bound_name", None)
        for build in BUILDS:
            if bound_name and hasattr(_cnnkit, bound_name + build):
                yield getattr(_cnnkit, bound_name + build)


def test_every_public_name_has_a_docstring_and_named_arguments():
    problems = []
    for name in cnnkit.__all__:
        obj = getattr(cnnkit, name)
        if not (obj.__doc__ or "").strip():
            problems.append(f"cnnkit.{name}: no docstring")
        if inspect.isclass(obj) and obj.__module__.startswith("cnnkit"):
            for member_name, member in vars(obj).items():
                if member_name.startswith("_"):
                    continue
                if callable(member) or isinstance(member, (property, classmethod)):
                    if not (getattr(member, "__doc__", None) or "").strip():
                        problems.append(f"cnnkit.{name}.{member_name}: no docstring")
    for cls in set(bound_classes()):
        problems += problems_of_bound_class(cls)
    assert not problems, "\n".join(sorted(problems))


def test_the_walk_sees_the_bound_methods():
    # The test above reads the bound classes themselves: Layer's forward is among them.
    classes = set(bound_classes())
    assert _cnnkit.Layer_float32 in classes and _cnnkit.Graph_float64 in classes
    assert "forward" in vars(_cnnkit.Layer_float32)
    assert "input" in _cnnkit.Layer_float32.forward.__doc__
