#!/usr/bin/env python3
"""Data-parallel training from Python under mpirun, end to end on the digits data: Model.fit with
cnnkit.distributed.world() on 2 ranks saves a model file byte-identical to one process with the
same gradient groups (8, fit's default under a communicator), and one process with the plain step
gives another file, so the comparison can fail; fewer groups than ranks is a ValueError on every
rank that ends the job. Run by CTest once (not with the OpenBLAS re-runs
of cnnkit_tests); not a pytest file, as it starts mpirun itself.

  PYTHONPATH=build/python python3 python/tests/mpi_fit.py            (the check)
  mpirun -np 2 python3 python/tests/mpi_fit.py --train out.safetensors   (one run, what it starts)
"""

import filecmp
import os
import subprocess
import sys
import tempfile

MPIRUN = ["mpirun", "--oversubscribe", "--mca", "btl_vader_single_copy_mechanism", "none"]


def train(out, communicator, gradient_groups):
    import cnnkit

    cnnkit.set_num_threads(1)
    (x, y, names), (tx, ty, _) = cnnkit.load_digits()
    model = cnnkit.Model("digits-cnn", seed=7)
    model.classes = names
    history = model.fit(x, y, epochs=2, batch_size=64, seed=7, validation_data=(tx, ty),
                        verbose=False, communicator=communicator,
                        gradient_groups=gradient_groups)
    if communicator is None or communicator.rank == 0:
        model.save(out)
        print(f"val_accuracy {history['val_accuracy'][-1]:.4f} "
              f"on {communicator.size if communicator else 1} process(es)")


def run(command, what, fails=False):
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if fails:
        return result.returncode, result.stdout + result.stderr
    if result.returncode != 0:
        sys.exit(f"mpi_fit: FAIL: {what} exited with {result.returncode}:\n{result.stdout}\n"
                 f"{result.stderr}")
    return result.stdout


def check():
    # CI runs as root.
    os.environ.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    me = [sys.executable, os.path.abspath(__file__)]
    with tempfile.TemporaryDirectory() as work:
        one, plain, two = (os.path.join(work, name + ".safetensors")
                           for name in ("one", "plain", "np2"))
        run(me + ["--train", one, "--groups", "8"], "one process with 8 gradient groups")
        run(me + ["--train", plain], "one process with the plain step")
        if filecmp.cmp(one, plain, shallow=False):
            sys.exit("mpi_fit: FAIL: the grouped and the plain step gave the same model: the "
                     "comparison cannot fail")
        output = run(MPIRUN + ["-np", "2"] + me + ["--train", two, "--world"], "mpirun -np 2")
        if "on 2 process(es)" not in output or output.count("val_accuracy") != 1:
            sys.exit(f"mpi_fit: FAIL: expected rank 0 alone to report 2 processes, got:\n{output}")
        if not filecmp.cmp(one, two, shallow=False):
            sys.exit("mpi_fit: FAIL: 2 ranks saved another model than one process")
        # Bad input: fewer gradient groups than ranks is cnnkit's ValueError on every rank, and
        # the job ends (no rank waits for the other).
        code, output = run(MPIRUN + ["-np", "2"] + me + ["--train", two, "--world", "--groups",
                                                         "1"], "1 group on 2 ranks", fails=True)
        if code == 0 or "ValueError" not in output or "groups" not in output:
            sys.exit(f"mpi_fit: FAIL: 1 gradient group on 2 ranks: expected cnnkit's ValueError, "
                     f"got exit code {code}:\n{output}")
    print("mpi_fit: ok: Model.fit on 2 ranks under mpirun gives the model of one process, "
          "byte for byte")


def main():
    args = sys.argv[1:]
    if "--train" not in args:
        check()
        return
    out = args[args.index("--train") + 1]
    groups = int(args[args.index("--groups") + 1]) if "--groups" in args else None
    communicator = None
    if "--world" in args:
        import cnnkit
        communicator = cnnkit.distributed.world()
    train(out, communicator, groups)


if __name__ == "__main__":
    main()
