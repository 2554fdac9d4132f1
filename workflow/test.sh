#!/usr/bin/env bash
# The workflow test (`just test-workflow`, part of `./x test` and CI): runs
# the Snakemake workflow cold on the smoke pipeline (2 seeds, one job per
# stage and seed, 2 cores) into its own artifact root, then checks that its
# artifacts equal the justfile's bit for bit (workflow/compare_artifacts.py
# says exactly what is compared).
#     workflow/test.sh target/test-artifacts/smoke      # the tree `just smoke` wrote
set -euo pipefail
cd "$(dirname "$0")/.."

expected="${1:?usage: workflow/test.sh EXPECTED, the smoke artifacts of the justfile, e.g. target/test-artifacts/smoke}"
root=target/workflow-test
snakemake=.venv/bin/snakemake

if [ ! -x "$snakemake" ]; then
    echo "workflow/test.sh: $snakemake is missing: run workflow/venv.sh (or ./x test-workflow, which does)" >&2
    exit 1
fi
if [ ! -f "$expected/report/index.html" ]; then
    echo "workflow/test.sh: $expected/report/index.html is missing: run \`just smoke\` first (or ./x test-workflow, which does)" >&2
    exit 1
fi

# Cold: every job runs, none is skipped as up to date.
rm -rf "$root"
start=$(date +%s%N)
if ! "$snakemake" --cores 2 --config pipelines=smoke artifacts="$root" bin=target/release \
    --quiet rules --show-failed-logs; then
    echo "workflow/test.sh: the workflow failed (logs: $root/smoke/logs/, .snakemake/log/)" >&2
    exit 1
fi
now=$(date +%s%N)
tenths=$(( (now - start) / 100000000 ))
echo "workflow/test.sh: snakemake --cores 2 on smoke (2 seeds, 7 jobs) in $((tenths / 10)).$((tenths % 10)) s"

for seed in 0 1; do
    for dir in train analyze; do
        if [ ! -f "$root/smoke/$dir/seed-$seed/stage.json" ]; then
            echo "workflow/test.sh: $root/smoke/$dir/seed-$seed/stage.json is missing: the workflow did not run seed $seed's $dir job" >&2
            exit 1
        fi
    done
done

# A second run must find nothing to do.
if ! "$snakemake" --cores 2 --config pipelines=smoke artifacts="$root" bin=target/release --dry-run --quiet 2>&1 \
    | grep -q "Nothing to be done"; then
    echo "workflow/test.sh: a second snakemake run over $root would run jobs again: check the rerun triggers in workflow/Snakefile" >&2
    "$snakemake" --cores 2 --config pipelines=smoke artifacts="$root" bin=target/release --dry-run >&2 || true
    exit 1
fi

.venv/bin/python workflow/compare_artifacts.py "$expected" "$root/smoke"
