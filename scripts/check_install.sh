#!/usr/bin/env bash
# Installs nddr from the build directory into a temporary prefix, then builds
# the consumer projects in examples/ against that prefix alone and runs them:
# the NDDR layer in a model of one's own trains, and a network that the
# installed `nddr` trained and exported runs through torch::jit::load.
#   bash scripts/check_install.sh      (build directory: $NDDR_BUILD_DIR or build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${NDDR_BUILD_DIR:-build}
jobs=${NDDR_JOBS:-$(nproc)}
work=$(mktemp -d "${TMPDIR:-/tmp}/nddr_install.XXXXXX")
trap 'rm -rf "$work"' EXIT

cmake --build "$build" -j "$jobs" --target nddr_cli
cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/lib/cmake/nddr/nddrConfig.cmake"
test -f "$work/prefix/include/nddr/nddr.h"

for example in examples/*/; do
  name=$(basename "$example")
  echo "check_install: building examples/$name against $work/prefix"
  cmake -S "$example" -B "$work/$name" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
  cmake --build "$work/$name" -j "$jobs" >/dev/null
done

"$work/nddr_layer_in_your_model/two_task_model"

cat >"$work/tiny.yaml" <<'YAML'
name: tiny
output_dir: runs
threads: 1
network: {fusion: nddr_shortcut, width: 0.0625, head_hidden: 16, head_dilation: 2}
tasks:
  - {name: seg, kind: segmentation, channels: 4}
  - {name: normals, kind: normals}
data:
  train: {dataset: synthetic_scenes, options: {count: 8, height: 32, width: 32, classes: 2}}
  test: {dataset: synthetic_scenes, options: {count: 2, height: 32, width: 32, classes: 2}}
  workers: 0
train: {steps: 2, batch_size: 4}
log: {tensorboard: false}
YAML
(cd "$work" && prefix/bin/nddr train -c tiny.yaml --quiet >/dev/null &&
  prefix/bin/nddr export -c tiny.yaml -o tiny.pt)
"$work/run_exported_network/run_exported" "$work/tiny.pt" --random 48 72
echo "check_install: OK (installed package, both examples built and ran)"
