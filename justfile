# The T-GSH / CRWN reproduction pipeline. `just` lists the recipes.
# Each stage skips itself when its inputs, parameters and code are unchanged.

set shell := ["bash", "-euo", "pipefail", "-c"]

bin := "target/release"
artifacts := "data"

# List the recipes
default:
    @just --list

# Build the four stage binaries (release profile, shared with the tests)
[group('build')]
build:
    cargo build --release --workspace --bins

# The Python venv (.venv/) with the pinned Snakemake of workflow/requirements.txt
[group('build')]
venv:
    workflow/venv.sh

# Run every stage of a pipeline, in order (e.g. `just run rotation`)
[group('pipeline')]
run pipeline="rotation": build
    {{bin}}/tgsh-data pipelines/{{pipeline}}.toml --artifacts {{artifacts}}
    {{bin}}/tgsh-train pipelines/{{pipeline}}.toml --artifacts {{artifacts}}
    {{bin}}/tgsh-analyze pipelines/{{pipeline}}.toml --artifacts {{artifacts}}
    {{bin}}/tgsh-report pipelines/{{pipeline}}.toml --artifacts {{artifacts}}

# Stage 1: MNIST -> task family Parquet
[group('stage')]
data pipeline: build
    {{bin}}/tgsh-data pipelines/{{pipeline}}.toml --artifacts {{artifacts}}

# Stage 2: train context vectors -> safetensors + metrics
[group('stage')]
train pipeline: build
    {{bin}}/tgsh-train pipelines/{{pipeline}}.toml --artifacts {{artifacts}}

# Stage 3: similarity analyses -> Parquet
[group('stage')]
analyze pipeline: build
    {{bin}}/tgsh-analyze pipelines/{{pipeline}}.toml --artifacts {{artifacts}}

# Stage 4: figures + HTML report
[group('stage')]
report pipeline: build
    {{bin}}/tgsh-report pipelines/{{pipeline}}.toml --artifacts {{artifacts}}

# The page across pipelines (data/index.html, data/claims.md), checked in headless Chromium
[group('pipeline')]
index *pipelines="rotation shift-1px shift-2px augment heldout-rotation-interp heldout-rotation-extrap heldout-shift-interp heldout-shift-extrap": build
    {{bin}}/tgsh-index --artifacts {{artifacts}} --check-in-browser {{ prepend("pipelines/", append(".toml", pipelines)) }}

# Weight manifolds vs input conditioning and the CRWN on held-out tasks (measured: 33 min on 2 shared cores), then the index page
[group('pipeline')]
manifolds: (run "heldout-rotation-interp") (run "heldout-rotation-extrap") (run "heldout-shift-interp") (run "heldout-shift-extrap") index

# Pick the metric update's step size on a held-out pipeline's training tasks (after `just data <pipeline>`)
[group('pipeline')]
metric-pilot pipeline="heldout-rotation-interp" rates="1,3,10,30,100,300,1000,3000":
    cargo build --release --workspace --examples
    {{bin}}/examples/metric_pilot pipelines/{{pipeline}}.toml {{artifacts}} {{rates}}

# The reproduction: all four task families end to end, then the index page (its path is printed last)
[group('pipeline')]
reproduce: (run "rotation") (run "shift-1px") (run "shift-2px") (run "augment") index

# The smoke pipelines end to end, then check accuracies, the claims tables and the pages in Chromium
[group('test')]
smoke: (run "smoke") (run "heldout-smoke")
    {{bin}}/tgsh-report pipelines/smoke.toml --artifacts {{artifacts}} --check-min-accuracy 0.5
    {{bin}}/tgsh-report pipelines/heldout-smoke.toml --artifacts {{artifacts}} --check-min-accuracy 0.5
    {{bin}}/tgsh-index --artifacts {{artifacts}} --check-in-browser --print-claims pipelines/smoke.toml pipelines/heldout-smoke.toml

# Unit, property and end-to-end tests, then the smoke pipeline, then the Snakemake workflow
[group('test')]
test:
    cargo test --release --workspace
    just smoke
    just test-workflow
    just test-workflow-slurm

# The Snakemake workflow on the smoke pipeline (2 seeds, 2 cores), checked bit for bit against `just smoke`
[group('test')]
test-workflow: smoke venv
    workflow/test.sh {{artifacts}}/smoke

# The same through the SLURM profile and executor plugin, with stand-ins for sbatch/srun/sacct (no cluster needed)
[group('test')]
test-workflow-slurm: smoke venv
    workflow/test-slurm.sh {{artifacts}}/smoke

# Formatting and lints
[group('test')]
lint:
    cargo fmt --all -- --check
    cargo clippy --release --workspace --all-targets -- -D warnings

# Speed and memory benchmarks: data generation, the trainer against numpy's SGEMM on the probe
# (issue 17), trainer vs dense baseline, analysis of one seed. The venv brings the pinned numpy.
# (`--workspace` keeps the normal build's dependency features, so nothing is rebuilt.)
[group('bench')]
bench: venv
    cargo bench --workspace --bench data
    cargo bench --workspace --bench probe
    cargo bench --workspace --bench train
    cargo bench --workspace --bench analyze

# GPU benchmark: the batched trainer on every family x 5 seeds (CPU trainer's accuracy beside it), then the PyTorch baseline on the same GPU; needs a CUDA toolkit (docs/CUDA.md)
[group('bench')]
bench-gpu: (data "rotation") (data "shift-1px") (data "shift-2px") (data "augment")
    cargo bench -p tgsh-train --features cuda --bench gpu
    python3 scripts/bench_gpu_pytorch.py --artifacts {{artifacts}} --pipelines rotation,shift-1px,shift-2px,augment --seeds 5

# Remove a pipeline's artifacts
[group('pipeline')]
clean pipeline:
    rm -rf {{artifacts}}/{{pipeline}}
