#!/usr/bin/env bash
# Installs psrec's build and test dependencies from Debian packages. Idempotent: packages
# already present are left alone, and nothing is fetched when all of them are installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  openmpi-bin libopenmpi-dev          # bootstrap, barriers, metric reductions
  libboost-dev libboost-system-dev    # Boost.Asio (push/pull transport)
  protobuf-compiler libprotobuf-dev   # configs, wire headers, manifests
  libeigen3-dev                       # gradient kernels
  libgoogle-glog-dev                  # logging
  libgtest-dev libgmock-dev           # tests
  libbenchmark-dev                    # micro-benchmarks in bench/
  libabsl-dev                         # flat_hash_map for the server's key -> row index
  nlohmann-json3-dev                  # JSON output: ids, paths and messages escaped right by
                                      # construction (header-only)
  libssl-dev                          # libcrypto: HMAC-SHA256 challenge-response handshake
                                      # (the job secret never crosses the wire), nonces
  libsodium-dev                       # X25519 + ChaCha20: federated secure aggregation's
                                      # pairwise masks, seeded DP noise
  clang libclang-rt-dev               # libFuzzer, ASan+UBSan and TSan builds (make fuzz,
                                      # make ci-sanitize, make ci-tsan, make ci-fuzz)
  chromium                            # tests only: renders `psrec report` pages headless
  curl                                # tests only: scrapes the metrics endpoint
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
