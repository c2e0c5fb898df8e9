#!/usr/bin/env bash
# Builds the library, CLI and the whole test suite with AddressSanitizer and
# UndefinedBehaviorSanitizer (gcc by default; NDDR_SANITIZER_CXX=clang++-14
# for clang) in build-asan/, at -O1, and runs the suite through CTest. Any
# ASan report or UBSan finding fails the test it occurs in.
#
#   bash scripts/check_sanitizers.sh
#   NDDR_SANITIZER_EXCLUDE='Trainer\.LossFalls' bash scripts/check_sanitizers.sh
#   NDDR_SANITIZER_TARGETS='test_util test_io' bash scripts/check_sanitizers.sh
#
# NDDR_SANITIZER_TARGETS builds and runs only those test programs (CI gates
# such a subset: docs/reliability.md says which and why).
#
# The -j default is the core count (ninja's own default oversubscribes).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${NDDR_SANITIZER_BUILD_DIR:-build-asan}
compiler=${NDDR_SANITIZER_CXX:-g++}
# shift-base stays recoverable so scripts/ubsan.supp can silence stb's JPEG
# encoder (test fixtures only); every other UBSan finding stops the test.
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
flags="$flags -fsanitize-recover=shift-base"
# LibTorch is built with NDEBUG, and some of its classes change layout
# without it (at::RecordFunction has an inputs_valid_ member only in debug
# builds): without NDEBUG here its inline header code reads fields the
# library's objects do not have (UBSan: invalid bool in the Flops tests).
flags="$flags -DNDEBUG"
# UBSan's vptr check needs the typeinfo of every polymorphic class it meets,
# and LibTorch does not export some (c10::DynamicType: the CLI, through the
# TorchScript export, does not link with it).
flags="$flags -fno-sanitize=vptr"
# Configured on every run, so a build dir made with older flags picks up the
# current ones (unchanged flags rebuild nothing).
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$compiler" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DNDDR_BUILD_BENCH=OFF >/dev/null
start=$(date +%s)
targets=${NDDR_SANITIZER_TARGETS:-}
# shellcheck disable=SC2086 # the target list is space-separated on purpose
nice cmake --build "$build" -j "${NDDR_SANITIZER_JOBS:-$(nproc)}" ${targets:+--target $targets}
built=$(date +%s)
# LibTorch is not instrumented and keeps its registries until exit: leak
# reports would be its, not ours. allocator_may_return_null lets a huge
# allocation fail as it does without ASan (a c10::Error, not an abort).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$PWD/scripts/ubsan.supp}
exclude=${NDDR_SANITIZER_EXCLUDE:-}
labels=()
if [ -n "$targets" ]; then
  # Each test carries its program's name as its label (tests/CMakeLists.txt).
  labels=(-L "^($(echo "$targets" | tr ' ' '|'))\$")
fi
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" "${labels[@]}" ${exclude:+-E "$exclude"}
done_at=$(date +%s)
echo "check_sanitizers: build $((built - start)) s, tests $((done_at - built)) s ($(nproc) cores)"
