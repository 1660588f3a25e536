#!/usr/bin/env bash
# Data-parallel training under mpirun (docs/DISTRIBUTED.md), end to end on the digits data:
#   same bits   1, 2, 3 (ranks with several subtrees) and 4 ranks give a model.safetensors
#               byte-identical to one process with the same gradient groups (and one process with
#               the plain step gives another: the check can fail)
#   resume      a run of 2 ranks continued by 4 ranks ends with the same model
#   kill -9     one rank killed: the job ends within seconds with a message, the checkpoint loads
#   SIGTERM     to mpirun: every rank stops between batches, rank 0 says so, the checkpoint loads
#   batch norm  a residual model with BatchNorm (statistics of the global batch) and a mean loss:
#               2 and 4 ranks give one process's model with the same groups byte for byte (and
#               the plain step another)
#   bench       `cnnkit bench --gradient-groups` on 2 ranks: rank 0 alone prints the images/s and
#               each rank's time in the sums across ranks
#   bad input   --batch-size below the rank count, other data on one rank, another learning rate
#               on one rank, a checkpoint of another model, the MPI plugin missing: one clear
#               message (rank 0's), every rank exits; no data on one rank: that rank's message,
#               and the job ends
# Usage: tests/mpi_test.sh path/to/cnnkit [part ...]   (parts: bits resume kill term bn bench bad;
#        all)
set -uo pipefail

cnnkit=${1:?usage: $0 path/to/cnnkit [part ...]}
shift
parts=${*:-bits resume kill term bn bench bad}
work=$(mktemp -d "${TMPDIR:-/tmp}/cnnkit_mpi.XXXXXX")
trap 'rm -rf "$work"' EXIT
# CI runs as root; in containers the single-copy mechanism (CMA) is not allowed.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun=(mpirun --oversubscribe --mca btl_vader_single_copy_mechanism none)
common=(train --model digits-cnn --data digits --threads 1 --seed 7)

