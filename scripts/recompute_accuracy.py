#!/usr/bin/env python3
"""Recomputes test accuracy from the artifact contract alone (ARCHITECTURE.md).

Reads a model file (safetensors) and the data stage's test.parquet with
numpy + pyarrow + safetensors only, applies the model exactly as documented,
and compares with the train stage's metrics.parquet. This is the check that a
Python user can swap in or out any stage. Like the analyze stage, it first
checks that every tensor is finite and that `context.after` (the contexts
that are evaluated) is `strength.after * modulation.after` within 1e-5 of
each task's largest |s m|, and it allows the same difference (0.2
percentage points or two test images, whichever is more).

    pip install numpy pyarrow safetensors
    python3 scripts/recompute_accuracy.py data/rotation --seed 0
"""
import argparse
import sys

import numpy as np
import pyarrow.parquet as pq
from safetensors.numpy import load_file

# As the model loader (crates/model/src/model.rs, CONTEXT_TOLERANCE).
CONTEXT_TOLERANCE = 1e-5


def images(column):
    col = column.combine_chunks()
    raw = np.frombuffer(col.buffers()[1], np.uint8)
    return raw[col.offset * 784:][: len(col) * 784].reshape(-1, 784)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pipeline_dir", help="data/<pipeline>")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--tolerance", type=float, default=0.002, help="largest allowed difference (fraction; at least two test images)"
    )
    args = parser.parse_args()

    shard = f"{args.pipeline_dir}/train/seed-{args.seed}"
    path = f"{shard}/model.safetensors"
    model = load_file(path)
    for name, tensor in model.items():
        bad = np.argwhere(~np.isfinite(tensor))
        if len(bad):
            print(f"{path}: tensor `{name}` holds {tensor[tuple(bad[0])]} at index {bad[0].tolist()}", file=sys.stderr)
            return 1
    w1, w2, context = model["encoder.weight"], model["decoder.weight"], model["context.after"]
    product = model["strength.after"][:, None] * model["modulation.after"]
    allowed = CONTEXT_TOLERANCE * np.abs(product).max(axis=1, keepdims=True)
    off = np.argwhere(np.abs(context - product) > allowed)
    if len(off):
        t, unit = off[0].tolist()
        print(f"{path}: `context.after` disagrees with strength x modulation at task {t}, unit {unit}", file=sys.stderr)
        return 1
    test = pq.read_table(f"{args.pipeline_dir}/data/test.parquet")
    metrics = pq.read_table(f"{shard}/metrics.parquet").to_pydict()
    tasks = np.asarray(test["task"])
    labels = np.asarray(test["label"])
    x_all = images(test["image"])
    last = max(metrics["epoch"])
    recorded = {
        t: a
        for s, t, e, a in zip(metrics["seed"], metrics["task"], metrics["epoch"], metrics["test_accuracy"])
        if s == args.seed and e == last
    }
    tolerance = max(args.tolerance, 2.0 / max(int((tasks == 0).sum()), 1))
    worst = 0.0
    for t in range(context.shape[0]):
        sel = tasks == t
        x = (x_all[sel].astype(np.float32) / 255.0 - 0.1307) / 0.3081
        m = x @ w1.T
        r = np.maximum(m - m.mean(axis=1, keepdims=True), 0)
        logits = (r * context[t]) @ w2.T
        acc = float((logits.argmax(1) == labels[sel]).mean())
        diff = abs(acc - recorded[t])
        worst = max(worst, diff)
        print(f"task {t:2d}: recomputed {100 * acc:6.2f} %   metrics.parquet {100 * recorded[t]:6.2f} %")
    print(f"largest difference: {100 * worst:.3f} percentage points")
    return 0 if worst <= tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
