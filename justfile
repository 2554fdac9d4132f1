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

# Weight manifolds vs input conditioning and the CRWN on held-out tasks: rotations and shifts, interpolation and extrapolation
[group('pipeline')]
manifolds: (run "heldout-rotation-interp") (run "heldout-rotation-extrap") (run "heldout-shift-interp") (run "heldout-shift-extrap")

# Pick the metric update's step size on a held-out pipeline's training tasks (after `just data <pipeline>`)
[group('pipeline')]
metric-pilot pipeline="heldout-rotation-interp" rates="1,3,10,30,100,300,1000,3000":
    cargo build --release --workspace --examples
    {{bin}}/examples/metric_pilot pipelines/{{pipeline}}.toml {{artifacts}} {{rates}}

# The smoke pipelines end to end, then check the reports and accuracies
[group('test')]
smoke: (run "smoke") (run "heldout-smoke")
    {{bin}}/tgsh-report pipelines/smoke.toml --artifacts {{artifacts}} --check-min-accuracy 0.5
    {{bin}}/tgsh-report pipelines/heldout-smoke.toml --artifacts {{artifacts}} --check-min-accuracy 0.5

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

# Remove a pipeline's artifacts
[group('pipeline')]
clean pipeline:
    rm -rf {{artifacts}}/{{pipeline}}
