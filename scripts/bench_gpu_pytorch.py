#!/usr/bin/env python3
"""The GPU baseline: the CRWN trained the way a good PyTorch user would write it.

Same model and protocol as `tgsh-train` (docs/METHOD.md, "The model" and "Training"):

- fly-hash encoder W1 (H x 784, 0/1, `k` random pixels per hidden unit),
  r = relu(W1 x - mean_j (W1 x)_j) with x normalised by MNIST's mean and std;
- fixed decoder W2 (10 x H), U(-1/sqrt(H), 1/sqrt(H));
- per task a modulation m ~ N(0, 2/(H+1)) and a strength s ~ N(0, 1), the
  context c = s m, logits = W2 (c * r);
- RMSprop (lr 1e-2, alpha 0.99, eps 1e-8), batch 128, 3 epochs, shuffled
  each epoch; test accuracy after each epoch.

Written for speed on one GPU, as a careful user would: every tensor on the
device (images as uint8, labels, batch order drawn with torch on the
device), all tasks and seeds of a family batched into one problem (one
RMSprop over the stacked m and s is the same as a fresh one per task, since
its state is per element, and the summed loss gives each task the gradient
of its own mean loss), the encoder as one batched half-precision product on
integer pixels (exact: every sum is an integer below 2,048; the
normalisation offset cancels in m - mean(m)), autograd for the gradients,
and no synchronisation inside an epoch: loss and accuracy are summed on the
device and read once per epoch. `--compile` adds torch.compile.

Reads the data stage's files (data/<pipeline>/data/{train,test}.parquet), so
the images are the ones `tgsh-train` sees. The random draws are torch's, not
the Rust trainer's: per-task accuracies agree in distribution, not bit for bit.

    python3 scripts/bench_gpu_pytorch.py --artifacts data \\
        --pipelines rotation,shift-1px,shift-2px,augment --seeds 5

Needs torch, numpy and pyarrow. Prints samples per second and wall time per
pipeline and for all of them together, in the same form as `just bench-gpu`.
"""

import argparse
import math
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
PIXELS, CLASSES = 784, 10


def read_split(path, limit=None):
    """uint8 images [T, n, 784] and int64 labels [T, n], tasks in order."""
    table = pq.read_table(path, columns=["task", "label", "image"])
    col = table["image"].combine_chunks()
    images = np.frombuffer(col.buffers()[1], np.uint8)[col.offset * PIXELS :][: len(col) * PIXELS]
    images = images.reshape(-1, PIXELS)
    tasks = table["task"].to_numpy()
    labels = table["label"].to_numpy().astype(np.int64)
    order = np.argsort(tasks, kind="stable")  # rows are by task already; do not rely on it
    count = int(tasks.max()) + 1
    n = len(tasks) // count
    if n * count != len(tasks) or np.any(np.bincount(tasks, minlength=count) != n):
        raise SystemExit(f"{path}: tasks have different numbers of images")
    images = images[order].reshape(count, n, PIXELS)
    labels = labels[order].reshape(count, n)
    if limit is not None:
        images, labels = images[:, :limit], labels[:, :limit]
    return images, labels


class Sweep:
    """Every (seed, task) pair of one family, as stacked tensors on the device."""

    def __init__(self, seeds, tasks, hidden, k, device, dtype, generator):
        self.seeds, self.tasks, self.hidden = seeds, tasks, hidden
        # W1: each unit reads k distinct pixels. Stored transposed, [S, 784, H],
        # in the encoder's dtype (0/1 is exact in any float type).
        picks = torch.rand(seeds, hidden, PIXELS, device=device, generator=generator).argsort(-1)[..., :k]
        w1 = torch.zeros(seeds, hidden, PIXELS, device=device, dtype=dtype)
        w1.scatter_(-1, picks, 1.0)
        self.w1t = w1.transpose(1, 2).contiguous()
        bound = 1.0 / math.sqrt(hidden)
        self.w2 = (torch.rand(seeds, CLASSES, hidden, device=device, generator=generator) * 2 - 1) * bound
        std_m = math.sqrt(2.0 / (hidden + 1))
        self.m = torch.nn.Parameter(
            torch.randn(seeds, tasks, hidden, device=device, generator=generator) * std_m
        )
        self.s = torch.nn.Parameter(torch.randn(seeds, tasks, device=device, generator=generator))
        self.dtype = dtype

    def encode(self, pixels):
        """uint8 [S, T, b, 784] -> r(x) [S, T, b, H] float32."""
        s, t, b, _ = pixels.shape
        x = pixels.reshape(s, t * b, PIXELS).to(self.dtype)
        sums = torch.bmm(x, self.w1t).float()  # integer pixel sums, exact
        r = (sums - sums.mean(-1, keepdim=True)).relu_() * (1.0 / (255.0 * MNIST_STD))
        return r.reshape(s, t, b, self.hidden)

    def logits(self, r):
        """[S, T, b, H] -> [S, T, b, 10] under each pair's context."""
        context = self.m * self.s.unsqueeze(-1)  # [S, T, H]
        modulated = context.unsqueeze(2) * self.w2.unsqueeze(1)  # c * W2: [S, T, 10, H]
        return torch.matmul(r, modulated.transpose(-1, -2))


