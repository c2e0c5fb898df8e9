"""Runs each ONNX file in a directory on its saved inputs with ONNX Runtime:
for <stem>.onnx and each <stem>.input<k>.npy it writes
<stem>.onnx<k>.<output name>.npy (output names are the task names)."""
import pathlib
import sys

import numpy as np
import onnxruntime

directory = pathlib.Path(sys.argv[1])
for model_path in sorted(directory.glob("*.onnx")):
    session = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    input_name = session.get_inputs()[0].name
    prefix = model_path.stem + ".input"
    for input_path in sorted(directory.glob(prefix + "*.npy")):
        k = input_path.name[len(prefix) : -len(".npy")]
        outputs = session.run(names, {input_name: np.load(input_path)})
        for name, output in zip(names, outputs):
            np.save(directory / f"{model_path.stem}.onnx{k}.{name}.npy", output)
