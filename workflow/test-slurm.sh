#!/usr/bin/env bash
# The SLURM profile, checked without a cluster (`just test-workflow-slurm`,
# part of `./x test` and CI): runs the workflow on the smoke pipeline through
# workflow/profiles/slurm and the pinned SLURM executor plugin, with
# workflow/fake-slurm/ standing in for sbatch, srun and sacct (every "SLURM
# job" starts at once on this machine). Checks that each of the 7 jobs was
# submitted as one sbatch call carrying its rule's threads, memory and time,
# and that the artifacts equal the justfile's bit for bit.
# What this cannot check: a real scheduler (queueing, accounts, partitions,
# node limits and cgroups, a file system shared between nodes).
#     workflow/test-slurm.sh target/test-artifacts/smoke      # the tree `just smoke` wrote
set -euo pipefail
cd "$(dirname "$0")/.."

expected="${1:?usage: workflow/test-slurm.sh EXPECTED, the smoke artifacts of the justfile, e.g. target/test-artifacts/smoke}"
root=target/workflow-test-slurm
state="$PWD/target/workflow-test-slurm.fake"
snakemake=.venv/bin/snakemake

if [ ! -x "$snakemake" ]; then
    echo "workflow/test-slurm.sh: $snakemake is missing: run workflow/venv.sh (or ./x test-workflow-slurm, which does)" >&2
    exit 1
fi
if [ ! -f "$expected/report/index.html" ]; then
    echo "workflow/test-slurm.sh: $expected/report/index.html is missing: run \`just smoke\` first (or ./x test-workflow-slurm, which does)" >&2
    exit 1
fi

rm -rf "$root" "$state"
mkdir -p "$state"
start=$(date +%s%N)
if ! PATH="$PWD/workflow/fake-slurm:$PATH" FAKE_SLURM_STATE="$state" "$snakemake" \
    --profile workflow/profiles/slurm --config pipelines=smoke artifacts="$root" bin=target/release \
    --slurm-init-seconds-before-status-checks 1 > "$state/snakemake.log" 2>&1; then
    tail -n 40 "$state/snakemake.log" >&2
    echo "workflow/test-slurm.sh: the workflow failed under the SLURM profile (log: $state/snakemake.log; job logs: .snakemake/slurm_logs/, $root/smoke/logs/)" >&2
    exit 1
fi
now=$(date +%s%N)
tenths=$(( (now - start) / 100000000 ))
echo "workflow/test-slurm.sh: snakemake --profile workflow/profiles/slurm on smoke (fake sbatch) in $((tenths / 10)).$((tenths % 10)) s"

# One sbatch call per job, each with the resources its rule declares.
.venv/bin/python - "$state/sbatch.calls" <<'EOF'
import re, shlex, sys
calls = [shlex.split(line) for line in open(sys.argv[1]) if line.strip()]
want = {"data": 1, "train_seed": 2, "analyze_seed": 2, "analyze_summary": 1, "report": 1}
seen, problems = {}, []
for args in calls:
    joined = " ".join(args)
    rule = re.search(r"--comment rule_(\w+?)(_wildcards_\S+)?( |$)", joined)
    cpus = re.search(r"--cpus-per-task[= ](\d+)", joined)
    mem = re.search(r"--mem[= ](\d+)", joined)
    time = re.search(r"(?:-t|--time)[= ](\d+)", joined)
    if not (rule and cpus and mem and time):
        problems.append(f"an sbatch call lacks --comment rule_..., --cpus-per-task, --mem or -t: {joined[:300]}")
        continue
    name = rule.group(1)
    seen[name] = seen.get(name, 0) + 1
    print(f"  sbatch {rule.group(1) + (rule.group(2) or ''):45} --cpus-per-task={cpus.group(1)} --mem={mem.group(1)}M -t {time.group(1)}")
    if name == "train_seed" and cpus.group(1) != "2":
        problems.append(f"train_seed asked for {cpus.group(1)} CPUs, the Snakefile says threads: 2")
if seen != want:
    problems.append(f"sbatch calls per rule: {seen}, expected {want}")
if problems:
    sys.exit("workflow/test-slurm.sh: " + "; ".join(problems))
EOF

.venv/bin/python workflow/compare_artifacts.py "$expected" "$root/smoke"
