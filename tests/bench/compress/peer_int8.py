#!/usr/bin/env python3
"""The PyTorch side of the compression benchmark (tests/bench/compress/run.sh).

Rebuilds the default run's network (resources/experiments/fashion-cnn.json: conv16, ReLU,
max-pool, a residual conv16+BatchNorm+ReLU block, max-pool, linear) in PyTorch from the
weights `nnlab-cli export --format safetensors` wrote, normalizes Fashion-MNIST with the
interface in that file's metadata, and quantizes it the way torch.ao's eager mode documents:
  - static int8: QuantStub/DeQuantStub, conv+ReLU and conv+BN+ReLU fused, the residual add
    through FloatFunctional, default qconfig of the engine, calibrated on the first
    --calibrate training images; engines onednn and qnnpack;
  - dynamic int8 of the linear layer (quantize_dynamic).
Each model is timed as nnlab times its models (measure.cpp): one thread, 5 warm-up calls,
then --calls timed calls at batch 1 and 64 on real test images; median and 10th/90th
percentile (nearest rank). Sizes are those of torch.save(state_dict). Prints one line
`PEER_JSON {...}`.
Run with Debian's /usr/bin/python3 (python3-torch 1.13.1).
"""
import argparse
import gzip
import io
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from torch.ao.quantization import DeQuantStub, QuantStub


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} is {info['dtype']}, expected F32 (a float export)")
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data[base + begin:base + end], dtype="<f4").reshape(info["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return tensors, meta


def read_idx(folder, stem):
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
            dims = raw[3]
            shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
            return np.frombuffer(raw[4 + 4 * dims:], dtype=np.uint8).reshape(shape)
    raise SystemExit(f"{folder}: no {stem}")


class Net(nn.Module):
    """fashion-cnn.json as nnlab builds it, with the stubs eager-mode quantization needs."""

    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.conv0 = nn.Conv2d(1, 16, 3, padding=1)
        self.relu0 = nn.ReLU()
        self.pool0 = nn.MaxPool2d(2)
        self.conv3 = nn.Conv2d(16, 16, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(16)
        self.relu3 = nn.ReLU()
        self.add = torch.ao.nn.quantized.FloatFunctional()
        self.pool4 = nn.MaxPool2d(2)
        self.fc6 = nn.Linear(16 * 7 * 7, 10)
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.pool0(self.relu0(self.conv0(x)))
        x = self.add.add(self.relu3(self.bn3(self.conv3(x))), x)
        x = torch.flatten(self.pool4(x), 1)
        return self.dequant(self.fc6(x))


NAMES = {"conv0": "0", "conv3": "3.body.0", "bn3": "3.body.1", "fc6": "6"}


def load_net(tensors):
    net = Net()
    state = {}
    for ours, theirs in NAMES.items():
        for key in ("weight", "bias", "running_mean", "running_var"):
            if f"{theirs}.{key}" in tensors:
                state[f"{ours}.{key}"] = tensors[f"{theirs}.{key}"]
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"the weights are not fashion-cnn's: missing {missing}, unexpected {unexpected}")
    return net.eval()


def accuracy(model, x, y):
    with torch.inference_mode():
        correct = 0
        for i in range(0, len(x), 256):
            correct += (model(x[i:i + 256]).argmax(1) == y[i:i + 256]).sum().item()
    return correct / len(x)


def latency(model, x, calls):
    with torch.inference_mode():
        for _ in range(5):
            model(x)
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    n = len(times)
    rank = lambda q: times[min(n - 1, max(0, math.ceil(q * n) - 1))]
    median = times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
    return {"median_ms": median, "p10_ms": rank(0.1), "p90_ms": rank(0.9), "calls": n}


def saved_bytes(model):
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return len(buffer.getvalue())


def static_int8(float_net, engine, calibration):
    import copy
    torch.backends.quantized.engine = engine
    net = copy.deepcopy(float_net).eval()
    net = torch.ao.quantization.fuse_modules(net, [["conv0", "relu0"], ["conv3", "bn3", "relu3"]])
    net.qconfig = torch.ao.quantization.get_default_qconfig(engine)
    torch.ao.quantization.prepare(net, inplace=True)
    with torch.inference_mode():
        for i in range(0, len(calibration), 256):
            net(calibration[i:i + 256])
    return torch.ao.quantization.convert(net)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", required=True, help="the parent exported as float safetensors")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--calibrate", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(1)

    tensors, meta = read_safetensors(args.weights)
    interface = json.loads(meta["interface"])
    shift = torch.tensor(interface["inputShift"]).reshape(1, -1, 1, 1)
    scale = torch.tensor(interface["inputScale"]).reshape(1, -1, 1, 1)
    norm = lambda images: (torch.from_numpy(images.astype(np.float32)).unsqueeze(1) - shift) / scale
    test_x = norm(read_idx(args.data, "t10k-images-idx3-ubyte"))
    test_y = torch.from_numpy(read_idx(args.data, "t10k-labels-idx1-ubyte").astype(np.int64))
    calibration = norm(read_idx(args.data, "train-images-idx3-ubyte")[:args.calibrate])
    b1, b64 = test_x[:1].contiguous(), test_x[:64].contiguous()

    float_net = load_net(tensors)
    results = {}

    def measure(name, model):
        results[name] = {"test_accuracy": accuracy(model, test_x, test_y), "file_bytes": saved_bytes(model),
                         "latency_b1": latency(model, b1, args.calls), "latency_b64": latency(model, b64, args.calls)}

    measure("float", float_net)
    engines = torch.backends.quantized.supported_engines
    for engine in ("onednn", "qnnpack"):
        if engine in engines:
            measure(f"int8-static-{engine}", static_int8(float_net, engine, calibration))
    torch.backends.quantized.engine = "onednn" if "onednn" in engines else engines[-1]
    measure("int8-dynamic", torch.ao.quantization.quantize_dynamic(float_net, {nn.Linear}, dtype=torch.qint8))
    print("PEER_JSON " + json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "models": results}))


if __name__ == "__main__":
    sys.exit(main())
