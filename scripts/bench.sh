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

# The same with update_mode DELTAS (worker-side steps, row changes pushed), ratings grouped
# by user and 1M-rating batches, SGD on both tables; one and two workers (two cores).
deltas=(--set training.update_mode=DELTAS --set training.rating_order=BY_USER
        --set training.batch_size=1000000 --set tables.item.optimizer.kind=SGD
        --set tables.item.optimizer.learning_rate=0.01)
for placement in local remote; do
  for workers in 1 2; do
    run "train $placement deltas W=$workers" "$psrec" bench train \
      --config configs/bench_synth20m.textproto --placement "$placement" --servers 1 \
      --workers "$workers" --epochs "$epochs" --target-rmse 0.9 "${deltas[@]}" "${extra[@]}"
  done
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

# The markdown summary: the headline figures of each run next to issue #5's goals (ps-lite
# out of the box x 2 for push/pull, LIBMF's 48M updates/s x 0.5 / x 0.15 for training).
field() {  # field <json line> <name>: the value of "name" (numbers and strings)
  sed -n "s/.*\"$2\": *\"\{0,1\}\([^,\"}]*\).*/\1/p" <<< "$1"
}
millions() { awk -v x="$1" 'BEGIN { if (x == "") print "-"; else printf "%.2fM", x / 1e6 }'; }
{
  echo "| benchmark | measured | goal |"
  echo "|---|---|---|"
  while IFS= read -r line; do
    label=$(field "$line" label)
    if [ -n "$(field "$line" error)" ]; then
      echo "| $label | failed: $(field "$line" error) | |"
      continue
    fi
    case "$label" in
      pushpull*)
        measured="push $(millions "$(field "$line" push_keys_per_sec)") / pull $(millions "$(field "$line" pull_keys_per_sec)") keys/s, $(field "$line" push_mb_per_sec) / $(field "$line" pull_mb_per_sec) MB/s, 1-key RTT p50 $(field "$line" rtt_us_p50) us"
        case "$label" in
          *"D=32 K=10000 P=4") goal=">= 10.0M / 6.0M keys/s" ;;
          *"D=32 K=10000 P=1") goal=">= 19.0M / 16.2M keys/s" ;;
          *"D=32 K=100000 P=1") goal=">= 26.4M / 25.8M keys/s, >= 2500 MB/s" ;;
          *"K=100000"*) goal=">= 2500 MB/s" ;;
          *) goal="" ;;
        esac
        goal="${goal:+$goal; }RTT p50 <= 50 us" ;;
      train*)
        measured="$(millions "$(field "$line" ratings_per_sec)") ratings/s, RSS $(awk -v b="$(field "$line" peak_rss_bytes)" 'BEGIN { printf "%.0f", b / 1e6 }') MB, test RMSE $(field "$line" test_rmse), to RMSE 0.9 in $(field "$line" time_to_target_sec) s"
        case "$label" in
          "train local"*) goal=">= 24M ratings/s (0.5x LIBMF), RSS <= 600 MB" ;;
          *) goal=">= 7.2M ratings/s (0.15x LIBMF), RSS <= 600 MB" ;;
        esac ;;
      ingest*)
        measured="median $(field "$line" median_s) s, RSS $(field "$line" rss_over_output)x output"
        goal="<= 1.5 s, <= 1.2x" ;;
      *) measured=$(sed -e 's/^{"label":"[^"]*",//' -e 's/}$//' -e 's/,"/, /g' -e 's/"//g' <<< "$line")
         goal="" ;;
    esac
    echo "| $label | $measured | $goal |"
  done < "$json"
} > "$md"
cat "$md"
echo "wrote $json and $md" >&2
