#!/usr/bin/env python3
"""Runs a module written by `nnlab export --format pytorch`, for test_pytorch_export.cpp.

usage: run_pytorch_export.py MODULE.py WEIGHTS INPUTS OUTPUT

Parses the module, imports it, loads it with its weights (strictly), checks that the module's
own safetensors reader gives the tensors load() used and refuses a truncated file, runs the
raw inputs in INPUTS (float32, N x INPUT_SHAPE) and writes the logits to OUTPUT (float32,
row-major). Exit status 3 when torch cannot be imported, so the caller can name the package.
"""
import ast
import importlib.util
import os
import struct
import sys
import tempfile


def main(argv):
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    module_path, weights_path, inputs_path, output_path = argv[1:]
    with open(module_path, encoding="utf-8") as f:
        ast.parse(f.read(), module_path)   # plain Python, before anything runs
    try:
        import torch
    except ImportError as e:
        print(f"{sys.executable} cannot import torch ({e}): install python3-torch", file=sys.stderr)
        return 3

    spec = importlib.util.spec_from_file_location("exported_model", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.load(weights_path)
    assert not model.training, "load() must return the model in evaluation mode"

    state = model.state_dict()
    own = module.read_safetensors_f32(weights_path)
    assert set(own) == set(state), f"tensor names differ: {sorted(set(own) ^ set(state))}"
    for name, tensor in own.items():
        assert torch.equal(tensor.to(state[name].dtype), state[name]), f"{name} differs from what load() used"
    assert all(t.dtype == torch.int64 for n, t in state.items() if n.endswith("num_batches_tracked"))

    beside = module.load()   # WEIGHTS_FILE, found beside the module
    assert all(torch.equal(t, beside.state_dict()[n]) for n, t in state.items()), "load() found other weights"
    assert module.main([module_path]) == 0   # `python3 MODULE.py`: prints the model

    with open(weights_path, "rb") as f:
        data = f.read()
    with tempfile.TemporaryDirectory() as folder:
        cut = os.path.join(folder, "cut.safetensors")
        with open(cut, "wb") as f:
            f.write(data[:len(data) - 16])
        try:
            module.read_safetensors_f32(cut)
            raise AssertionError("a truncated weights file was accepted")
        except ValueError as e:
            print(f"truncated file refused: {e}")

    with open(inputs_path, "rb") as f:
        raw = bytearray(f.read())
    x = torch.frombuffer(raw, dtype=torch.float32).reshape(-1, *module.INPUT_SHAPE)
    with torch.no_grad():
        logits = model(x)
    answer = module.predict(x, model)
    if module.CLASS_NAMES:
        assert logits.shape[1] == len(module.CLASS_NAMES)
        assert torch.allclose(answer, torch.softmax(logits, dim=1)), "predict() is not the softmax of the logits"
    values = logits.reshape(-1).tolist()
    with open(output_path, "wb") as f:
        f.write(struct.pack(f"<{len(values)}f", *values))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
