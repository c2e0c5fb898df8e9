"""Runs each exported TorchScript file in a directory on its saved inputs,
using torch.jit.load only (no nddr code): for <stem>.pt and each
<stem>.input<k>.npy it writes <stem>.python<k>.<output name>.npy."""
import json
import pathlib
import sys

import numpy as np
import torch

directory = pathlib.Path(sys.argv[1])
for model_path in sorted(directory.glob("*.pt")):
    extra = {"nddr.json": ""}
    model = torch.jit.load(str(model_path), _extra_files=extra)
    names = [output["name"] for output in json.loads(extra["nddr.json"])["outputs"]]
    prefix = model_path.stem + ".input"
    for input_path in sorted(directory.glob(prefix + "*.npy")):
        k = input_path.name[len(prefix) : -len(".npy")]
        with torch.no_grad():
            outputs = model(torch.from_numpy(np.load(input_path)))
        for name, output in zip(names, outputs):
            np.save(directory / f"{model_path.stem}.python{k}.{name}.npy", output.numpy())
