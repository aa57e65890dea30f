#!/usr/bin/env bash
# Convergence table (issue #15): test RMSE after the same epochs with 1..16 workers, psrec sim
# with 2 servers, for DELTAS and GRADIENTS under ASP and SSP(2), on ML-100K u1 and on a
# planted synthetic set (~2M ratings: the 20M set's shape scaled down by 10).
# Not part of CI: ~40 runs of a few seconds to a minute each, one at a time.
#
#   scripts/convergence.sh [--ml100k DIR] [--workers "1 2 4 8 16"] [--build build] [-- --set k=v ...]
# Prints one markdown table row per (data, mode, consistency); extra --set flags after `--`
# go to every run (e.g. -- --set training.concurrent_scaling=NONE for the old behaviour).
set -euo pipefail
ml100k=""
workers="1 2 4 8 16"
build=build
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --ml100k) ml100k="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "usage: $0 [--ml100k DIR] [--workers LIST] [--build DIR] [-- --set k=v ...]" >&2; exit 2 ;;
  esac
done
psrec="$build/psrec"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The 20M benchmark set (configs/bench_synth20m.textproto) at a tenth of its users and items.
synth=(--config configs/bench_synth20m.textproto
       --set data.synthetic.num_users=100000 --set data.synthetic.num_items=10000)
datasets=(synth2m)
if [[ -n "$ml100k" ]]; then
  datasets+=(ml100k)
  ml=(--config configs/ml100k_u1.textproto
      --set data.train_path="$ml100k/u1.base" --set data.test_path="$ml100k/u1.test")
fi

final_rmse() {  # the last epoch's test_rmse, or "diverged"
  local line
  line=$("$psrec" sim --servers 2 "$@" --set output.progress=OFF --set output.dir="$out/run" \
           2>&1 | grep '^epoch' | tail -1 || true)
  if [[ "$line" =~ test_rmse\ ([0-9.]+) ]]; then echo "${BASH_REMATCH[1]}"; else echo "diverged"; fi
}

header="| data | mode | consistency |"
rule="|---|---|---|"
for w in $workers; do header+=" W=$w |"; rule+="---|"; done
echo "$header"
echo "$rule"
for data in "${datasets[@]}"; do
  if [[ "$data" == synth2m ]]; then args=("${synth[@]}"); else args=("${ml[@]}"); fi
  for mode in DELTAS GRADIENTS; do
    for consistency in ASP SSP; do
      row="| $data | $mode | $consistency"
      [[ "$consistency" == SSP ]] && row+="(2)"
      row+=" |"
      batch=()
      # DELTAS on the synthetic set with large batches (100k ratings: 20 per epoch with one
      # worker, the 1M-rating batches on 20M scaled down), where summed changes of hot
      # rows diverge; GRADIENTS keeps the config's 4096, as its summed steps need small batches.
      [[ "$data" == synth2m && "$mode" == DELTAS ]] && batch=(--set training.batch_size=100000)
      for w in $workers; do
        rmse=$(final_rmse --workers "$w" "${args[@]}" "${batch[@]}" --set training.update_mode="$mode" \
                 --set training.consistency="$consistency" --set training.staleness=2 \
                 "${extra[@]}")
        row+=" $rmse |"
      done
      echo "$row"
    done
  done
done
