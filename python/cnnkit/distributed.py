"""Data-parallel training from Python, as `mpirun -np P cnnkit train` does (docs/DISTRIBUTED.md):

    # mpirun -np 2 python3 train.py
    world = cnnkit.distributed.world()
    model = cnnkit.Model("digits-cnn", seed=7)
    model.fit(x, y, epochs=2, batch_size=64, seed=7, communicator=world)
    if world.rank == 0:
        model.save("model.safetensors")

Every rank runs the same script on the same data and holds the whole model; each batch (the
global batch, batch_size) is cut into gradient_groups fixed groups (8 by default), each rank
computes its share of the groups, and the gradients are summed in a fixed order before every
update, so every rank keeps identical weights and the model is bit for bit the one a single
process trains with fit(..., gradient_groups=8). Started without mpirun, world() is a single
process. MPI starts only when mpirun started the process (it loads cnnkit's MPI plugin then).
"""

from __future__ import annotations

import atexit
from typing import Optional

from . import _cnnkit

Communicator = _cnnkit.Communicator

_world: Optional[Communicator] = None


def world() -> Communicator:
    """The communicator of every process of this job (rank, size, name, barrier()): MPI's world
    under mpirun, else one process. Made once per process (MPI cannot start twice) and closed at
    exit; RuntimeError when mpirun started the process but MPI cannot be used."""
    global _world
    if _world is None:
        _world = _cnnkit.world_communicator()
        # MPI_Finalize before the interpreter ends, so that mpirun sees a clean exit.
        atexit.register(_world.close)
    return _world


def started_by_mpirun() -> bool:
    """Whether mpirun started this process (Open MPI's or a PMI environment)."""
    return bool(_cnnkit.started_by_mpirun())
