"""cnnkit.distributed in one process (the 2-rank run under mpirun is tests/mpi_fit.py): world() is
one process without mpirun, and fit with it takes the grouped step, whose model equals one
process's with the same gradient groups and differs from the plain step's."""

import numpy as np
import pytest

import cnnkit
from cnnkit import _cnnkit


def trained(communicator=None, gradient_groups=None):
    (x, y, _), _ = cnnkit.load_digits()
    model = cnnkit.Model("digits-cnn", seed=7)
    model.fit(x[:300], y[:300], epochs=1, batch_size=64, seed=7, verbose=False,
              communicator=communicator, gradient_groups=gradient_groups)
    return [np.array(layer.weights) for layer in model.layers if layer.trainable]


def test_world_without_mpirun_is_one_process():
    world = cnnkit.distributed.world()
    assert world is cnnkit.distributed.world()
    assert (world.rank, world.size, world.name) == (0, 1, "single process")
    assert not world.closed and not cnnkit.distributed.started_by_mpirun()
    world.barrier()


def test_fit_with_the_world_takes_eight_gradient_groups():
    with_world = trained(cnnkit.distributed.world())
    grouped = trained(gradient_groups=8)
    plain = trained()
    for a, b in zip(with_world, grouped):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(grouped, plain))


def test_a_closed_communicator_is_an_error():
    communicator = _cnnkit.world_communicator()
    communicator.close()
    assert communicator.closed
    with pytest.raises(RuntimeError, match="close"):
        communicator.rank
    (x, y, _), _ = cnnkit.load_digits()
    with pytest.raises(RuntimeError, match="close"):
        cnnkit.Model("digits-cnn").fit(x, y, verbose=False, communicator=communicator)

