#!/usr/bin/env bash
# Builds nddr against the LibTorch inside the pip-installed PyTorch 2.11 wheel
# (CUDA build: its CUDA code paths are compiled and linked, and run where a
# GPU exists) and runs the whole test suite there: the check that the code
# compiles and behaves on LibTorch 2.x as well as on Debian's 1.13.
#   bash scripts/check_libtorch2.sh [build-dir]
# The build directory (default build-libtorch2) is kept, so a second run only
# rebuilds what changed.
# NDDR_PYTHON: a python whose torch to use (default: scripts/venv.sh's venv,
# made on first use). Exits 3 with a message when no such torch can be had
# (no registry, no disk space), so callers can report and go on.
# NDDR_DEPS_PREFIX: a prefix (scripts/gpu_deps.sh makes one) holding
# yaml-cpp, GoogleTest, CLI11, nlohmann-json, stb and zlib (include/,
# lib/x86_64-linux-gnu/) on machines that lack them as system packages.
# NDDR_CTEST_ARGS: extra ctest arguments (e.g. "-R Cuda").
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build-libtorch2}

python=${NDDR_PYTHON:-}
if [ -z "$python" ]; then
  if ! venv=$(bash scripts/venv.sh); then
    echo "check_libtorch2: SKIPPED: the torch 2.11.0 wheel could not be installed" >&2
    exit 3
  fi
  python=$venv/bin/python
fi
if ! torch_dir=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))'); then
  echo "check_libtorch2: SKIPPED: $python has no importable torch" >&2
  exit 3
fi
"$python" -c 'import torch; print("check_libtorch2: torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.is_available())'

# The torch folder itself comes first: its lib/ must win over a system
# LibTorch (Debian's /usr/lib/x86_64-linux-gnu/libtorch.so), which
# find_library would otherwise find before the wheel's.
prefix_path="$torch_dir;$torch_dir/share/cmake"
cxx_flags=""
extra=()
if [ -n "${NDDR_DEPS_PREFIX:-}" ]; then
  deps=$(cd "$NDDR_DEPS_PREFIX" && pwd)
  prefix_path="$prefix_path;$deps"
  # jpeglib.h includes jconfig.h from the multiarch folder.
  cxx_flags="-isystem $deps/include -isystem $deps/include/x86_64-linux-gnu"
  extra=(-Dyaml-cpp_DIR="$deps/lib/x86_64-linux-gnu/cmake/yaml-cpp"
    -DGTest_DIR="$deps/lib/x86_64-linux-gnu/cmake/GTest"
    -DZLIB_INCLUDE_DIR="$deps/include" -DZLIB_LIBRARY="$deps/lib/x86_64-linux-gnu/libz.so"
    -DJPEG_INCLUDE_DIR="$deps/include" -DJPEG_LIBRARY="$deps/lib/x86_64-linux-gnu/libjpeg.so")
  export LD_LIBRARY_PATH="$deps/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# The wheel also ships protoc and headers of protobuf 3.13 (torch/bin,
# torch/include), which the prefix path would make CMake pick; the event
# messages are built with the system's protobuf (the one the libraries link).
protoc=$(command -v protoc || true)
[ -n "${NDDR_DEPS_PREFIX:-}" ] && [ -x "$deps/bin/protoc" ] && protoc=$deps/bin/protoc
if [ -n "$protoc" ]; then
  extra+=(-DProtobuf_PROTOC_EXECUTABLE="$protoc"
    -DProtobuf_INCLUDE_DIR="$(dirname "$(dirname "$protoc")")/include")
fi
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNDDR_BUILD_BENCH=OFF \
    -DCMAKE_PREFIX_PATH="$prefix_path" -DCMAKE_CXX_FLAGS="$cxx_flags" "${extra[@]}" >/dev/null
fi
cmake --build "$build_dir"
# Its own torchrun: a launcher's store speaks its PyTorch version's protocol.
torchrun=$(dirname "$python")/torchrun
[ -x "$torchrun" ] && export NDDR_TORCHRUN=$torchrun

# The binaries must run the wheel's LibTorch, with libstdc++ ahead of it in
# DT_NEEDED (CMakeLists.txt explains why): otherwise std::filesystem calls
# crash, the failure this script first reproduced.
binary=$build_dir/nddr
ldd "$binary" | grep -q "$torch_dir/lib/libtorch_cpu.so" || {
  echo "check_libtorch2: $binary does not load $torch_dir/lib/libtorch_cpu.so:" >&2
  ldd "$binary" | grep torch >&2
  exit 1
}
needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
first_stdcxx=$(echo "$needed" | grep -n '^libstdc++' | head -1 | cut -d: -f1)
first_torch=$(echo "$needed" | grep -n '^libtorch\|^libc10' | head -1 | cut -d: -f1)
if [ -z "$first_stdcxx" ] || [ "$first_stdcxx" -gt "$first_torch" ]; then
  echo "check_libtorch2: $binary lists a torch library before libstdc++ in DT_NEEDED:" >&2
  echo "$needed" >&2
  exit 1
fi

# shellcheck disable=SC2086  # NDDR_CTEST_ARGS is a list of words
ctest --test-dir "$build_dir" -j "$(nproc)" --output-on-failure ${NDDR_CTEST_ARGS:-}
