#!/usr/bin/env bash
# Installs the Debian packages cnnkit builds with, if any is missing (needs root for apt-get).
# Usage: scripts/install-deps.sh [--fuzz] [extra-package ...]
#   --fuzz  also what `make fuzz` needs: clang, its libFuzzer/sanitizer runtime and OpenMP runtime
set -euo pipefail

extra=()
for argument in "$@"; do
  if [ "$argument" = --fuzz ]; then
    extra+=(clang libclang-rt-14-dev libomp-14-dev)
  else
    extra+=("$argument")
  fi
done

# python3-torch: the PyTorch oracle of the Python tests (python/tests/test_oracle.py).
# libopenmpi-dev, openmpi-bin: data-parallel training under mpirun (the MPI plugin, tests/mpi_test.sh).
# libopenblas0-openmp and -serial: the other two builds of OpenBLAS, which the tests run against
# too (the system keeps the pthreads one, of the highest priority, as its choice).
packages=(g++ cmake make pkg-config libopenblas-dev libopenblas0-openmp libopenblas0-serial
          libgtest-dev libgmock-dev libbenchmark-dev
          nlohmann-json3-dev libcli11-dev libstb-dev zlib1g-dev libcairo2-dev fonts-dejavu-core
          pybind11-dev python3-dev python3-numpy python3-pytest python3-torch
          libopenmpi-dev openmpi-bin
          "${extra[@]}")

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: expected to run as root to apt-get install ${missing[*]}, got user $(id -un)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
