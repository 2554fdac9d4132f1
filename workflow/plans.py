"""What the Snakefile and its tests share: the stages, their default
threads, the rule name of a job, and a stage binary's plan.

The plan (`tgsh-<stage> pipelines/<p>.toml --artifacts ROOT --plan`) is the
stage binary's own account of its jobs: the folder each publishes, the files
it reads and writes, the parameters its record holds, the flags that run it
alone, and the pipeline's size. Standard library only.
"""

import json
import re
import subprocess

STAGES = ["data", "train", "analyze", "report"]
# Threads per job of each stage (`--config threads=train:4` changes them).
THREADS = {"data": 2, "train": 2, "analyze": 1, "report": 1}


class PlanError(Exception):
    """A binary could not give its plan."""


def plan(binary_dir, root, pipeline, stage):
    """The plan of `stage` for pipelines/<pipeline>.toml, as a dict."""
    command = [f"{binary_dir}/tgsh-{stage}", f"pipelines/{pipeline}.toml", "--artifacts", root, "--plan"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise PlanError(f"{' '.join(command)} failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout)


def rule_name(pipeline, stage, job):
    """The Snakefile's rule for one job, e.g. `train_smoke_seed_0`."""
    return re.sub(r"\W", "_", f"{stage}_{pipeline}_{job['name']}")
