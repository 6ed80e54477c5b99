#!/usr/bin/env python3
"""The Python peer of nnlab's speed benchmark (tests/bench/speed).

Trains one job the way a careful PyTorch user would write it: the data preloaded as tensors
and batched by indexing (no per-sample work), autograd off in evaluation, loss and accuracy
read every `log_every_steps` steps, warm-up steps before the clock starts. `--loader
dataloader` instead batches through torch.utils.data.DataLoader, as a typical script does.

It does the same work as nnlab on the same arrays: bench_speed writes the prepared data (after
nnlab's loadData: split, normalized), the model as a layer tree with nnlab's inferred shapes,
and the learning rate of every step (nnlab's schedule) to --dir. The model is built in the
same order as nnlab builds it and seeded the same way, and each epoch's shuffle uses nnlab's
seed, so both sides even start from the same weights and see the same mini-batches.

Prints one line `BENCH_JSON {...}` with the timed seconds and the final metrics.
Run with Debian's /usr/bin/python3 (python3-torch 1.13.1, the build libtorch-dev ships).
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MASK = (1 << 64) - 1


def mix(seed, n):
    """nnlab's per-epoch seed (trainer.cpp): depends only on (seed, epoch)."""
    return (((seed + 1) * 0x9E3779B97F4A7C15) & MASK) ^ ((n * 0xBF58476D1CE4E5B9) & MASK)


def load_split(folder, meta, name):
    info = meta["splits"][name]
    count = info["count"]
    if count == 0:
        return None, None
    x = np.fromfile(os.path.join(folder, name + "_x.f32"), dtype="<f4").reshape([count] + meta["sample_shape"])
    if meta["classification"]:
        y = np.fromfile(os.path.join(folder, name + "_y.i64"), dtype="<i8")
    else:
        y = np.fromfile(os.path.join(folder, name + "_y.f32"), dtype="<f4").reshape(count, -1)
    return torch.from_numpy(x), torch.from_numpy(y)


class Residual(nn.Module):
    def __init__(self, body, shortcut):
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x):
        y = self.body(x)
        return y + x if self.shortcut is None else y + self.shortcut(x)


