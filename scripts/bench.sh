#!/usr/bin/env bash
# `make bench`: the benchmark suite of issue #5. Runs the push/pull grid, the training
# benchmarks, the ingest benchmark and the Google Benchmark micro-benchmarks, and writes
#   BUILD/bench/latest.json   one JSON object per line (per benchmark run)
#   BUILD/bench/latest.md     a markdown table of the headline figures
# Results are per machine: never commit them. Quick mode (BENCH_QUICK=1) shrinks sizes.
set -euo pipefail
build="${1:-build}"
psrec="$build/psrec"
out="$build/bench"
mkdir -p "$out"
json="$out/latest.json"
md="$out/latest.md"
: > "$json"
quick="${BENCH_QUICK:-0}"

run() {  # run <label> <command...>: append the command's JSON line, tagged with the label
  local label="$1"; shift
  echo "== $label: $*" >&2
  local line
  if line=$("$@" --json | tail -n 1); then
    echo "{\"label\":\"$label\",${line#\{}" >> "$json"
  else
    echo "{\"label\":\"$label\",\"error\":\"exit $?\"}" >> "$json"
  fi
}

# Push/pull grid: D x K x P, 1 server + 1 worker as separate processes on loopback.
for dim in 32 64; do
  for keys in 1000 10000 100000; do
    for pipeline in 1 4; do
      run "pushpull D=$dim K=$keys P=$pipeline" "$psrec" bench pushpull \
        --dim "$dim" --keys-per-request "$keys" --pipeline "$pipeline"
    done
  done
done

# Training on the 20M-rating synthetic set (1M users x 100k items, k = 32).
epochs=5
extra=()
if [ "$quick" = 1 ]; then
  epochs=2
  extra=(--set data.synthetic.num_users=100000 --set data.synthetic.num_items=10000)
fi
for placement in local remote; do
  run "train $placement" "$psrec" bench train --config configs/bench_synth20m.textproto \
    --placement "$placement" --servers 1 --workers 1 --epochs "$epochs" --target-rmse 0.9 \
    "${extra[@]}"
done

lines=20000000
[ "$quick" = 1 ] && lines=2000000
run "ingest ${lines} lines" "$psrec" bench ingest --lines "$lines" --repeat 3

# Micro-benchmarks (Google Benchmark), when built.
for micro in "$build"/bench/*_bench; do
  [ -x "$micro" ] || continue
  echo "== $(basename "$micro")" >&2
  "$micro" --benchmark_format=json > "$out/$(basename "$micro").json" || true
done

# The markdown summary: one row per JSON line, the figures each benchmark reports.
{
  echo "| benchmark | figures |"
  echo "|---|---|"
  while IFS= read -r line; do
    label=$(sed -n 's/.*"label":"\([^"]*\)".*/\1/p' <<< "$line")
    figures=$(sed -e 's/^{"label":"[^"]*",//' -e 's/}$//' -e 's/,"/, /g' -e 's/"//g' <<< "$line")
    echo "| $label | $figures |"
  done < "$json"
} > "$md"
cat "$md"
echo "wrote $json and $md" >&2
