#!/bin/sh
# Training speed of a model with one core kept busy by another process (issue 26, point 0):
# a busy loop pinned to the last core the process may use, then `cnnkit bench` with one thread,
# with two and with the default (all cores), alternating, ROUNDS times. Run on a quiet machine:
# other load makes every figure noisy.
#   bench/busy_core.sh [cnnkit binary] [model] [rounds]
set -eu
cnnkit=${1:-build/tools/cnnkit}
model=${2:-fashion-lenet}
rounds=${3:-3}
busy_core=$(($(nproc) - 1))
taskset -c "$busy_core" sh -c 'while :; do :; done' &
busy=$!
trap 'kill "$busy"' EXIT INT TERM
for round in $(seq "$rounds"); do
  for threads in 1 2 0; do
    printf 'round %s threads %s: ' "$round" "$threads"
    "$cnnkit" bench --model "$model" --threads "$threads" --iterations 20 --repeats 3 --json |
      python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print(r.get("train_images_per_s", r))'
  done
done
