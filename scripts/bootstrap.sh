#!/usr/bin/env bash
# Installs every Debian package nddr needs on a fresh Debian 12 machine.
# Idempotent and quiet when everything is already present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev libgloo-dev          # LibTorch 1.13 (CPU, oneDNN, Gloo) and c10d headers
  libopenblas0-pthread              # replaces the reference libblas.so.3 (50x faster matmul)
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libstb-dev zlib1g-dev libjpeg62-turbo-dev
  libgtest-dev googletest libbenchmark-dev clang-format
  dataset-fashion-mnist             # real data for the Multi-Fashion benchmark
  python3-venv                      # scripts/venv.sh: the PyPI tools' environment
  python3-torch python3-onnx        # torchrun, TorchScript loading in Python, ONNX export
  libprotobuf-dev protobuf-compiler # TensorBoard event records
  clang-14 libfuzzer-14-dev libclang-rt-14-dev   # fuzzers and sanitizers
  iproute2                          # network namespaces for the two-host test
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "bootstrap: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
"${sudo_cmd[@]}" apt-get install -o DPkg::Lock::Timeout=600 -y -qq --no-install-recommends "${missing[@]}" >/dev/null
