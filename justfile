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

# The reproduction so far: all four task families, end to end
[group('pipeline')]
reproduce: (run "rotation") (run "shift-1px") (run "shift-2px") (run "augment")

# The smoke pipeline end to end, then check the report and accuracies
[group('test')]
smoke: (run "smoke")
    {{bin}}/tgsh-report pipelines/smoke.toml --artifacts {{artifacts}} --check-min-accuracy 0.5

# Unit, property and end-to-end tests, then the smoke pipeline
[group('test')]
test:
    cargo test --release --workspace
    just smoke

# Formatting and lints
[group('test')]
lint:
    cargo fmt --all -- --check
    cargo clippy --release --workspace --all-targets -- -D warnings

# Speed and memory benchmarks (data generation, trainer vs dense baseline)
[group('bench')]
bench:
    cargo bench -p tgsh-data
    cargo bench -p tgsh-train

# GPU benchmark: the batched trainer on every family x 5 seeds (CPU trainer's accuracy beside it), then the PyTorch baseline on the same GPU; needs a CUDA toolkit (docs/CUDA.md)
[group('bench')]
bench-gpu: (data "rotation") (data "shift-1px") (data "shift-2px") (data "augment")
    cargo bench -p tgsh-train --features cuda --bench gpu
    python3 scripts/bench_gpu_pytorch.py --artifacts {{artifacts}} --pipelines rotation,shift-1px,shift-2px,augment --seeds 5

# Remove a pipeline's artifacts
[group('pipeline')]
clean pipeline:
    rm -rf {{artifacts}}/{{pipeline}}
