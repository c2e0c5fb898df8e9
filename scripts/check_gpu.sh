#!/usr/bin/env bash
# The GPU machine's check, one prepared script (aimed at under 8 minutes on
# one H200 with PyTorch 2.11 / CUDA 13 and 16 cores):
#   1. builds nddr against that machine's PyTorch wheel (LibTorch from
#      torch.utils.cmake_prefix_path) and the Debian libraries carried in
#      .deps (scripts/gpu_deps.sh makes it here: nothing can be installed
#      there);
#   2. runs the CUDA tests (tests/train/test_cuda.cpp), then every other test;
#   3. times the paper's network (configs/nyuv2-vgg16-nddr.yaml, 321x321,
#      batch 10) train step and inference in fp32, bf16 and fp16, nddr
#      against bench/pytorch_twin.py, with MFU, and the loader alone;
# and writes the figures to $OUT/gpu_figures.txt (tables) and
# $OUT/gpu_bench.jsonl (one JSON line per comparison), logs to $OUT/*.log.
#
# From the development machine, through the device tool:
#   bash scripts/gpu_deps.sh        # once, here
#   run(command="bash scripts/check_gpu.sh", carry=[".deps"], timeout_s=540)
# NDDR_GPU_PYTHON: the python with torch there (default python3).
# --dry-run: print what would run (and check the tools), build and run nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
dry_run=false
[ "${1:-}" = "--dry-run" ] && dry_run=true
out=${OUT:-out}
mkdir -p "$out"
figures=$out/gpu_figures.txt
python=${NDDR_GPU_PYTHON:-python3}
build=build-gpu
start=$(date +%s)
elapsed() { echo "$(($(date +%s) - start))s"; }
say() { echo "[$(elapsed)] $*" | tee -a "$figures"; }

: >"$figures"
say "check_gpu: $(date -u +%FT%TZ), $(nproc) cores"
say "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
nvidia-smi -L 2>&1 | tee -a "$figures" || say "nvidia-smi: not available"
"$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
  "gpu", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)' 2>&1 |
  tee -a "$figures" || say "$python has no torch"
[ -d .deps/usr ] || { say "check_gpu: .deps/usr missing: run scripts/gpu_deps.sh here and carry .deps"; exit 1; }

bench_args=(--device cuda --batch 10 --size 321 --warmup 5 --iters 20 --threads "$(nproc)")
export NDDR_BIN=$build/nddr NDDR_TWIN_PYTHON=$python
if [ "$dry_run" = true ]; then
  say "dry run: would build $build with NDDR_PYTHON=$python NDDR_DEPS_PREFIX=.deps/usr"
  say "dry run: bench commands:"
  for precision in fp32 bf16 fp16; do
    bash scripts/bench_vs_pytorch.sh --dry-run --precision "$precision" "${bench_args[@]}" |
      tee -a "$figures"
  done
  exit 0
fi

# 1-2. Build, CUDA tests. check_libtorch2.sh builds everything and runs ctest
# with NDDR_CTEST_ARGS; the CUDA tests go first so their result is in even if
# the time runs out later.
export NDDR_PYTHON=$python NDDR_DEPS_PREFIX=.deps/usr
if NDDR_CTEST_ARGS="-R ^Cuda\." bash scripts/check_libtorch2.sh "$build" >"$out/gpu_build.log" 2>&1; then
  say "build + CUDA tests: passed ($(grep -c 'Passed' "$out/gpu_build.log") Cuda.* tests)"
else
  say "build or CUDA tests FAILED: tail of $out/gpu_build.log:"
  tail -40 "$out/gpu_build.log" | tee -a "$figures"
fi
grep -E "tests passed|Skipped|Failed" "$out/gpu_build.log" | tee -a "$figures" || true
export LD_LIBRARY_PATH="$PWD/.deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# 3. The paper's network against the twin, each precision, contiguous and
# channels_last (the default of channels_last is decided from these).
for precision in bf16 fp32 fp16; do
  for layout in "" --channels-last; do
    say "bench: $precision ${layout:-contiguous}"
    # shellcheck disable=SC2086  # $layout is empty or one flag
    timeout 120 bash scripts/bench_vs_pytorch.sh --precision "$precision" $layout \
      "${bench_args[@]}" --out "$out/gpu_bench.jsonl" 2>>"$out/gpu_bench.log" |
      tee -a "$figures" || say "bench $precision $layout FAILED (see $out/gpu_bench.log)"
  done
done

# The loader alone at the paper's recipe (augmentation, 321 crops, batch 10),
# on synthetic scenes of NYUv2's size (no NYUv2 there), against the trainer's
# images/s above.
for workers in 4 8 16; do
  say "loader: $workers workers"
  timeout 60 "$build/nddr" bench -c configs/nyuv2-vgg16-nddr.yaml --data --warmup 5 --iters 40 \
    data.train.dataset=synthetic_scenes \
    'data.train.options={count: 200, height: 480, width: 640, classes: 6}' \
    'tasks=[{name: seg, kind: segmentation, channels: 8, loss_weight: 1},
            {name: normals, kind: normals, channels: 3, loss_weight: 20}]' \
    data.workers="$workers" data.prefetch=$((2 * workers)) 2>&1 | tee -a "$figures" ||
    say "loader bench FAILED"
done

# The rest of the suite with CUDA present (device=auto picks the GPU).
if ctest --test-dir "$build" -j "$(nproc)" --output-on-failure -E "^Cuda\." --timeout 120 \
  >"$out/gpu_tests.log" 2>&1; then
  say "whole suite: passed"
else
  say "whole suite: FAILURES (see $out/gpu_tests.log)"
fi
grep -E "tests passed|\(Failed\)|\(Timeout\)|Subprocess aborted" "$out/gpu_tests.log" |
  head -40 | tee -a "$figures" || true
say "check_gpu: done"
