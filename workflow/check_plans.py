#!/usr/bin/env python3
"""Checks a workflow run against the stage binaries' plans.

    python3 workflow/check_plans.py --root target/workflow-test --bin target/release smoke heldout-smoke
    python3 workflow/check_plans.py --root ... --bin ... --sbatch-calls FILE smoke heldout-smoke

For every pipeline and stage, asks the binary for its plan
(`tgsh-<stage> pipelines/<p>.toml --artifacts ROOT --plan`) and checks that
every job of the plan ran: its record and every planned output exist. With
`--sbatch-calls` (the fake sbatch's log of the SLURM-profile test), also
checks that each job was submitted as exactly one sbatch call carrying
`--cpus-per-task`, `--mem` and `--time`, with the threads the Snakefile gives
its stage. Exits 1 naming every problem. Standard library only.
"""

import argparse
import re
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from plans import STAGES, THREADS, PlanError, plan, rule_name  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--sbatch-calls")
    parser.add_argument("pipelines", nargs="+")
    args = parser.parse_args()

    problems, rules = [], {}
    for pipeline in args.pipelines:
        for stage in STAGES:
            try:
                jobs = plan(args.bin, args.root, pipeline, stage)["jobs"]
            except PlanError as e:
                sys.exit(f"check_plans.py: {e}")
            for job in jobs:
                rules[rule_name(pipeline, stage, job)] = stage
                for path in [job["record"], *job["outputs"]]:
                    if not Path(path).is_file():
                        problems.append(f"{path} is missing: the workflow did not run {pipeline}'s {stage} {job['name']}")

    if args.sbatch_calls:
        seen = {}
        for line in Path(args.sbatch_calls).read_text().splitlines():
            if not line.strip():
                continue
            joined = " ".join(shlex.split(line))
            rule = re.search(r"--comment rule_(\S+)", joined)
            cpus = re.search(r"--cpus-per-task[= ](\d+)", joined)
            mem = re.search(r"--mem[= ](\d+)", joined)
            time = re.search(r"(?:-t|--time)[= ](\d+)", joined)
            if not (rule and cpus and mem and time):
                problems.append(f"an sbatch call lacks --comment rule_..., --cpus-per-task, --mem or -t: {joined[:300]}")
                continue
            name = rule.group(1)
            seen[name] = seen.get(name, 0) + 1
            print(f"  sbatch {name:45} --cpus-per-task={cpus.group(1)} --mem={mem.group(1)}M -t {time.group(1)}")
            stage = rules.get(name)
            if stage is None:
                problems.append(f"sbatch ran rule {name}, which is no job of the plans")
            elif int(cpus.group(1)) != THREADS[stage]:
                problems.append(f"{name} asked for {cpus.group(1)} CPUs, the Snakefile gives {stage} {THREADS[stage]}")
        for name in rules:
            if seen.get(name, 0) != 1:
                problems.append(f"{name} was submitted {seen.get(name, 0)} times, expected once")
                # A second submission is the profile's retry of a failed job:
                # show why it failed (the fake sbatch kept its log).
                for log in sorted(Path(args.sbatch_calls).parent.glob(f"failed-{name}-*.log")):
                    problems.append(f"{log}:\n    " + "\n    ".join(log.read_text(errors="replace").splitlines()[-60:]))

    if problems:
        sys.exit("check_plans.py:\n  " + "\n  ".join(problems))
    print(f"check_plans.py: all {len(rules)} planned jobs ran" + (", one sbatch call each" if args.sbatch_calls else ""))


if __name__ == "__main__":
    main()
