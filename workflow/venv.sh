#!/usr/bin/env bash
# Creates .venv/ with the pinned Snakemake of workflow/requirements.txt, or
# does nothing when it is already there and the pins are unchanged. Called by
# the justfile's `venv` recipe (so by `./x test`, `./x sweep`). Then:
#     .venv/bin/snakemake --cores 2 --config pipelines=smoke
# Python: $PYTHON, else python3; Snakemake 9 needs Python 3.11 or newer.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
requirements=workflow/requirements.txt
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"

want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ -x "$venv/bin/snakemake" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    exit 0
fi

if ! command -v "$python" >/dev/null 2>&1; then
    echo "workflow/venv.sh: $python not found. Install Python 3.11 or newer (Debian: apt-get install -y python3 python3-venv), or set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "workflow/venv.sh: $python is Python $("$python" -c 'import platform; print(platform.python_version())'); Snakemake 9 needs 3.11 or newer. Set PYTHON=/path/to/python3.11 (or newer)" >&2
    exit 1
fi
if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    echo "workflow/venv.sh: $python has no venv/ensurepip module. Debian: apt-get install -y python3-venv (./x does this when run as root), then run again" >&2
    exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "workflow/venv.sh: creating $venv with $python" >&2
    "$python" -m venv "$venv"
fi
echo "workflow/venv.sh: installing $requirements into $venv (about a minute)" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --requirement "$requirements"
"$venv/bin/snakemake" --version >/dev/null
echo "$want" > "$stamp"
echo "workflow/venv.sh: $("$venv/bin/snakemake" --version | sed 's/^/snakemake /') ready in $venv" >&2
