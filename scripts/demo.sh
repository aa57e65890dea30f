#!/usr/bin/env bash
# `make demo`: trains biased MF on a built-in synthetic data set with the single-node
# simulation (2 parameter servers, 2 workers, loopback TCP), printing RMSE per epoch.
set -euo pipefail
psrec=${1:-build/psrec}
out=runs/demo
echo "== psrec demo: biased MF, planted rank-8 data (20k users, 2k items, 1M ratings)"
echo "== the noise floor of test RMSE is 0.5 (the planted noise std)"
"$psrec" sim --servers 2 --workers 2 --config configs/synthetic.textproto --out "$out"
echo "== charts of the run: $psrec report $out (writes $out/report.html)"
