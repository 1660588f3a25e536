"""The tests import cnnkit from PYTHONPATH (the build tree: ctest sets it) or the installed one."""

import os

import pytest

DATA_DIR = os.environ.get("CNNKIT_DATA_DIR",
                          os.path.join(os.path.dirname(__file__), "..", "..", "data"))


@pytest.fixture
def data_dir():
    return DATA_DIR
