#!/usr/bin/env bash
# The main job: trains the single-task baseline and NDDR-CNN (segmentation +
# surface normals) on the built-in synthetic scenes with a CPU-sized network,
# evaluates both on held-out scenes and prints per-task metrics and delta_m.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --target nddr_cli
build_dir=${NDDR_BUILD_DIR:-build}
start=$(date +%s)
for method in single nddr; do
  echo "== training ${method} (configs/demo.yaml network.fusion=${method})"
  "$build_dir/nddr" train -c configs/demo.yaml name="$method" network.fusion="$method" "$@"
done
echo
echo "== held-out synthetic scenes (delta_m against the single-task networks)"
"$build_dir/nddr" compare runs/demo/single/results.json runs/demo/nddr/results.json \
  --single runs/demo/single/results.json
echo "demo wall time: $(($(date +%s) - start)) s (training + evaluation, build excluded)"
