#!/usr/bin/env bash
# Runs every libFuzzer target of a PSREC_FUZZ build for FUZZ_SECONDS each over its seed
# corpus (fuzz/corpus/<target>/, read-only) and a working corpus under the build directory;
# exits non-zero when any target crashes, leaks or times out (docs/fuzzing.md).
#   scripts/fuzz.sh BUILD_DIR [TARGET...]     (default: every fuzz_* target)
set -euo pipefail

build_dir=${1:?usage: scripts/fuzz.sh BUILD_DIR [TARGET...]}
shift
seconds=${FUZZ_SECONDS:-60}
repo=$(cd "$(dirname "$0")/.." && pwd)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for seeds in "$repo"/fuzz/corpus/fuzz_*/; do targets+=("$(basename "$seeds")"); done
fi

failed=()
for target in "${targets[@]}"; do
  binary="$build_dir/fuzz/$target"
  [ -x "$binary" ] || { echo "fuzz: $binary is not built" >&2; exit 2; }
  work="$build_dir/fuzz-work/$target"
  mkdir -p "$work/corpus" "$work/artifacts"
  echo "fuzz: $target for ${seconds}s"
  if "$binary" -max_total_time="$seconds" -timeout=10 -max_len=8192 -print_final_stats=1 \
       -artifact_prefix="$work/artifacts/" "$work/corpus" "$repo/fuzz/corpus/$target" \
       > "$work/log.txt" 2>&1; then
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$work/log.txt" |
      sed "s/^/  /"
  else
    echo "fuzz: $target FAILED; log: $work/log.txt, input: $(ls "$work"/artifacts/* 2>/dev/null | head -1)"
    grep -E 'ERROR|SUMMARY|runtime error' "$work/log.txt" | head -5 | sed "s/^/  /"
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} target(s) ran ${seconds}s each without a crash"
