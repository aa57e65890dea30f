#!/usr/bin/env bash
# NCF with pretraining on MovieLens 100K leave-one-out (docs/models.md, "NCF"; the paper's
# recipe): for each seed trains GMF and MLP on `psrec sim` (2 servers x 2 workers), keeping
# their final checkpoints, then NeuMF started from both (model.pretrain), and prints HR@10
# and NDCG@10 of each model's LAST epoch per seed and their means. Not in CI.
#   scripts/ncf_pretrain.sh DATA_DIR OUT_DIR [--set key=value ...]
# DATA_DIR holds train.tsv, test.tsv and test.negative (the NCF layout). OUT_DIR/S/{gmf,mlp}
# keep the checkpoints, OUT_DIR/S/runs/* the run reports of seed S. The --set flags apply to
# the NeuMF job only. PSREC (default build/psrec) names the binary, SEEDS (default "1 2 3")
# the seeds, GMF / MLP / NEUMF the configs (default configs/ml100k_loo_gmf, _mlp and
# _neumf_pretrained .textproto).
set -euo pipefail
if [[ $# -lt 2 ]]; then
  sed -n '2,11p' "$0"
  exit 2
fi
data=$1
root=$2
shift 2
psrec=${PSREC:-build/psrec}
seeds=${SEEDS:-1 2 3}
gmf=${GMF:-configs/ml100k_loo_gmf.textproto}
mlp=${MLP:-configs/ml100k_loo_mlp.textproto}
neumf=${NEUMF:-configs/ml100k_loo_neumf_pretrained.textproto}
data_flags=(--set data.train_path="$data/train.tsv" --set data.test_path="$data/test.tsv"
            --set evaluation.protocol=LEAVE_ONE_OUT
            --set evaluation.negatives_path="$data/test.negative")

# run NAME CONFIG SEED [flags...]: one job; prints its last epoch's figures.
run() {
  local name=$1 config=$2 seed=$3
  shift 3
  local out="$root/$seed/runs/$name"
  "$psrec" sim --servers 2 --workers 2 --quiet --config "$config" "${data_flags[@]}" \
    --set training.seed="$seed" --set output.dir="$out" "$@" >/dev/null
  python3 - "$out/summary.json" "$name" "$seed" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))["final"]
print(f"{sys.argv[2]:<16} seed {sys.argv[3]}  epoch {f['epoch']}  HR@10 {f['hr@10']:.4f}  NDCG@10 {f['ndcg@10']:.4f}")
PY
}

mkdir -p "$root"
for seed in $seeds; do
  rm -rf "$root/$seed/gmf" "$root/$seed/mlp"
  run gmf "$gmf" "$seed" --set checkpoint.dir="$root/$seed/gmf" --set checkpoint.every_epochs=0
  run mlp "$mlp" "$seed" --set checkpoint.dir="$root/$seed/mlp" --set checkpoint.every_epochs=0
  run neumf_pretrained "$neumf" "$seed" \
    --set model.pretrain.gmf_checkpoint="$root/$seed/gmf" \
    --set model.pretrain.mlp_checkpoint="$root/$seed/mlp" "$@"
done | tee "$root/lines"
awk '{hr[$1] += $7; ndcg[$1] += $9; n[$1] += 1}
     END {for (m in n) printf "%-16s mean of %d seeds  HR@10 %.4f  NDCG@10 %.4f\n", m, n[m], hr[m] / n[m], ndcg[m] / n[m]}' \
  "$root/lines"