def gather(images, labels, index):
    """Rows `index` [S, T, b] of each task: pixels [S, T, b, 784] and labels [S, T, b]."""
    t = torch.arange(images.shape[0], device=images.device).view(1, -1, 1)
    return images[t, index], labels[t, index]


def train_family(name, args, device):
    data = Path(args.artifacts) / name / "data"
    train_x, train_y = read_split(data / "train.parquet", args.train_images)
    test_x, test_y = read_split(data / "test.parquet", args.test_images)
    start = time.perf_counter()
    train_x, train_y = torch.from_numpy(train_x).to(device), torch.from_numpy(train_y).to(device)
    test_x, test_y = torch.from_numpy(test_x).to(device), torch.from_numpy(test_y).to(device)
    tasks, n = train_y.shape
    n_test = test_y.shape[1]
    seeds = args.seeds
    generator = torch.Generator(device=device).manual_seed(args.seed)
    dtype = torch.float16 if args.k * 255 <= 2048 else torch.float32
    sweep = Sweep(seeds, tasks, args.hidden, args.k, device, dtype, generator)
    optimiser = torch.optim.RMSprop([sweep.m, sweep.s], lr=args.lr, alpha=0.99, eps=1e-8)

    def step(pixels, labels):
        logits = sweep.logits(sweep.encode(pixels))
        # Each pair's mean loss; their sum gives each pair its own gradient.
        loss = F.cross_entropy(logits.reshape(-1, CLASSES), labels.reshape(-1), reduction="none")
        loss = loss.view(labels.shape).mean(-1)  # [S, T]
        loss.sum().backward()
        optimiser.step()
        optimiser.zero_grad(set_to_none=True)
        correct = (logits.detach().argmax(-1) == labels).sum(-1)
        return loss.detach(), correct

    @torch.no_grad()
    def test_correct(pixels, labels):
        return (sweep.logits(sweep.encode(pixels)).argmax(-1) == labels).sum(-1)

    if args.compile:
        step = torch.compile(step)
        test_correct = torch.compile(test_correct)
    batch = args.batch
    steps = math.ceil(n / batch)
    for epoch in range(1, args.epochs + 1):
        # Each pair's own permutation, drawn on the device.
        order = torch.rand(seeds, tasks, n, device=device, generator=generator).argsort(-1)
        loss_sum = torch.zeros(seeds, tasks, device=device)
        correct = torch.zeros(seeds, tasks, device=device, dtype=torch.int64)
        for i in range(steps):
            pixels, labels = gather(train_x, train_y, order[..., i * batch : (i + 1) * batch])
            loss, right = step(pixels, labels)
            loss_sum += loss
            correct += right
        test_right = torch.zeros(seeds, tasks, device=device, dtype=torch.int64)
        for first in range(0, n_test, batch):
            index = torch.arange(first, min(first + batch, n_test), device=device).expand(seeds, tasks, -1)
            test_right += test_correct(*gather(test_x, test_y, index))
        # The epoch's one read-back.
        loss_mean = (loss_sum / steps).cpu()
        accuracy = (test_right.double() / n_test).cpu()
        if not torch.isfinite(loss_mean).all():
            raise SystemExit(f"{name}: loss diverged in epoch {epoch}")
        if args.verbose:
            print(f"  {name} epoch {epoch}: mean loss {loss_mean.mean():.4f}, "
                  f"mean test accuracy {100 * accuracy.mean():.2f} %, train accuracy "
                  f"{100 * (correct.double() / n).mean():.2f} %", flush=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    samples = seeds * tasks * args.epochs * n
    per_seed = " / ".join(f"{100 * a:.2f}" for a in accuracy.mean(1).tolist())
    print(f"{name:>10}: {tasks} tasks x {seeds} seeds x {args.epochs} epochs in {seconds:6.2f} s "
          f"({samples / seconds:10.0f} samples/s, test evaluation and uploads included); "
          f"mean test accuracy per seed {per_seed} %", flush=True)
    return seconds, samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", default="data", help="the artifact root holding <pipeline>/data/")
    parser.add_argument("--pipelines", default="rotation,shift-1px,shift-2px,augment")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=7840)
    parser.add_argument("--k", type=int, default=7, help="pixels per hidden unit")
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0, help="torch's generator seed")
    parser.add_argument("--train-images", type=int, help="first N training images per task (smoke runs)")
    parser.add_argument("--test-images", type=int, help="first N test images per task (smoke runs)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--compile", action="store_true", help="torch.compile the step")
    parser.add_argument("--verbose", action="store_true", help="print every epoch")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        print(f"device: {torch.cuda.get_device_name(device)}; torch {torch.__version__}", flush=True)
        # Warm up cuBLAS and the caching allocator outside the timed runs.
        a = torch.ones(256, 256, device=device, dtype=torch.float16)
        (a @ a).sum().item()
    total_seconds = total_samples = 0.0
    for name in args.pipelines.split(","):
        seconds, samples = train_family(name, args, device)
        total_seconds += seconds
        total_samples += samples
    print(f"all pipelines above, {args.seeds} seeds each: {total_seconds:.2f} s of training, "
          f"{total_samples / total_seconds:.0f} samples/s", flush=True)


if __name__ == "__main__":
    main()
