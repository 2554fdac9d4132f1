#!/usr/bin/env python3
"""Checks that two artifact trees of one pipeline hold the same results.

    python3 workflow/compare_artifacts.py target/test-artifacts/smoke target/workflow-test/smoke

Used by `just test-workflow` to compare the Snakemake workflow's artifacts
with the justfile's. What is compared, per stage folder (data/, train/seed-*/,
analyze/seed-*/, analyze/summary/, report/):

- the same file names on both sides, and no `*.partial` leftovers
  (`*.lock`, the writers' lock files, which name their last holder, are
  not artifacts and are left out);
- every file byte for byte, except:
  - `timings.parquet` and `report/timings.html`: wall times, different on
    every run;
  - `stage.json`: records the command line and the input paths, which name
    the artifact root; its code hash, parameters and the hashes of every
    input and output (timings.parquet and the report page excepted) must
    still be equal;
  - `report/index.html`: names the artifact root once; equal byte for byte
    once each side's `<root>/<pipeline>` is replaced by a placeholder.

Exits 1 naming every file that differs. Standard library only.
"""

import hashlib
import json
import sys
from pathlib import Path

STAGES = ["data", "train", "analyze", "report"]
RUN_SPECIFIC = {"timings.parquet", "timings.html"}


def files(root: Path) -> dict[str, Path]:
    found = {}
    for stage in STAGES:
        folder = root / stage
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file() and path.suffix != ".lock":
                    found[path.relative_to(root).as_posix()] = path
    return found


def spelled_root(command: list[str], pipeline: str) -> str:
    """`<root>/<pipeline>` as a stage spelled it: from the `--artifacts` of
    the command line in its record (the binaries' default is `data`). Its
    record's input paths and the report page start with this."""
    artifacts = "data"
    for i, arg in enumerate(command):
        if arg == "--artifacts" and i + 1 < len(command):
            artifacts = command[i + 1]
        elif arg.startswith("--artifacts="):
            artifacts = arg.split("=", 1)[1]
    return f"{artifacts.rstrip('/')}/{pipeline}"


def record_view(path: Path, pipeline: str) -> dict:
    """The parts of a stage.json that must not depend on the run or root."""
    record = json.loads(path.read_text())
    prefix = spelled_root(record["command"], pipeline) + "/"
    # The inputs are keyed by path as given, i.e. under the artifact root
    # (or elsewhere, e.g. data/mnist/, which both sides share).
    inputs = {k.replace(prefix, "<root>/", 1) if k.startswith(prefix) else k: v for k, v in record["inputs"].items()}
    # The report page's bytes name the root: it is compared on its own.
    skip = RUN_SPECIFIC | ({"index.html"} if record["stage"] == "report" else set())
    outputs = {k: v for k, v in record["outputs"].items() if k not in skip and Path(k).name not in RUN_SPECIFIC}
    return {
        "stage": record["stage"],
        "version": record["version"],
        "code": record["code"],
        "params": record["params"],
        "inputs": inputs,
        "outputs": outputs,
    }


def page_view(path: Path, pipeline: str) -> bytes:
    """The report page with the root it names (as the report stage was given
    it, read from report/stage.json) replaced by a placeholder."""
    record = path.with_name("stage.json")
    if not record.is_file():
        raise SystemExit(f"compare_artifacts: {record} is missing: the report stage did not finish (run it again)")
    root = spelled_root(json.loads(record.read_text())["command"], pipeline)
    return path.read_bytes().replace(root.encode(), b"<root>")


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    expected_root, actual_root = Path(sys.argv[1]), Path(sys.argv[2])
    for root in (expected_root, actual_root):
        if not root.is_dir():
            print(f"compare_artifacts: {root} does not exist: run the pipeline that writes it first", file=sys.stderr)
            return 2
    expected, actual = files(expected_root), files(actual_root)
    problems = []
    for rel in sorted(set(expected) - set(actual)):
        problems.append(f"missing in {actual_root}: {rel}")
    for rel in sorted(set(actual) - set(expected)):
        problems.append(f"only in {actual_root} (not in {expected_root}): {rel}")
    for rel in sorted(set(expected) | set(actual)):
        if ".partial/" in rel or ".old/" in rel:
            problems.append(f"leftover of an interrupted stage: {rel}")
    compared = {"byte for byte": 0, "stage records": 0, "report page (root normalised)": 0, "skipped (wall times)": 0}
    for rel in sorted(set(expected) & set(actual)):
        a, b = expected[rel], actual[rel]
        name = Path(rel).name
        if name in RUN_SPECIFIC:
            compared["skipped (wall times)"] += 1
            continue
        if name == "stage.json":
            compared["stage records"] += 1
            if record_view(a, expected_root.name) != record_view(b, actual_root.name):
                problems.append(f"differs (code, params, input or output hashes): {rel}")
            continue
        if rel == "report/index.html":
            compared["report page (root normalised)"] += 1
            if page_view(a, expected_root.name) != page_view(b, actual_root.name):
                problems.append(f"differs (beyond the artifact root it names): {rel}")
            continue
        compared["byte for byte"] += 1
        if a.read_bytes() != b.read_bytes():
            digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()[:12]
            problems.append(f"differs: {rel} (sha256 {digest(a)} in {expected_root}, {digest(b)} in {actual_root})")
    summary = ", ".join(f"{n} {what}" for what, n in compared.items())
    if problems:
        print(f"compare_artifacts: {actual_root} does NOT match {expected_root}:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print(f"  (compared: {summary})", file=sys.stderr)
        return 1
    if compared["byte for byte"] == 0:
        print(f"compare_artifacts: no files compared under {expected_root}: is it an artifact tree?", file=sys.stderr)
        return 1
    print(f"compare_artifacts: {actual_root} matches {expected_root}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