def build_layer(row):
    t, o, shape_in = row["type"], row["options"], row["in"]
    b = bool(o.get("bias", 1))
    if t == "linear":
        return nn.Linear(shape_in[0], int(o["out_features"]), bias=b)
    if t == "conv2d":
        return nn.Conv2d(shape_in[0], int(o["out_channels"]), int(o["kernel_size"]), stride=int(o["stride"]),
                         padding=int(o["padding"]), dilation=int(o["dilation"]), groups=int(o["groups"]), bias=b)
    if t == "batchnorm1d":
        return nn.BatchNorm1d(shape_in[0], eps=o["eps"], momentum=o["momentum"], affine=bool(o["affine"]))
    if t == "batchnorm2d":
        return nn.BatchNorm2d(shape_in[0], eps=o["eps"], momentum=o["momentum"], affine=bool(o["affine"]))
    if t == "layernorm":
        return nn.LayerNorm(shape_in, eps=o["eps"], elementwise_affine=bool(o["elementwise_affine"]))
    if t == "dropout":
        return nn.Dropout(o["p"])
    if t == "relu":
        return nn.ReLU()
    if t == "leaky_relu":
        return nn.LeakyReLU(o["negative_slope"])
    if t == "gelu":
        return nn.GELU()
    if t == "tanh":
        return nn.Tanh()
    if t == "sigmoid":
        return nn.Sigmoid()
    if t in ("maxpool2d", "avgpool2d"):
        k = int(o["kernel_size"])
        stride = int(o["stride"]) or k
        pool = nn.MaxPool2d if t == "maxpool2d" else nn.AvgPool2d
        return pool(k, stride=stride, padding=int(o["padding"]))
    if t == "adaptive_avgpool2d":
        return nn.AdaptiveAvgPool2d(int(o["output_size"]))
    if t == "flatten":
        return nn.Flatten()
    if t == "residual":
        # nnlab constructs (and so initializes) the projection before the body.
        shortcut = None
        if row.get("shortcut"):
            s_in, s_out = row["shortcut"]["in"], row["shortcut"]["out"]
            if len(s_in) == 1:
                shortcut = nn.Linear(s_in[0], s_out[0])
            else:
                shortcut = nn.Conv2d(s_in[0], s_out[0], 1, stride=(s_in[1] + s_out[1] - 1) // s_out[1])
        return Residual(build_sequence(row["layers"]), shortcut)
    raise SystemExit("peer.py: layer type %r is not supported" % t)


def build_sequence(rows):
    return nn.Sequential(*[build_layer(r) for r in rows])


def make_optimizer(o, params):
    t = o["type"]
    if t == "sgd":
        return torch.optim.SGD(params, lr=o["lr"], momentum=o.get("momentum", 0.0), nesterov=bool(o.get("nesterov", False)),
                               weight_decay=o.get("weight_decay", 0.0))
    if t in ("adam", "adamw"):
        cls = torch.optim.Adam if t == "adam" else torch.optim.AdamW
        return cls(params, lr=o["lr"], betas=(o.get("beta1", 0.9), o.get("beta2", 0.999)), eps=o.get("eps", 1e-8),
                   weight_decay=o.get("weight_decay", 0.0))
    if t == "rmsprop":
        return torch.optim.RMSprop(params, lr=o["lr"], alpha=o.get("alpha", 0.99), eps=o.get("eps", 1e-8),
                                   weight_decay=o.get("weight_decay", 0.0), momentum=o.get("momentum", 0.0))
    raise SystemExit("peer.py: optimizer %r is not supported" % t)


def loss_fn(out, y, classification):
    return F.cross_entropy(out, y) if classification else F.mse_loss(out, y)


@torch.no_grad()
def evaluate(model, x, y, batch, classification):
    if x is None:
        return None, None
    model.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(x), batch):
        out = model(x[start:start + batch])
        t = y[start:start + batch]
        loss_sum += loss_fn(out, t, classification).item() * len(t)
        if classification:
            correct += (out.argmax(1) == t).sum().item()
    model.train()
    return loss_sum / len(x), (correct / len(x) if classification else None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True, help="job folder written by bench_speed")
    ap.add_argument("--threads", type=int, required=True, help="torch.set_num_threads")
    ap.add_argument("--loader", choices=["tensors", "dataloader"], default="tensors")
    ap.add_argument("--warmup-steps", type=int, default=3)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    with open(os.path.join(args.dir, "meta.json")) as f:
        meta = json.load(f)
    spec = meta["experiment"]
    classify = meta["classification"]
    training = spec["training"]
    batch, epochs = training["batch_size"], training["epochs"]
    eval_batch = training.get("eval_batch_size", 0) or batch   # 0: the training batch size, as nnlab
    log_every = training.get("log_every_steps", 10)
    clip_norm, clip_value = training.get("grad_clip_norm", 0.0), training.get("grad_clip_value", 0.0)
    seed = spec.get("seed", 0)
    shuffle = spec["data"].get("shuffle", True)
    x_train, y_train = load_split(args.dir, meta, "train")
    x_val, y_val = load_split(args.dir, meta, "validation")
    x_test, y_test = load_split(args.dir, meta, "test")
    lrs = np.fromfile(os.path.join(args.dir, "lr.f64"), dtype="<f8").tolist()
    n = len(x_train)
    steps_per_epoch = (n + batch - 1) // batch

    torch.manual_seed(seed)
    model = build_sequence(meta["layers"])
    model.train()

    # Warm-up outside the clock (first calls of a shape are slow), then back to the start state.
    start_state = copy.deepcopy(model.state_dict())
    warm = make_optimizer(spec["optimizer"], model.parameters())
    for _ in range(args.warmup_steps):
        warm.zero_grad()
        loss_fn(model(x_train[:batch]), y_train[:batch], classify).backward()
        warm.step()
    model.load_state_dict(start_state)
    del warm
    optimizer = make_optimizer(spec["optimizer"], model.parameters())

    loader = None
    if args.loader == "dataloader":
        generator = torch.Generator()
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_train, y_train), batch_size=batch,
                                             shuffle=shuffle, generator=generator, num_workers=0)

    step = 0
    train_loss = train_acc = None
    loss_sum = torch.zeros((), dtype=torch.float32)
    correct = torch.zeros((), dtype=torch.int64)
    window = 0
    val_loss = val_acc = None
    started, started_cpu = time.perf_counter(), time.process_time()
    for epoch in range(epochs):
        if loader is not None:
            generator.manual_seed(mix(seed, epoch))
            batches = iter(loader)
        else:
            torch.manual_seed(mix(seed, epoch))
            order = torch.randperm(n) if shuffle else torch.arange(n)
        for b in range(steps_per_epoch):
            if loader is not None:
                x, y = next(batches)
            else:
                idx = order[b * batch:(b + 1) * batch]
                x, y = x_train.index_select(0, idx), y_train.index_select(0, idx)
            for group in optimizer.param_groups:
                group["lr"] = lrs[step]
            optimizer.zero_grad()
            out = model(x)
            loss = loss_fn(out, y, classify)
            loss.backward()
            if clip_value > 0:
                nn.utils.clip_grad_value_(model.parameters(), clip_value)
            if clip_norm > 0:
                nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
            optimizer.step()
            step += 1
            loss_sum += loss.detach() * len(x)
            if classify:
                correct += (out.argmax(1) == y).sum()
            window += len(x)
            if step % log_every == 0 or b + 1 == steps_per_epoch:
                train_loss = loss_sum.item() / window
                if classify:
                    train_acc = correct.item() / window
                loss_sum.zero_()
                correct.zero_()
                window = 0
        val_loss, val_acc = evaluate(model, x_val, y_val, eval_batch, classify)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - started_cpu
    test_loss, test_acc = evaluate(model, x_test, y_test, eval_batch, classify)

    result = {
        "side": "python" if loader is None else "python-dataloader",
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "samples": n * epochs,
        "steps": step,
        "train_loss": train_loss, "train_accuracy": train_acc,
        "val_loss": val_loss, "val_accuracy": val_acc,
        "test_loss": test_loss, "test_accuracy": test_acc,
    }
    print("BENCH_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
