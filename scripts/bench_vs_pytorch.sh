#!/usr/bin/env bash
# nddr against its plain-PyTorch twin (bench/pytorch_twin.py) on the same
# machine in the same run: the paper's network (configs/nyuv2-vgg16-nddr.yaml)
# at the sizes given, its train step and its inference, ms per step and the
# ratio twin/nddr (above 1: nddr is faster). Each side's figure is its fastest
# timed iteration over all repeats.
#   bash scripts/bench_vs_pytorch.sh [options]
#     --device D        cpu (default), cuda, cuda:N
#     --precision P     fp32 (default), bf16, fp16
#     --channels-last   both in channels_last memory format
#     --batch N         images per step (default 10)
#     --size S          square input S x S (default 321)
#     --net-width W     channel multiplier (default 1.0, the paper's)
#     --warmup N / --iters N   untimed / timed iterations (default 2 / 10)
#     --repeat R        alternate nddr and the twin R times, keep each one's best median
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
  "${nddr_cmd[@]}" >"$tmp/nddr.$r.json"
  "${twin_cmd[@]}" >"$tmp/twin.$r.json"
done

"$python" - "$tmp" "$repeat" "$out" <<'EOF'
import json, sys
tmp, repeat, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = {who: [json.load(open(f"{tmp}/{who}.{r}.json")) for r in range(1, repeat + 1)]
        for who in ("nddr", "twin")}
first = runs["nddr"][0]
print(f"{first['backbone']} x{first['network_width']} {first['fusion']}, batch {first['batch']} "
      f"x 3x{first['height']}x{first['width']}, {first['device']} ({first['device_name']}), "
      f"{first['precision']}{', channels_last' if first['channels_last'] else ''}, "
      f"{first['threads']} thread(s); twin: {runs['twin'][0]['implementation']}")
print(f"{'min ms':12}{'nddr ms':>10}{'twin ms':>10}{'twin/nddr':>11}{'nddr TFLOP/s':>14}{'MFU':>8}")
figures = {"nddr": first, "twin": runs["twin"][0]}
for phase in ("train_step", "inference"):
    # Each side's fastest iteration over all repeats: on a shared machine the
    # least disturbed one is the closest to the work's own time. nddr's
    # TFLOP/s and MFU (from its mean) come from that run.
    best = {who: min(runs[who], key=lambda run: run[phase]["min_ms"]) for who in runs}
    nddr_ms, twin_ms = best["nddr"][phase]["min_ms"], best["twin"][phase]["min_ms"]
    mfu = best["nddr"][phase]["mfu"]
    mfu_text = f"{100 * mfu:.1f}%" if mfu is not None else "n/a"
    print(f"{phase:12}{nddr_ms:10.2f}{twin_ms:10.2f}{twin_ms / nddr_ms:11.3f}"
          f"{best['nddr'][phase]['tflops']:14.3f}{mfu_text:>8}")
    figures[phase] = {"nddr_ms": nddr_ms, "twin_ms": twin_ms, "ratio": twin_ms / nddr_ms,
                      "nddr_tflops": best["nddr"][phase]["tflops"], "nddr_mfu": mfu}
if out:
    with open(out, "a") as f:
        f.write(json.dumps(figures) + "\n")
EOF
