#!/usr/bin/env python3
"""Does a candidate's metric fall within a reference's spread over seeds?

Reads the results.json of the runs OUTPUT_DIR/REFERENCE-s<seed> and
OUTPUT_DIR/CANDIDATE-s<seed> (the run names of `nddr experiment`) and prints
a Markdown table: for each metric, the reference's min, max and mean over
its seeds, the candidate's value for each seed, and whether each lies within
[min, max]. Example (docs/performance.md):

    scripts/seed_spread.py runs/experiments/synthetic-2task-bf16 nddr_fp32 nddr_bf16 \\
        seg.miou seg.pixel_acc normals.mean
"""
import glob
import json
import os
import re
import sys


def runs(output_dir, label):
    found = {}
    for path in glob.glob(os.path.join(output_dir, label + "-s*", "results.json")):
        match = re.fullmatch(re.escape(label) + r"-s(\d+)", os.path.basename(os.path.dirname(path)))
        if match:
            with open(path) as f:
                found[int(match.group(1))] = json.load(f)
    if not found:
        sys.exit(f"error: no finished runs {output_dir}/{label}-s<seed>/results.json")
    return found


def metric(results, name, where):
    task, key = name.split(".", 1)
    try:
        return results["tasks"][task][key]
    except KeyError:
        sys.exit(f"error: metric '{name}' is not in {where}")


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    output_dir, reference, candidate, metrics = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    ref = runs(output_dir, reference)
    cand = runs(output_dir, candidate)
    seeds = sorted(cand)
    header = ["metric", f"{reference} min", "max", "mean"]
    header += [f"{candidate} s{s}" for s in seeds] + ["within"]
    print("| " + " | ".join(header) + " |")
    print("| " + " | ".join(["---"] + ["---:"] * (len(header) - 2) + [":---:"]) + " |")
    inside_all = 0
    for name in metrics:
        values = [metric(ref[s], name, f"{reference}-s{s}") for s in sorted(ref)]
        low, high = min(values), max(values)
        mean = sum(values) / len(values)
        got = [metric(cand[s], name, f"{candidate}-s{s}") for s in seeds]
        inside = sum(low <= v <= high for v in got)
        inside_all += inside
        row = [name, f"{low:.4g}", f"{high:.4g}", f"{mean:.4g}"]
        row += [f"{v:.4g}" for v in got] + [f"{inside}/{len(got)}"]
        print("| " + " | ".join(row) + " |")
    print(f"\n{inside_all} of {len(metrics) * len(seeds)} {candidate} values within the "
          f"{reference} min-max over seeds {sorted(ref)}.")


if __name__ == "__main__":
    main()
