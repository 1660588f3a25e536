#!/usr/bin/env bash
# The kill -9 loop: `cnnkit train` on the digits data (1 thread) killed with SIGKILL at random
# moments, each time continued with --resume. After every kill the run folder holds no checkpoint
# or one that loads (and a model file, if any, that loads); the temporary files a kill leaves are
# gone once the next run has started; after the loop, --resume finishes with a model.safetensors
# byte-identical to that of an uninterrupted run, and no temporary file is left.
#
# Usage: tests/kill_resume_test.sh path/to/cnnkit [kills (20)] [random seed (the time)]
# Registered in CTest as kill_resume_test; the seed it prints repeats a failing sequence.
set -uo pipefail

cnnkit=${1:?usage: $0 path/to/cnnkit [kills] [seed]}
kills=${2:-20}
seed=${3:-$(date +%s)}
RANDOM=$seed
work=$(mktemp -d "${TMPDIR:-/tmp}/cnnkit_kill_resume.XXXXXX")
trap 'rm -rf "$work"' EXIT
common=(--model digits-cnn --data digits --threads 1 --epochs 20 --seed 7)
run=$work/killed

fail() {
  echo "kill_resume_test (seed $seed): FAIL: $*" >&2
  exit 1
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The temporary files in the run folder (hidden ones too), one name a line.
temporaries() {
  local file
  for file in "$run"/*.tmp* "$run"/.*.tmp*; do
    [[ -e $file ]] && printf '%s\n' "${file##*/}"
  done
}

# The reference, timed: the kills fall within the first tenth of a run's length after each start,
# so each killed run gets a little further and the kills spread over start-up, batches, the
# evaluation and the writes of every epoch.
start=$(now_ms)
"$cnnkit" train "${common[@]}" --out "$work/straight" >"$work/straight.log" 2>&1 ||
  fail "the uninterrupted run failed: $(cat "$work/straight.log")"
window_ms=$((($(now_ms) - start) / 10 + 1))

with_checkpoint=0
with_temporaries=0
finished_early=0
for ((k = 1; k <= kills; ++k)); do
  resume=()
  [[ -f $run/checkpoint.safetensors ]] && resume=(--resume)
  left_before=$(temporaries)
  "$cnnkit" train "${common[@]}" "${resume[@]}" --out "$run" >"$work/run.log" 2>&1 &
  pid=$!
  delay_ms=$(((RANDOM * 32768 + RANDOM) % window_ms))
  sleep "$((delay_ms / 1000)).$(printf %03d $((delay_ms % 1000)))"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null # (no "Killed" line from the shell)
  status=$?
  case $status in
    137) ;;
    0) finished_early=$((finished_early + 1)) ;;
    *) fail "kill $k: the run exited with $status before the kill: $(cat "$work/run.log")" ;;
  esac

  # A run that printed its first line holds the folder and has removed what a kill left.
  if grep -q '^model digits-cnn' "$work/run.log"; then
    for name in $left_before; do
      [[ -e $run/$name ]] && fail "kill $k: $name, left by kill $((k - 1)), survived the next start"
    done
  fi
  for file in checkpoint.safetensors model.safetensors; do
    if [[ -f $run/$file ]]; then
      "$cnnkit" eval --model "$run/$file" --data digits --threads 1 >"$work/eval.log" 2>&1 ||
        fail "kill $k (after ${delay_ms} ms): $file does not load: $(cat "$work/eval.log")"
    fi
  done
  epoch=$(grep -o 'resuming after epoch [0-9]*' "$work/run.log" | grep -o '[0-9]*$')
  [[ -f $run/checkpoint.safetensors ]] && with_checkpoint=$((with_checkpoint + 1))
  left=$(temporaries)
  [[ -n $left ]] && with_temporaries=$((with_temporaries + 1))
  echo "kill $k after ${delay_ms} ms (resuming after epoch ${epoch:-?}):" \
    "checkpoint $([[ -f $run/checkpoint.safetensors ]] && echo loads || echo none)," \
    "temporary files: ${left:-none}" | tr '\n' ' '
  echo
done

resume=()
[[ -f $run/checkpoint.safetensors ]] && resume=(--resume)
"$cnnkit" train "${common[@]}" "${resume[@]}" --out "$run" >"$work/run.log" 2>&1 ||
  fail "the final --resume failed: $(cat "$work/run.log")"
cmp -s "$work/straight/model.safetensors" "$run/model.safetensors" ||
  fail "model.safetensors after the kills differs from the uninterrupted run's"
[[ -z $(temporaries) ]] || fail "temporary files left after the final run: $(temporaries)"
echo "kill_resume_test (seed $seed): $kills kills ($with_checkpoint with a checkpoint," \
  "$with_temporaries left temporary files, $finished_early finished before the kill);" \
  "model.safetensors identical to the uninterrupted run's"
