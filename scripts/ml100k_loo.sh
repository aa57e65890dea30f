#!/usr/bin/env bash
# The NCF leave-one-out protocol on MovieLens 100K (docs/evaluation.md): trains a config
# on `psrec sim` with 2 servers x 2 workers for 3 seeds and prints HR@10 and NDCG@10 of the
# LAST epoch (a fixed epoch count, never the best one) per seed and their mean. Not in CI.
#   scripts/ml100k_loo.sh DATA_DIR [CONFIG] [--set key=value ...]
# DATA_DIR holds train.tsv, test.tsv and test.negative (the NCF layout; make them with
# `psrec data split --split ncf-leave-one-out`). CONFIG defaults to
# configs/ml100k_loo_bpr.textproto; PSREC (default build/psrec) names the binary,
# SEEDS (default "1 2 3") the seeds.
set -euo pipefail
if [[ $# -lt 1 ]]; then
  sed -n '2,10p' "$0"
  exit 2
fi
data=$1
shift
config=configs/ml100k_loo_bpr.textproto
if [[ $# -gt 0 && $1 != --set ]]; then
  config=$1
  shift
fi
psrec=${PSREC:-build/psrec}
seeds=${SEEDS:-1 2 3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for seed in $seeds; do
  "$psrec" sim --servers 2 --workers 2 --quiet --config "$config" \
    --set data.train_path="$data/train.tsv" --set data.test_path="$data/test.tsv" \
    --set evaluation.protocol=LEAVE_ONE_OUT --set evaluation.negatives_path="$data/test.negative" \
    --set training.seed="$seed" --set output.dir="$out/$seed" "$@" >/dev/null
  python3 - "$out/$seed/summary.json" "$seed" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))["final"]
print(f"seed {sys.argv[2]}  epoch {f['epoch']}  HR@10 {f['hr@10']:.4f}  NDCG@10 {f['ndcg@10']:.4f}")
PY
done | tee "$out/lines"
awk '{hr += $6; ndcg += $8; n += 1}
     END {printf "mean of %d seeds  HR@10 %.4f  NDCG@10 %.4f\n", n, hr / n, ndcg / n}' "$out/lines"
