#!/usr/bin/env bash
# The SLURM profile, checked without a cluster (`just test-workflow-slurm`,
# part of `./x test` and CI): runs the workflow on the smoke pipelines
# through workflow/profiles/slurm and the pinned SLURM executor plugin, with
# workflow/fake-slurm/ standing in for sbatch, srun and sacct (every "SLURM
# job" starts at once on this machine). Checks that each job of the stage
# binaries' plans was submitted as one sbatch call carrying its rule's
# threads, memory and time, and that the artifacts equal the justfile's bit
# for bit.
# What this cannot check: a real scheduler (queueing, accounts, partitions,
# node limits and cgroups, a file system shared between nodes).
#     workflow/test-slurm.sh target/test-artifacts smoke heldout-smoke   # the root `just smoke` wrote, and its pipelines
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: workflow/test-slurm.sh EXPECTED_ROOT PIPELINE..., the artifact root of the justfile's run and its pipelines"
expected_root="${1:?$usage}"
shift
[ $# -gt 0 ] || { echo "$usage" >&2; exit 1; }
pipelines=("$@")
list=$(IFS=,; echo "${pipelines[*]}")
root=target/workflow-test-slurm
state="$PWD/target/workflow-test-slurm.fake"
snakemake=.venv/bin/snakemake

if [ ! -x "$snakemake" ]; then
    echo "workflow/test-slurm.sh: $snakemake is missing: run workflow/venv.sh (or ./x test-workflow-slurm, which does)" >&2
    exit 1
fi
for p in "${pipelines[@]}"; do
    if [ ! -f "$expected_root/$p/report/index.html" ]; then
        echo "workflow/test-slurm.sh: $expected_root/$p/report/index.html is missing: run \`just smoke\` first (or ./x test-workflow-slurm, which does)" >&2
        exit 1
    fi
done

rm -rf "$root" "$state"
mkdir -p "$state"
start=$(date +%s%N)
if ! PATH="$PWD/workflow/fake-slurm:$PATH" FAKE_SLURM_STATE="$state" "$snakemake" \
    --profile workflow/profiles/slurm --config pipelines="$list" artifacts="$root" bin=target/release \
    --slurm-init-seconds-before-status-checks 1 > "$state/snakemake.log" 2>&1; then
    tail -n 40 "$state/snakemake.log" >&2
    echo "workflow/test-slurm.sh: the workflow failed under the SLURM profile (log: $state/snakemake.log; job logs: .snakemake/slurm_logs/, $root/<pipeline>/logs/)" >&2
    exit 1
fi
now=$(date +%s%N)
tenths=$(( (now - start) / 100000000 ))
echo "workflow/test-slurm.sh: snakemake --profile workflow/profiles/slurm on $list (fake sbatch) in $((tenths / 10)).$((tenths % 10)) s"

# One sbatch call per planned job, each with the resources its rule declares.
.venv/bin/python workflow/check_plans.py --root "$root" --bin target/release --sbatch-calls "$state/sbatch.calls" "${pipelines[@]}"
for p in "${pipelines[@]}"; do
    .venv/bin/python workflow/compare_artifacts.py "$expected_root/$p" "$root/$p"
done
