#!/usr/bin/env python3
"""Turns a TorchScript file written by `nddr export` into ONNX and validates it.

    /usr/bin/python3 scripts/export_onnx.py net.pt net.onnx [--height H --width W] [--opset N]

Needs Debian's python3-torch (torch 1.13) and python3-onnx. The ONNX graph's
input is "images" [batch, C, height, width] with all of batch, height and
width dynamic; its outputs are named after the tasks, in task order. The
TorchScript metadata (nddr.json) is copied into the model's metadata_props.
The file is written only once onnx.checker.check_model has passed it.
Exit codes: 0 done, 1 export or check failed, 3 torch or onnx missing.
"""
import argparse
import json
import os
import sys
import tempfile


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("torchscript", help="input: a file from `nddr export`")
    parser.add_argument("onnx", help="output ONNX file")
    parser.add_argument("--height", type=int, default=64, help="example input height")
    parser.add_argument("--width", type=int, default=64, help="example input width")
    # From opset 14 on, Relu takes every dtype; before it torch 1.13's exporter
    # casts, which needs value types a loaded TorchScript graph lacks.
    parser.add_argument("--opset", type=int, default=14, help="ONNX opset version (>= 14)")
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        import onnx
        import torch
    except ImportError as error:
        print(
            f"export_onnx.py: {sys.executable} cannot import {error.name}: install Debian's "
            "python3-torch and python3-onnx (scripts/bootstrap.sh does)",
            file=sys.stderr,
        )
        return 3

    extra = {"nddr.json": ""}
    try:
        module = torch.jit.load(args.torchscript, map_location="cpu", _extra_files=extra)
        metadata = json.loads(extra["nddr.json"])
    except (RuntimeError, ValueError) as error:
        print(f"export_onnx.py: {args.torchscript} is not an nddr TorchScript export: {error}",
              file=sys.stderr)
        return 1
    outputs = metadata["outputs"]
    names = [output["name"] for output in outputs]
    dynamic_axes = {"images": {0: "batch", 2: "height", 3: "width"}}
    for output in outputs:
        dense = output["kind"] != "classification"
        axes = {0: "batch", 2: "out_height", 3: "out_width"} if dense else {0: "batch"}
        dynamic_axes[output["name"]] = axes
    example = torch.randn(1, metadata["input"]["channels"], args.height, args.width)

    directory = os.path.dirname(os.path.abspath(args.onnx))
    handle, temporary = tempfile.mkstemp(suffix=".onnx.tmp", dir=directory)
    os.close(handle)
    try:
        with torch.no_grad():
            torch.onnx.export(module, (example,), temporary, input_names=["images"],
                              output_names=names, dynamic_axes=dynamic_axes,
                              opset_version=args.opset)
        model = onnx.load(temporary)
        entry = model.metadata_props.add()
        entry.key, entry.value = "nddr.json", extra["nddr.json"]
        onnx.checker.check_model(model)
        onnx.save(model, temporary)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's 0600 is not what a user expects
        os.replace(temporary, args.onnx)
    except Exception as error:  # the message names the step; nothing is left behind
        print(f"export_onnx.py: {args.torchscript} -> {args.onnx}: {error}", file=sys.stderr)
        return 1
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    print(f"export_onnx.py: wrote {args.onnx} (checker passed; outputs {', '.join(names)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
