#!/usr/bin/env bash
# Data-parallel scaling of a config's train step on this machine: runs
# build/bench/dist_scaling with 1 and 2 processes (1 LibTorch thread each,
# the same batch per process) and prints both JSON lines, the scaling
# efficiency images/s(2) / (2 x images/s(1)), and the efficiency that the
# exposed gradient all-reduce alone would allow, step(1) / (step(1) + exposed).
#
#   scripts/bench_dist.sh [CONFIG] [dist_scaling options...]
#   scripts/bench_dist.sh configs/nyuv2-vgg16-nddr.yaml --batch 1 --height 161 --width 161
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-configs/nyuv2-vgg16-nddr.yaml}
shift || true
bench=build/bench/dist_scaling
[[ -x $bench ]] || { echo "error: build $bench first (cmake --build build --target dist_scaling)" >&2; exit 2; }

echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
one=$("$bench" -c "$config" --nproc 1 "$@" threads=1)
two=$("$bench" -c "$config" --nproc 2 "$@" threads=1)
echo "1 process:   $one"
echo "2 processes: $two"
/usr/bin/python3 - "$one" "$two" <<'PY'
import json, sys
one, two = (json.loads(text) for text in sys.argv[1:3])
efficiency = two["images_per_second"] / (2 * one["images_per_second"])
bound = one["step_ms"] / (one["step_ms"] + two["exposed_allreduce_ms"])
print(f"step: {one['step_ms']:.0f} ms (1 process), {two['step_ms']:.0f} ms (2 processes)")
print(f"images/s: {one['images_per_second']:.3f} -> {two['images_per_second']:.3f}")
print(f"scaling efficiency at 2 processes: {100 * efficiency:.1f}%")
print(f"gradient all-reduce: {two['blocking_allreduce_ms']:.0f} ms blocking, "
      f"{two['exposed_allreduce_ms']:.0f} ms exposed after backward "
      f"(overlap {100 * two['overlap']:.0f}%, {two['buckets_launched_during_backward']} of "
      f"{two['buckets']} buckets launched during backward)")
print(f"efficiency the exposed all-reduce alone allows: {100 * bound:.1f}%")
PY
