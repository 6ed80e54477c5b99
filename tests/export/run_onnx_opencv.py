#!/usr/bin/python3
"""Runs an exported ONNX model with OpenCV's DNN module (python3-opencv), a second runtime
nnlab did not write. Input and outputs are raw little-endian float32 files.

    run_onnx_opencv.py MODEL.onnx INPUT.f32 DIMS OUT_PREFIX

DIMS is the per-sample shape ("1,28,28"). Writes OUT_PREFIX.<output>.f32 for the graph
outputs "logits" and, when present, "probabilities", and prints one JSON line.
"""
import json
import sys

import cv2
import numpy as np
import onnx


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    model_path, input_path, dims_text, out_prefix = sys.argv[1:]
    dims = [int(d) for d in dims_text.split(",")]
    x = np.fromfile(input_path, dtype="<f4").reshape([-1] + dims)
    names = [o.name for o in onnx.load(model_path, load_external_data=False).graph.output]
    net = cv2.dnn.readNetFromONNX(model_path)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setInput(x)
    outputs = net.forward(names)
    shapes = {}
    for name, y in zip(names, outputs):
        y.astype("<f4").tofile(f"{out_prefix}.{name}.f32")
        shapes[name] = list(y.shape)
    print(json.dumps({"runtime": f"opencv-dnn {cv2.__version__}", "outputs": shapes}))


if __name__ == "__main__":
    main()
