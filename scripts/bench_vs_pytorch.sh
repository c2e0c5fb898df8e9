#!/usr/bin/env bash
# nddr against its plain-PyTorch twin (bench/pytorch_twin.py) on the same
# machine in the same run: the paper's network (configs/nyuv2-vgg16-nddr.yaml)
# at the sizes given, its train step and its inference (nddr's BatchNorm-folded
# path, which eval and predict run, against the twin's eager eval mode), ms
# per step and the ratio twin/nddr (above 1: nddr is faster).
# Robust on a shared, loaded machine: --repeat R rounds, nddr and the twin
# alternating (nddr first in odd rounds, the twin first in even ones); a
# round's ratio compares neighbours in time, so slow drifts of the load cancel.
# Printed: each side's median over rounds of its per-round median, the median
# per-round ratio and its range over rounds, for wall time and for process CPU
# time (with --threads 1 the CPU time is the work itself and moves least).
#   bash scripts/bench_vs_pytorch.sh [options]
#     --device D        cpu (default), cuda, cuda:N
#     --precision P     fp32 (default), bf16, fp16
#     --channels-last   both in channels_last memory format
#     --batch N         images per step (default 10)
#     --size S          square input S x S (default 321)
#     --net-width W     channel multiplier (default 1.0, the paper's)
#     --warmup N / --iters N   untimed / timed iterations (default 2 / 10)
#     --repeat R        rounds of nddr and the twin, alternating (default 1; 5+ when loaded)
#     --threads N       intra-op threads of both (default: all cores)
#     --out FILE        also append the figures as one JSON line to FILE
#     --dry-run         print the two commands and exit
# NDDR_BIN: the nddr binary (default build/nddr). NDDR_TWIN_PYTHON: the python
# with torch for the twin (default /usr/bin/python3, Debian's torch 1.13).
set -euo pipefail
cd "$(dirname "$0")/.."
device=cpu precision=fp32 channels_last=false batch=10 size=321 net_width=1.0
warmup=2 iters=10 repeat=1 threads=$(nproc) out="" dry_run=false
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --precision) precision=$2; shift 2 ;;
    --channels-last) channels_last=true; shift ;;
    --batch) batch=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --net-width) net_width=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    *) echo "bench_vs_pytorch: unknown option '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
nddr=${NDDR_BIN:-build/nddr}
python=${NDDR_TWIN_PYTHON:-/usr/bin/python3}
config=configs/nyuv2-vgg16-nddr.yaml

nddr_cmd=("$nddr" bench -c "$config" --json --batch "$batch" --height "$size" --width "$size"
  --warmup "$warmup" --iters "$iters" --threads "$threads" network.width="$net_width"
  device="$device" precision="$precision" channels_last="$channels_last")
twin_cmd=("$python" bench/pytorch_twin.py --batch "$batch" --height "$size" --width "$size"
  --net-width "$net_width" --warmup "$warmup" --iters "$iters" --threads "$threads"
  --device "$device" --precision "$precision")
[ "$channels_last" = true ] && twin_cmd+=(--channels-last)
if [ "$dry_run" = true ]; then
  echo "nddr: ${nddr_cmd[*]}"
  echo "twin: ${twin_cmd[*]}"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq 1 "$repeat"); do
  if [ $((r % 2)) = 1 ]; then
    "${nddr_cmd[@]}" >"$tmp/nddr.$r.json"
    "${twin_cmd[@]}" >"$tmp/twin.$r.json"
  else
    "${twin_cmd[@]}" >"$tmp/twin.$r.json"
    "${nddr_cmd[@]}" >"$tmp/nddr.$r.json"
  fi
done

"$python" - "$tmp" "$repeat" "$out" <<'EOF'
import json, statistics, sys
tmp, repeat, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = {who: [json.load(open(f"{tmp}/{who}.{r}.json")) for r in range(1, repeat + 1)]
        for who in ("nddr", "twin")}
first = runs["nddr"][0]
print(f"{first['backbone']} x{first['network_width']} {first['fusion']}, batch {first['batch']} "
      f"x 3x{first['height']}x{first['width']}, {first['device']} ({first['device_name']}), "
      f"{first['precision']}{', channels_last' if first['channels_last'] else ''}, "
      f"{first['threads']} thread(s), {repeat} round(s); twin: {runs['twin'][0]['implementation']}")
print("ms: median over rounds of each round's median; ratio twin/nddr: median [min, max] over rounds")
print(f"{'':20}{'nddr ms':>9}{'twin ms':>9}{'ratio':>7}{'  range':14}{'CPU nddr':>10}"
      f"{'CPU twin':>10}{'ratio':>7}{'  range':14}")
# nddr's inference is its BatchNorm-folded path (what eval and predict run);
# its unfolded eval-mode network is shown too.
phases = {"train_step": ("train_step", "train_step"),
          "inference": ("inference_folded", "inference"),
          "inference_unfolded": ("inference", "inference")}
figures = {"nddr": first, "twin": runs["twin"][0], "rounds": repeat}
for phase, (nddr_key, twin_key) in phases.items():
    row, text = {}, f"{phase:20}"
    for kind, key in (("wall", "median_ms"), ("cpu", "cpu_median_ms")):
        nddr_ms = [run[nddr_key][key] for run in runs["nddr"]]
        twin_ms = [run[twin_key][key] for run in runs["twin"]]
        ratios = [t / n for n, t in zip(nddr_ms, twin_ms)]
        r = row[kind] = {"nddr_ms": statistics.median(nddr_ms),
                         "twin_ms": statistics.median(twin_ms),
                         "ratio": statistics.median(ratios), "ratio_min": min(ratios),
                         "ratio_max": max(ratios)}
        text += (f"{r['nddr_ms']:9.1f}{r['twin_ms']:9.1f}{r['ratio']:7.2f}"
                 f"{f'  [{min(ratios):.2f}, {max(ratios):.2f}]':14}")
    # nddr's achieved TFLOP/s and MFU (from its mean time): median over rounds.
    row["nddr_tflops"] = statistics.median(run[nddr_key]["tflops"] for run in runs["nddr"])
    mfus = [run[nddr_key]["mfu"] for run in runs["nddr"] if run[nddr_key]["mfu"] is not None]
    row["nddr_mfu"] = statistics.median(mfus) if mfus else None
    mfu_text = f", MFU {100 * row['nddr_mfu']:.1f}%" if mfus else ""
    print(text + f"  nddr {row['nddr_tflops']:.3f} TFLOP/s{mfu_text}")
    figures[phase] = row
if out:
    with open(out, "a") as f:
        f.write(json.dumps(figures) + "\n")
EOF
