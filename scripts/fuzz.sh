#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang-14, ASan + UBSan) in build-fuzz/
# and runs each for SECONDS (default 60), one after the other, from a seed
# corpus made by fuzz/make_seeds plus the shipped configs and a few
# manifests. Prints each target's executions; exits non-zero on a finding
# (the crashing input is left in build-fuzz/findings/).
#
#   bash scripts/fuzz.sh 30           # every target for 30 s
#   bash scripts/fuzz.sh 600 npy      # one target for 10 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(config manifest safetensors npy image checkpoint)
build=${NDDR_FUZZ_BUILD_DIR:-build-fuzz}

# NDEBUG as LibTorch was built (scripts/check_sanitizers.sh says why).
# Configured on every run, so an older build dir picks up current flags.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g -DNDEBUG" \
  -DNDDR_BUILD_TESTS=OFF -DNDDR_BUILD_BENCH=OFF -DNDDR_BUILD_FUZZERS=ON >/dev/null
nice cmake --build "$build" --target fuzzers

corpus=$build/corpus
mkdir -p "$corpus"/{config,manifest} "$build/findings"
"$build/fuzz/make_seeds" "$corpus"
cp configs/*.yaml configs/experiments/*.yaml "$corpus/config/" 2>/dev/null || true
printf 'train.steps=3\nnetwork.positions=[0, 2]\ntasks=[{name: a, kind: depth}]\n' \
  >"$corpus/config/overrides"
# The manifest fuzzer's first byte picks the format: even CSV, odd JSONL.
# Every input that once crashed a target stays in its seed corpus.
for kept in fuzz/regressions/*/; do
  mkdir -p "$corpus/$(basename "$kept")"
  cp "$kept"* "$corpus/$(basename "$kept")/"
done
printf '\0image,seg,label\nrgb/0.png,seg/0.png,2\n"a, b.png",,0\n' >"$corpus/manifest/csv"
printf '\1{"image": "rgb/0.png", "depth": "d.npy", "label": 3}\n{"image": "x.png", "seg": null}\n' \
  >"$corpus/manifest/jsonl"

# LibTorch's own allocations at startup are not leaks of ours.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$PWD/fuzz/ubsan.supp}
status=0
for target in "${targets[@]}"; do
  case $target in
    manifest) seeds=$corpus/manifest ;;
    config) seeds=$corpus/config ;;
    *) seeds=$corpus/$target ;;
  esac
  work=$build/work/$target
  mkdir -p "$work"
  log=$build/fuzz_$target.log
  # A private copy of the corpus grows with what the run finds.
  cp -rn "$seeds/." "$work/"
  started=$(date +%s)
  if "$build/fuzz/fuzz_$target" "$work" -max_total_time="$seconds" -rss_limit_mb=4096 \
    -max_len=65536 -timeout=20 -print_final_stats=1 \
    -artifact_prefix="$build/findings/$target-" >"$log" 2>&1; then
    result=ok
  else
    result=FINDING
    status=1
  fi
  took=$(($(date +%s) - started))
  # libFuzzer prints its final stats only when it ends without a finding.
  runs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' ||
    grep -ao '^#[0-9]*' "$log" | tail -1 | tr -d '#')
  echo "fuzz_$target: $result, ${took} s, ${runs:-?} executions (log $log)"
done
exit $status
