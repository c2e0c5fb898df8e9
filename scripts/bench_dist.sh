#!/usr/bin/env bash
# Data-parallel scaling of a config's train step on this machine: runs
# build/bench/dist_scaling with 1 and 2 processes (1 LibTorch thread each,
# the same batch per process) and reports the scaling efficiency,
# images/s(2) / (2 x images/s(1)), and the efficiency that the exposed
# gradient all-reduce alone would allow, step(1) / (step(1) + exposed).
#
# Each round also runs the peer that tells the machine's part from the
# communication's: two independent 1-process runs at the same time, which
# share the cores, caches and memory bandwidth as the two ranks do but
# exchange nothing. Their combined images/s over 2 x images/s(1) is the
# efficiency this machine allows two processes at all (the ceiling); the
# scaling efficiency over the ceiling is what data parallelism itself keeps.
# Rounds alternate the three runs, so that a change of load hits all three.
#
#   scripts/bench_dist.sh [--rounds R] [CONFIG] [dist_scaling options...]
#   scripts/bench_dist.sh --rounds 3 configs/nyuv2-vgg16-nddr.yaml --batch 1 --height 161 --width 161
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=1
if [[ ${1:-} == --rounds ]]; then
  [[ ${2:-} =~ ^[1-9][0-9]?$ ]] || { echo "error: --rounds needs a count from 1 to 99, got '${2:-}'" >&2; exit 2; }
  rounds=$2
  shift 2
fi
config=${1:-configs/nyuv2-vgg16-nddr.yaml}
shift || true
bench=build/bench/dist_scaling
[[ -x $bench ]] || { echo "error: build $bench first (cmake --build build --target dist_scaling)" >&2; exit 2; }
[[ -f $config ]] || { echo "error: config $config does not exist" >&2; exit 2; }

echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
results=()
for ((round = 1; round <= rounds; ++round)); do
  one=$("$bench" -c "$config" --nproc 1 "$@" threads=1)
  two=$("$bench" -c "$config" --nproc 2 "$@" threads=1)
  pair_a=$(mktemp) pair_b=$(mktemp)
  trap 'rm -f "$pair_a" "$pair_b"' EXIT
  "$bench" -c "$config" --nproc 1 "$@" threads=1 >"$pair_a" &
  first=$!
  "$bench" -c "$config" --nproc 1 "$@" threads=1 >"$pair_b" || { wait "$first"; exit 2; }
  wait "$first"
  echo "round $round, 1 process:   $one"
  echo "round $round, 2 processes: $two"
  echo "round $round, 2 independent processes: $(cat "$pair_a") $(cat "$pair_b")"
  results+=("$one" "$two" "$(cat "$pair_a")" "$(cat "$pair_b")")
  rm -f "$pair_a" "$pair_b"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "${results[@]}" <<'PY'
import json, statistics, sys
runs = [json.loads(text) for text in sys.argv[1:]]
rounds = [runs[i:i + 4] for i in range(0, len(runs), 4)]
rows = []
for one, two, pair_a, pair_b in rounds:
    single = one["images_per_second"]
    rows.append({
        "step_1": one["step_ms"], "step_2": two["step_ms"],
        "ips_1": single, "ips_2": two["images_per_second"],
        "efficiency": two["images_per_second"] / (2 * single),
        "ceiling": (pair_a["images_per_second"] + pair_b["images_per_second"]) / (2 * single),
        "bound": one["step_ms"] / (one["step_ms"] + two["exposed_allreduce_ms"]),
        "blocking": two["blocking_allreduce_ms"], "exposed": two["exposed_allreduce_ms"],
        "overlap": two["overlap"], "launched": two["buckets_launched_during_backward"],
        "buckets": two["buckets"],
    })
    r = rows[-1]
    print(f"round {len(rows)}: step {r['step_1']:.0f} ms (1 process), {r['step_2']:.0f} ms "
          f"(2 processes); scaling {100 * r['efficiency']:.1f}%, ceiling {100 * r['ceiling']:.1f}%, "
          f"exposed all-reduce {r['exposed']:.0f} ms of {r['blocking']:.0f} ms blocking")
def spread(key, scale=1.0, unit=""):
    values = [scale * r[key] for r in rows]
    text = f"{statistics.median(values):.1f}{unit}"
    return text + (f" [{min(values):.1f}, {max(values):.1f}]" if len(values) > 1 else "")
print(f"over {len(rows)} round(s), median [min, max]:")
print(f"step: {spread('step_1', unit=' ms')} (1 process), {spread('step_2', unit=' ms')} (2 processes)")
print(f"images/s: {spread('ips_1')} -> {spread('ips_2')}")
print(f"scaling efficiency at 2 processes: {spread('efficiency', 100, '%')}")
print(f"ceiling (2 independent processes): {spread('ceiling', 100, '%')}")
kept = [r["efficiency"] / r["ceiling"] for r in rows]
print(f"scaling / ceiling: {100 * statistics.median(kept):.1f}%")
last = rows[-1]
print(f"gradient all-reduce: {spread('blocking', unit=' ms')} blocking, {spread('exposed', unit=' ms')} "
      f"exposed after backward (overlap {spread('overlap', 100, '%')}; last round "
      f"{last['launched']} of {last['buckets']} buckets launched during backward)")
print(f"efficiency the exposed all-reduce alone allows: {spread('bound', 100, '%')}")
PY
