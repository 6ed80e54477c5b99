#!/usr/bin/env python3
"""Prints the compression benchmark's table (tests/bench/compress/run.sh) and checks the
issue's targets against it. Ratios are against the parent as measured in the same process
as each result (compare's parent_measurement), else against the parent's own row; PyTorch's
rows against PyTorch's float model."""
import argparse
import json
import statistics


def load_labels(path):
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                rows.append((parts[0], parts[1]))
    return rows


def fmt_latency(l):
    return f"{l['median_ms']:.3f} ({l['p10_ms']:.3f}-{l['p90_ms']:.3f})"


def ratio(a, b):
    return a / b if b else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", required=True)
    ap.add_argument("--compare", required=True)
    ap.add_argument("--peer", required=True)
    args = ap.parse_args()
    labels = load_labels(args.labels)
    by_id = {row["run"]: row for row in json.load(open(args.compare))}
    try:
        peer = json.load(open(args.peer))["models"]
    except (OSError, ValueError, KeyError):
        peer = {}
    parent_id = dict(labels)["parent"]
    parent_row = by_id[parent_id]

    header = (f"{'model':<24} {'bytes':>8} {'smaller':>7} {'test acc':>8} {'d pts':>6} {'b1 ms (p10-p90)':>22} "
              f"{'b1 x':>5} {'b64 ms (p10-p90)':>24} {'b64 x':>5} {'samples/s':>9}")
    print(header)
    print("-" * len(header))
    figures = {}

    def line(label, m, ref):
        acc = m["test_accuracy"]
        d = 100.0 * (acc - ref["test_accuracy"]) if acc is not None and ref["test_accuracy"] is not None else float("nan")
        print(f"{label:<24} {m['file_bytes']:>8} {ratio(ref['file_bytes'], m['file_bytes']):>6.2f}x "
              f"{100 * acc:>7.2f}% {d:>+6.2f} {fmt_latency(m['latency_b1']):>22} "
              f"{ratio(ref['latency_b1']['median_ms'], m['latency_b1']['median_ms']):>4.2f}x "
              f"{fmt_latency(m['latency_b64']):>24} "
              f"{ratio(ref['latency_b64']['median_ms'], m['latency_b64']['median_ms']):>4.2f}x {m['throughput']:>9.0f}")

    for label, run in labels:
        row = by_id.get(run)
        if row is None:
            continue
        ref = row.get("parent_measurement") or parent_row
        figures[label] = (row, ref)
        line(label, row, ref)
    if peer:
        print("PyTorch 1.13 eager mode, same weights, same timing (1 thread, median of the calls):")
        ref = dict(peer["float"])
        for name, m in peer.items():
            m = dict(m)
            m["throughput"] = 64000.0 / m["latency_b64"]["median_ms"]
            ref.setdefault("throughput", 0)
            line("torch " + name, m, ref)

    print()
    print("Targets (issue 10):")

    def check(ok, text):
        print(f"  [{'holds' if ok else 'MISSED'}] {text}")

    if "int8-static" in figures:
        m, ref = figures["int8-static"]
        smaller = ratio(ref["file_bytes"], m["file_bytes"])
        drop = 100.0 * (ref["test_accuracy"] - m["test_accuracy"])
        check(smaller >= 3.5, f"int8 at least 3.5x smaller: {smaller:.2f}x")
        check(drop <= 0.5, f"int8 test accuracy drop at most 0.5 point: {drop:+.2f}")
        if "int8-static-onednn" in peer:
            ours, theirs = m["latency_b64"]["median_ms"], peer["int8-static-onednn"]["latency_b64"]["median_ms"]
            check(ours <= theirs, f"int8 batch-64 latency no worse than PyTorch int8 (onednn): {ours:.3f} ms vs {theirs:.3f} ms")
        ours, flt = m["latency_b1"]["median_ms"], ref["latency_b1"]["median_ms"]
        check(ours <= flt, f"int8 batch-1 latency no worse than float: {ours:.3f} ms vs {flt:.3f} ms")
    if "structured-50+ft1" in figures:
        m, ref = figures["structured-50+ft1"]
        faster = ratio(ref["latency_b64"]["median_ms"], m["latency_b64"]["median_ms"])
        smaller = ratio(ref["file_bytes"], m["file_bytes"])
        check(faster >= 1.8, f"50% structured at least 1.8x faster at batch 64: {faster:.2f}x")
        check(smaller >= 1.8, f"50% structured at least 1.8x smaller: {smaller:.2f}x")
        if "unpruned+ft1" in figures:
            gap = 100.0 * (figures["unpruned+ft1"][0]["test_accuracy"] - m["test_accuracy"])
            check(gap <= 1.5, f"50% structured within 1.5 points of an equally trained model: {gap:+.2f} points below")
    if "unstructured-80" in figures:
        m, ref = figures["unstructured-80"]
        smaller = ratio(ref["file_bytes"], m["file_bytes"])
        check(smaller >= 2.0, f"80% unstructured stored sparsely at least 2x smaller: {smaller:.2f}x")
    alone = [figures[k][0]["test_accuracy"] for k in sorted(figures) if k.startswith("student-alone")]
    distilled = [figures[k][0]["test_accuracy"] for k in sorted(figures) if k.startswith("student-distilled")]
    if alone and distilled:
        sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0
        gains = [100.0 * (d - a) for a, d in zip(alone, distilled)]
        print(f"  distillation over {len(distilled)} seeds (T=4, alpha=0.7): student alone "
              f"{100 * statistics.mean(alone):.2f}% +- {100 * sd(alone):.2f}, distilled {100 * statistics.mean(distilled):.2f}% "
              f"+- {100 * sd(distilled):.2f}; gain per seed {', '.join(f'{g:+.2f}' for g in gains)} points")


if __name__ == "__main__":
    main()
