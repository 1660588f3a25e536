#!/bin/sh
# Training speed of a model with one core kept busy by another process (issue 26, point 0):
# a busy loop pinned to the last core the process may use, then `cnnkit bench` with one thread,
# with two and with the default (all cores), alternating, ROUNDS times; each round also prints
# the two-thread and default figures as a share of the one-thread figure (goal: >= 0.9). Run on
# a quiet machine: other load makes every figure noisy (docs/PERFORMANCE.md, "A busy core").
#   bench/busy_core.sh [cnnkit binary] [model] [rounds]
set -eu
cnnkit=${1:-build/tools/cnnkit}
model=${2:-fashion-lenet}
rounds=${3:-3}
busy_core=$(($(nproc) - 1))
taskset -c "$busy_core" sh -c 'while :; do :; done' &
busy=$!
trap 'kill "$busy"' EXIT INT TERM
rate() {
  "$cnnkit" bench --model "$model" --threads "$1" --iterations 20 --repeats 3 --json |
    python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["train_images_per_s"])'
}
for round in $(seq "$rounds"); do
  one=$(rate 1)
  two=$(rate 2)
  all=$(rate 0)
  python3 -c "import sys; one, two, all = map(float, sys.argv[1:])
print(f'round $round: train images/s threads 1 {one:.0f}, threads 2 {two:.0f} ({two / one:.2f}x), '
      f'default {all:.0f} ({all / one:.2f}x)')" "$one" "$two" "$all"
done