fail() {
  echo "mpi_test: FAIL: $*" >&2
  exit 1
}
pass() { echo "mpi_test: ok: $*"; }
same() { cmp -s "$1" "$2" || fail "$3: $1 and $2 differ"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The reference: one process, the default groups of mpirun.
"$cnnkit" "${common[@]}" --epochs 2 --gradient-groups 8 --out "$work/one" >"$work/one.log" 2>&1 ||
  fail "one process: $(cat "$work/one.log")"

for part in $parts; do
  case $part in
  bits)
    "$cnnkit" "${common[@]}" --epochs 2 --out "$work/plain" >/dev/null 2>&1 || fail "plain run"
    cmp -s "$work/one/model.safetensors" "$work/plain/model.safetensors" &&
      fail "the grouped and the plain step gave the same model: the comparison cannot fail"
    for ranks in 1 2 3 4; do
      "${mpirun[@]}" -np $ranks "$cnnkit" "${common[@]}" --epochs 2 --out "$work/np$ranks" \
        >"$work/np$ranks.log" 2>&1 || fail "$ranks ranks: $(cat "$work/np$ranks.log")"
      same "$work/one/model.safetensors" "$work/np$ranks/model.safetensors" "$ranks ranks"
      [[ $(grep -c '^model digits-cnn' "$work/np$ranks.log") == 1 ]] ||
        fail "$ranks ranks: expected the first line once (rank 0 alone speaks)"
    done
    pass "1, 2, 3 and 4 ranks under mpirun give the model of one process, byte for byte"
    ;;
  resume)
    "${mpirun[@]}" -np 2 "$cnnkit" "${common[@]}" --epochs 1 --out "$work/resumed" \
      >"$work/resume1.log" 2>&1 || fail "resume, first epoch: $(cat "$work/resume1.log")"
    "${mpirun[@]}" -np 4 "$cnnkit" "${common[@]}" --epochs 2 --resume --out "$work/resumed" \
      >"$work/resume2.log" 2>&1 || fail "resume on 4 ranks: $(cat "$work/resume2.log")"
    grep -q 'resuming after epoch 1' "$work/resume2.log" || fail "resume: $(cat "$work/resume2.log")"
    same "$work/one/model.safetensors" "$work/resumed/model.safetensors" "2 ranks resumed by 4"
    pass "a checkpoint of 2 ranks continued on 4 gives the same model"
    ;;
  bn)
    bn=(train --model "$(dirname "$0")/data/digits_bn_resnet.json" --data digits --threads 1 --seed 7
      --epochs 2 --batch-size 40)
    "$cnnkit" "${bn[@]}" --gradient-groups 4 --out "$work/bn_one" >"$work/bn_one.log" 2>&1 ||
      fail "batch norm, one process: $(cat "$work/bn_one.log")"
    "$cnnkit" "${bn[@]}" --out "$work/bn_plain" >/dev/null 2>&1 || fail "batch norm, plain run"
    cmp -s "$work/bn_one/model.safetensors" "$work/bn_plain/model.safetensors" &&
      fail "batch norm: the grouped and the plain step gave the same model: the comparison cannot fail"
    for ranks in 2 4; do
      "${mpirun[@]}" -np $ranks "$cnnkit" "${bn[@]}" --gradient-groups 4 --out "$work/bn_np$ranks" \
        >"$work/bn_np$ranks.log" 2>&1 || fail "batch norm, $ranks ranks: $(cat "$work/bn_np$ranks.log")"
      same "$work/bn_one/model.safetensors" "$work/bn_np$ranks/model.safetensors" "batch norm, $ranks ranks"
    done
    pass "batch norm: 2 and 4 ranks under mpirun give the model of one process, byte for byte"
    ;;
  bench)
    "${mpirun[@]}" -np 2 "$cnnkit" bench --model digits-cnn --threads 1 --batch 16 --iterations 2 \
      --repeats 1 --warmup 1 --gradient-groups 2 >"$work/bench.log" 2>&1 ||
      fail "bench on 2 ranks: $(cat "$work/bench.log")"
    [[ $(grep -c '2 rank(s) x 1 thread(s)' "$work/bench.log") == 1 &&
      $(grep -c '^  training: .* images/s' "$work/bench.log") == 1 ]] ||
      fail "bench: expected rank 0's lines once, got: $(cat "$work/bench.log")"
    for rank in 0 1; do
      grep -q "^  rank $rank: [0-9.]* ms per step in the sums across ranks (with a barrier before each sum: [0-9.]* ms waiting" \
        "$work/bench.log" || fail "bench: expected rank $rank's sums, got: $(cat "$work/bench.log")"
    done
    pass "bench on 2 ranks: rank 0 reports the images/s and both ranks' time in the sums"
    ;;
  kill | term)
    run=$work/$part
    "${mpirun[@]}" -np 2 "$cnnkit" "${common[@]}" --epochs 100000 --out "$run" >"$work/$part.log" 2>&1 &
    launcher=$!
    for ((i = 0; i < 300; ++i)); do
      [[ -f $run/checkpoint.safetensors ]] && break
      sleep 0.1
    done
    [[ -f $run/checkpoint.safetensors ]] || fail "$part: no checkpoint after 30 s: $(cat "$work/$part.log")"
    if [[ $part == kill ]]; then
      victim=
      for child in $(pgrep -P $launcher); do
        tr '\0' '\n' <"/proc/$child/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' &&
          victim=$child
      done
      [[ -n $victim ]] || fail "kill: found no process of rank 1 under mpirun ($launcher)"
      kill -KILL "$victim"
    else
      kill -TERM $launcher
    fi
    start=$(now_ms)
    for ((i = 0; i < 200; ++i)); do
      kill -0 $launcher 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 $launcher 2>/dev/null; then
      kill -KILL $launcher
      fail "$part: the job still runs 20 s later (a hang): $(cat "$work/$part.log")"
    fi
    wait $launcher
    status=$?
    seconds=$((($(now_ms) - start) / 1000))
    [[ $status != 0 ]] || fail "$part: expected a failed job, got exit status 0"
    if [[ $part == kill ]]; then
      grep -q 'signal 9' "$work/$part.log" || fail "kill: expected mpirun's message, got: $(cat "$work/$part.log")"
    else
      [[ $(grep -c 'interrupted in epoch' "$work/$part.log") == 1 ]] ||
        fail "term: expected rank 0's 'interrupted' once, got: $(cat "$work/$part.log")"
    fi
    "$cnnkit" eval --model "$run/checkpoint.safetensors" --data digits --threads 1 >/dev/null 2>&1 ||
      fail "$part: the checkpoint does not load"
    pass "$part: the job ended ${seconds} s after the signal (status $status), the checkpoint loads"
    ;;
  bad)
    # Each: the command, then the message expected exactly once.
    check_bad() {
      local name=$1 message=$2
      shift 2
      timeout 60 "$@" >"$work/bad.log" 2>&1
      local status=$?
      [[ $status != 0 && $status != 124 ]] || fail "$name: expected a clear failure, got status $status: $(cat "$work/bad.log")"
      [[ $(grep -c -- "$message" "$work/bad.log") == 1 ]] ||
        fail "$name: expected '$message' once, got: $(cat "$work/bad.log")"
    }
    check_bad "batch below ranks" "expected at least one sample per rank" \
      "${mpirun[@]}" -np 2 "$cnnkit" "${common[@]}" --batch-size 1 --out "$work/bad1"
    mkdir -p "$work/other"
    zcat "$(dirname "$0")/../data/digits.csv.gz" | sed '1s/^0,0,5/0,0,6/' | gzip >"$work/other/digits.csv.gz"
    check_bad "other data on rank 1" "got other training or test data than rank 0's on rank(s) 1" \
      "${mpirun[@]}" -np 1 "$cnnkit" "${common[@]}" --out "$work/bad2" : \
      -np 1 env CNNKIT_DATA_DIR="$work/other" "$cnnkit" "${common[@]}" --out "$work/bad2"
    # An error of one rank alone: printed with its rank, and the job ends (MPI_Abort).
    check_bad "no data on rank 1" "cnnkit train (rank 1 of 2): " \
      "${mpirun[@]}" -np 1 "$cnnkit" "${common[@]}" --out "$work/bad5" : \
      -np 1 "$cnnkit" train --model digits-cnn --data "csv:$work/missing.csv" --out "$work/bad5"
    check_bad "another learning rate on rank 1" "got others than rank 0's on rank(s) 1" \
      "${mpirun[@]}" -np 1 "$cnnkit" "${common[@]}" --out "$work/bad3" : \
      -np 1 "$cnnkit" "${common[@]}" --learning-rate 0.01 --out "$work/bad3"
    "$cnnkit" "${common[@]}" --epochs 1 --out "$work/bad6" >/dev/null 2>&1 || fail "a checkpoint to resume"
    check_bad "a checkpoint of another model" "holds model 'digits-cnn' with other layers" \
      "${mpirun[@]}" -np 2 "$cnnkit" train --model "$(dirname "$0")/data/digits_bn_resnet.json" \
      --data digits --threads 1 --epochs 2 --resume --out "$work/bad6"
    check_bad "MPI missing" "cannot load cnnkit's MPI support" \
      "${mpirun[@]}" -np 2 -x CNNKIT_MPI_PLUGIN=/nonexistent/libcnnkit_mpi.so "$cnnkit" "${common[@]}" --out "$work/bad4"
    # Without mpirun the plugin is never looked at.
    CNNKIT_MPI_PLUGIN=/nonexistent/libcnnkit_mpi.so "$cnnkit" "${common[@]}" --epochs 1 \
      --out "$work/plain1" >/dev/null 2>&1 || fail "a plain start looked for MPI"
    pass "bad input: one message each, every rank exits"
    ;;
  *) fail "unknown part '$part'" ;;
  esac
done
