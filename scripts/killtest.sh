#!/usr/bin/env bash
# The kill acceptance test of issue #14 (docs/training.md, "Restarts"; not run by CI: it
# takes tens of minutes). ML-100K u1 (configs/ml100k_u1.textproto, checkpoints every epoch),
# RUNS runs of each of four modes, each crashed or killed once at a random moment:
#   sim-server  psrec sim --max-restarts 3 --inject-crash server:I:step=N  (a server of the
#               one sim process stops abruptly after worker 0's batch N: its connections
#               close, its rows are lost)
#   sim-worker  psrec sim --max-restarts 3 --inject-crash worker:I:step=N
#   mpi-server  psrec launch --max-restarts 3 -- mpirun ... psrec train; kill -9 of a server rank
#   mpi-worker  the same, kill -9 of a worker rank
# (kill -9 of a whole `psrec sim` process is a node loss of every role at once: that is
# `psrec launch -- psrec sim`, the mpi-* case's wrapper, and is not a separate mode here.)
# The moment is drawn in training progress, not wall time, so that a loaded or a quiet machine
# crashes every run mid-run: for sim, a step uniform over 5%..90% of the uninterrupted run's
# steps (its last checkpoint's step); for mpirun, the end of an epoch E uniform over
# 2..36 (its checkpoint appears on disk) plus a delay uniform over one epoch's mean wall time.
# Run it niced (nice -n 10 scripts/killtest.sh) on a shared machine. Each run must exit 0
# within TIMEOUT seconds, log each restart, and end with a test RMSE within 0.005 of the
# uninterrupted run of its kind. Prints a Markdown table; logs under OUT/ (TABLE_ONLY=1
# prints the table of what OUT/ holds so far).
#   PSREC_ML100K_DIR=/path/to/ml-100k scripts/killtest.sh [BUILD_DIR]
# Environment: RUNS (20), OUT (killtest-out), TIMEOUT (900), SEED (1), MODES.
set -euo pipefail

build=${1:-build}
repo=$(cd "$(dirname "$0")/.." && pwd)
psrec=$(cd "$build" && pwd)/psrec
data=${PSREC_ML100K_DIR:?set PSREC_ML100K_DIR to a MovieLens 100K folder}
runs=${RUNS:-20}
out=${OUT:-killtest-out}
timeout_s=${TIMEOUT:-900}
modes=${MODES:-"sim-server sim-worker mpi-server mpi-worker"}
RANDOM=${SEED:-1}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$out"
out=$(cd "$out" && pwd)

servers=2 workers=2 epochs=40  # the config's training.epochs
job=(--config "$repo/configs/ml100k_u1.textproto" --set "data.train_path=$data/u1.base"
     --set "data.test_path=$data/u1.test" --set checkpoint.every_epochs=1 --quiet)
mpi=(mpirun --oversubscribe -np $((servers + workers)) --mca btl self,tcp)

rmse() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["final"]["test_rmse"])' "$1"; }
now_ms() { date +%s%3N; }

