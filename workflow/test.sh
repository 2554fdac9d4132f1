#!/usr/bin/env bash
# The workflow test (`just test-workflow`, part of `./x test` and CI): runs
# the Snakemake workflow cold on the smoke pipelines (a task family and a
# held-out experiment, 2 seeds each, one job per stage and seed, 2 cores)
# into its own artifact root, then checks that its artifacts equal the
# justfile's bit for bit (workflow/compare_artifacts.py says exactly what is
# compared).
#     workflow/test.sh target/test-artifacts smoke heldout-smoke   # the root `just smoke` wrote, and its pipelines
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: workflow/test.sh EXPECTED_ROOT PIPELINE..., the artifact root of the justfile's run and its pipelines"
expected_root="${1:?$usage}"
shift
[ $# -gt 0 ] || { echo "$usage" >&2; exit 1; }
pipelines=("$@")
list=$(IFS=,; echo "${pipelines[*]}")
root=target/workflow-test
snakemake=.venv/bin/snakemake

if [ ! -x "$snakemake" ]; then
    echo "workflow/test.sh: $snakemake is missing: run workflow/venv.sh (or ./x test-workflow, which does)" >&2
    exit 1
fi
for p in "${pipelines[@]}"; do
    if [ ! -f "$expected_root/$p/report/index.html" ]; then
        echo "workflow/test.sh: $expected_root/$p/report/index.html is missing: run \`just smoke\` first (or ./x test-workflow, which does)" >&2
        exit 1
    fi
done

# Cold: every job runs, none is skipped as up to date.
rm -rf "$root"
start=$(date +%s%N)
if ! "$snakemake" --cores 2 --config pipelines="$list" artifacts="$root" bin=target/release \
    --quiet rules --show-failed-logs; then
    echo "workflow/test.sh: the workflow failed (logs: $root/<pipeline>/logs/, .snakemake/log/)" >&2
    exit 1
fi
now=$(date +%s%N)
tenths=$(( (now - start) / 100000000 ))
echo "workflow/test.sh: snakemake --cores 2 on $list in $((tenths / 10)).$((tenths % 10)) s"

# A second run must find nothing to do.
if ! "$snakemake" --cores 2 --config pipelines="$list" artifacts="$root" bin=target/release --dry-run --quiet 2>&1 \
    | grep -q "Nothing to be done"; then
    echo "workflow/test.sh: a second snakemake run over $root would run jobs again: check the rerun triggers in workflow/Snakefile" >&2
    "$snakemake" --cores 2 --config pipelines="$list" artifacts="$root" bin=target/release --dry-run >&2 || true
    exit 1
fi

# Every job of every stage's plan ran: its record exists.
.venv/bin/python workflow/check_plans.py --root "$root" --bin target/release "${pipelines[@]}"
for p in "${pipelines[@]}"; do
    .venv/bin/python workflow/compare_artifacts.py "$expected_root/$p" "$root/$p"
done
