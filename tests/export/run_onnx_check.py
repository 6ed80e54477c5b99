#!/usr/bin/python3
"""Checks an exported ONNX model with the onnx package's own checker, full_check=True
(strict shape inference included), and prints what a test asserts on as one JSON line:
opset, IR version, the operators in order, inputs and outputs with their shapes, metadata.

    run_onnx_check.py MODEL.onnx
"""
import json
import sys

import onnx


def shape(value):
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    model = onnx.load(sys.argv[1])
    onnx.checker.check_model(model, full_check=True)
    print(json.dumps({
        "onnx": onnx.__version__,
        "ir_version": model.ir_version,
        "opset": {o.domain or "ai.onnx": o.version for o in model.opset_import},
        "ops": [n.op_type for n in model.graph.node],
        "first_inputs": list(model.graph.node[0].input) if model.graph.node else [],
        "inputs": {i.name: shape(i) for i in model.graph.input},
        "outputs": {o.name: shape(o) for o in model.graph.output},
        "metadata": {p.key: p.value for p in model.metadata_props},
    }))


if __name__ == "__main__":
    main()
