#!/usr/bin/python3
"""PyTorch 1.13 eager-mode static int8 of the default fashion-cnn, for comparison with nnlab.

Reads what test_quantize_bench wrote to DIR (float.safetensors with nnlab's state-dict names,
test_x.f32 / test_y.i64 normalized as nnlab does, train_x.f32 calibration samples), builds the
same network in torch.nn, fuses conv+relu / conv+bn+relu, quantizes with torch.ao (onednn qconfig,
or qnnpack), calibrates on 1000 training samples and measures test accuracy, file size (torch.save
of the state dict and safetensors-like raw bytes) and latency at batch 1 and 64 with one thread:
median of CALLS calls after 10 warm-up calls, timed the same way as nnlab's bench.
Usage: /usr/bin/python3 test_quantize_peer.py DIR [engine] [calls]
"""
import io
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.ao.quantization as tq


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        assert info["dtype"] == "F32"
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").copy()).reshape(info["shape"])
    return out


class Body(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(16, 16, 3, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.conv = nn.Conv2d(1, 16, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.body = Body()
        self.add = nn.quantized.FloatFunctional()
        self.pool2 = nn.MaxPool2d(2)
        self.fc = nn.Linear(784, 10)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.pool1(self.relu(self.conv(x)))
        x = self.add.add(self.body(x), x)
        x = self.pool2(x)
        x = self.fc(torch.flatten(x, 1))
        return self.dequant(x)


def load(net, w):
    names = {"conv.weight": "0.weight", "conv.bias": "0.bias",
             "body.conv.weight": "3.body.0.weight", "body.conv.bias": "3.body.0.bias",
             "body.bn.weight": "3.body.1.weight", "body.bn.bias": "3.body.1.bias",
             "body.bn.running_mean": "3.body.1.running_mean", "body.bn.running_var": "3.body.1.running_var",
             "fc.weight": "6.weight", "fc.bias": "6.bias"}
    sd = net.state_dict()
    for k, v in names.items():
        sd[k] = w[v]
    net.load_state_dict(sd)


def median_ms(f, x, calls):
    with torch.inference_mode():
        for _ in range(10):
            f(x)
        ms = []
        for _ in range(calls):
            t0 = time.perf_counter()
            f(x)
            ms.append((time.perf_counter() - t0) * 1000)
    return sorted(ms)[len(ms) // 2]


def main():
    d = sys.argv[1]
    engine = sys.argv[2] if len(sys.argv) > 2 else "onednn"
    calls = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    torch.set_num_threads(1)
    w = read_safetensors(os.path.join(d, "float.safetensors"))
    xt = torch.from_numpy(np.fromfile(os.path.join(d, "test_x.f32"), dtype="<f4")).reshape(-1, 1, 28, 28)
    yt = torch.from_numpy(np.fromfile(os.path.join(d, "test_y.i64"), dtype="<i8"))
    xc = torch.from_numpy(np.fromfile(os.path.join(d, "train_x.f32"), dtype="<f4")).reshape(-1, 1, 28, 28)

    net = Net()
    load(net, w)
    net.eval()

    def acc(m):
        with torch.inference_mode():
            return 100.0 * sum(int((m(xt[i:i + 256]).argmax(1) == yt[i:i + 256]).sum()) for i in range(0, len(xt), 256)) / len(xt)

    def size(m):
        buf = io.BytesIO()
        torch.save(m.state_dict(), buf)
        return buf.tell()

    b1, b64 = xt[:1].contiguous(), xt[:64].contiguous()
    rows = [("float (torch eager)", acc(net), size(net), median_ms(net, b1, calls), median_ms(net, b64, calls))]

    torch.backends.quantized.engine = engine
    q = Net()
    load(q, w)
    q.eval()
    q = tq.fuse_modules(q, [["conv", "relu"], ["body.conv", "body.bn", "body.relu"]])
    q.qconfig = tq.get_default_qconfig(engine)
    tq.prepare(q, inplace=True)
    with torch.inference_mode():
        for i in range(0, len(xc), 256):
            q(xc[i:i + 256])
    tq.convert(q, inplace=True)
    rows.append((f"int8 eager ({engine})", acc(q), size(q), median_ms(q, b1, calls), median_ms(q, b64, calls)))
    print(f"torch {torch.__version__}, engines {torch.backends.quantized.supported_engines}, 1 thread, median of {calls}")
    print(f"{'model':28s} {'test acc':>9s} {'torch.save B':>13s} {'b1 ms':>9s} {'b64 ms':>9s}")
    for name, a, s, t1, t64 in rows:
        print(f"{name:28s} {a:8.2f}% {s:13d} {t1:9.4f} {t64:9.4f}")
    print("qconfig:", q.qconfig if hasattr(q, "qconfig") else tq.get_default_qconfig(engine))


if __name__ == "__main__":
    main()
