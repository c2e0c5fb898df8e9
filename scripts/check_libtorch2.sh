#!/usr/bin/env bash
# Builds nddr against the LibTorch inside a pip-installed PyTorch 2.x (CUDA or
# CPU wheel) and runs the test suite there: the check that the code still
# compiles and behaves on LibTorch 2.x as well as on Debian's 1.13.
#   bash scripts/check_libtorch2.sh [build-dir]
# NDDR_DEPS_PREFIX: an extra prefix holding yaml-cpp, GoogleTest, CLI11,
# nlohmann-json, stb and zlib (usr/include, usr/lib/...) on machines that lack
# them as system packages; its libraries are put on LD_LIBRARY_PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build-libtorch2}
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
prefix_path=$torch_prefix
cxx_flags=""
if [ -n "${NDDR_DEPS_PREFIX:-}" ]; then
  deps=$(cd "$NDDR_DEPS_PREFIX" && pwd)
  prefix_path="$torch_prefix;$deps"
  cxx_flags="-isystem $deps/include"
  export LD_LIBRARY_PATH="$deps/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNDDR_BUILD_BENCH=OFF \
  -DCMAKE_PREFIX_PATH="$prefix_path" -DCMAKE_CXX_FLAGS="$cxx_flags"
cmake --build "$build_dir"
ctest --test-dir "$build_dir" -j "$(nproc)" --output-on-failure