# run_job NAME KIND [CRASH]: one run in $out/NAME; prints "exit wall_ms".
run_job() {
  local name=$1 kind=$2 crash=${3:-} dir="$out/$1"
  rm -rf "$dir"; mkdir -p "$dir"
  local ckpt=(--set "checkpoint.dir=$dir/ckpt" --out "$dir/run")
  local t0; t0=$(now_ms)
  local code=0
  if [[ $kind == sim ]]; then
    local extra=(); [[ -n $crash ]] && extra=(--max-restarts 3 --inject-crash "$crash")
    timeout -k 30 "$timeout_s" "$psrec" sim --servers $servers --workers $workers "${job[@]}" \
      "${ckpt[@]}" "${extra[@]}" > "$dir/stdout" 2> "$dir/stderr" || code=$?
  else
    timeout -k 30 "$timeout_s" "$psrec" launch --max-restarts 3 -- "${mpi[@]}" "$psrec" train \
      --servers $servers "${job[@]}" "${ckpt[@]}" > "$dir/stdout" 2> "$dir/stderr" &
    local pid=$!
    if [[ -n $crash ]]; then  # crash = "RANK:STEP:MS": kill -9 that rank MS ms after a
      local rank at ms newest                   # checkpoint of step >= STEP appears
      IFS=: read -r rank at ms <<< "$crash"
      while kill -0 "$pid" 2>/dev/null; do
        newest=$(ls -d "$dir"/ckpt/step-* 2>/dev/null | sort | tail -1) || true  # none yet: ls fails
        [[ -n $newest ]] && (( 10#${newest##*step-} >= at )) && break
        sleep 0.1
      done
      sleep "$(awk -v ms="$ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
      local victim=""
      for _ in $(seq 200); do
        victim=$(grep -lsz "OMPI_COMM_WORLD_RANK=$rank\$" /proc/[0-9]*/environ 2>/dev/null |
                 while read -r env; do p=${env#/proc/}; p=${p%/environ}
                   tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -- "$dir/run" && echo "$p"
                 done | head -1) || true
        [[ -n $victim ]] && break
        sleep 0.05
      done
      if [[ -n $victim ]]; then kill -9 "$victim"; echo "killed rank $rank pid $victim" > "$dir/killed"; fi
    fi
    wait "$pid" || code=$?
  fi
  echo "$code $(( $(now_ms) - t0 ))"
}

declare -A base_rmse base_ms base_steps
if [[ -n ${TABLE_ONLY:-} ]]; then kinds=(); else kinds=(sim mpi); rm -f "$out/results.txt" "$out/baselines.txt"; fi
for kind in "${kinds[@]}"; do
  read -r code ms < <(run_job "base-$kind" "$kind")
  [[ $code == 0 ]] || { echo "killtest: uninterrupted $kind run failed, see $out/base-$kind" >&2; exit 1; }
  base_rmse[$kind]=$(rmse "$out/base-$kind/run/summary.json")
  base_ms[$kind]=$ms
  last=$(ls -d "$out/base-$kind/ckpt"/step-* | sort | tail -1)
  base_steps[$kind]=$((10#${last##*step-}))
  echo "$kind ${base_rmse[$kind]}" >> "$out/baselines.txt"
  echo "killtest: uninterrupted $kind: test RMSE ${base_rmse[$kind]}, ${ms} ms" >&2
done

# One row per mode from $out/results.txt ("mode run exit restarts rmse" per line).
table() {
  python3 - "$out/results.txt" "$out/baselines.txt" <<'PY'
import statistics, sys
base = dict(l.split() for l in open(sys.argv[2]))
rows = {}
for line in open(sys.argv[1]):
    mode, _, code, restarts, rmse = line.split()
    rows.setdefault(mode, []).append((int(code), int(restarts), rmse))
print("| mode | runs | crashed mid-run | finished | hung (timed out) | restarts logged | test RMSE min | median | max | uninterrupted | max deviation |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
failed = 0
for mode, runs in rows.items():
    b = float(base[mode.split("-")[0]])
    xs = sorted(float(r) for c, _, r in runs if c == 0)
    hung = sum(1 for c, _, _ in runs if c in (124, 137))
    dev = max((abs(x - b) for x in xs), default=float("inf"))
    failed += len(xs) != len(runs) or dev > 0.005
    cells = ("%.5f %.5f %.5f" % (xs[0], statistics.median(xs), xs[-1])).split() if xs else ["-"] * 3
    crashed = sum(1 for _, r, _ in runs if r > 0)  # else the run ended before its moment
    print("| %s | %d | %d | %d | %d | %d | %s | %.5f | %.6f |" % (mode, len(runs), crashed, len(xs), hung,
          sum(r for _, r, _ in runs), " | ".join(cells), b, dev))
sys.exit(1 if failed else 0)
PY
}
if [[ -n ${TABLE_ONLY:-} ]]; then table; exit; fi

# Runs interleave the modes, so that a partial run already covers each of them.
for i in $(seq "$runs"); do
  for mode in $modes; do
    kind=${mode%%-*} role=${mode##*-}
    if [[ $role == server ]]; then index=$((RANDOM % servers)); else index=$((RANDOM % workers)); fi
    if [[ $kind == sim ]]; then
      step=$(( base_steps[sim] * (500 + RANDOM % 8501) / 10000 ))
      crash="$role:$index:step=$(( step > 0 ? step : 1 ))"
    else  # mpi: RANK:STEP:MS, STEP the end of epoch `epoch`
      epoch=$(( 2 + RANDOM % 35 )) ms=$(( base_ms[mpi] / epochs * (RANDOM % 1000) / 1000 ))
      if [[ $role == server ]]; then rank=$index; else rank=$((servers + index)); fi
      crash="$rank:$(( base_steps[mpi] * epoch / epochs )):$ms"
    fi
    read -r code wall < <(run_job "$mode-$i" "$kind" "$crash")
    dir="$out/$mode-$i"
    n=$(grep -c "restart [0-9]* of" "$dir/stderr" || true)
    r=none
    [[ $code == 0 ]] && r=$(rmse "$dir/run/summary.json")
    echo "$mode $i $code $n $r" >> "$out/results.txt"
    echo "killtest: $mode $i: crash $crash, exit $code, ${wall} ms, restarts $n, rmse $r" >&2
  done
done
table
