#!/usr/bin/env bash
# Checks that the tests leave a reproduction's results alone: `just test`
# (so `./x test` and CI) snapshots every file under data/ before it runs the
# tests and checks afterwards that the same files hold the same bytes and
# that no file appeared or went away (data/index.html, data/claims.md,
# every data/<pipeline>/, data/mnist/). The tests write under target/.
#
#     scripts/results_untouched.sh snapshot data target/results-before.sha256
#     scripts/results_untouched.sh check    data target/results-before.sha256
#     scripts/results_untouched.sh selftest      # the check fails when it must
set -euo pipefail

# One line per file: SHA-256, two spaces, the path (sorted), so `diff` of two
# snapshots names every file that changed, appeared or went away.
snapshot() {
    local root="$1"
    if [ -d "$root" ]; then
        (cd "$root" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
    fi
}

case "${1:-}" in
snapshot)
    root="${2:?usage: $0 snapshot ROOT FILE}"
    out="${3:?usage: $0 snapshot ROOT FILE}"
    mkdir -p "$(dirname "$out")"
    snapshot "$root" > "$out"
    echo "results_untouched: $(wc -l < "$out") file(s) under $root/ recorded in $out" >&2
    ;;
check)
    root="${2:?usage: $0 check ROOT FILE}"
    before="${3:?usage: $0 check ROOT FILE}"
    if ! changes=$(diff <(cat "$before") <(snapshot "$root")); then
        echo "results_untouched: the tests changed files under $root/ (< before, > after):" >&2
        echo "$changes" >&2
        echo "results_untouched: tests must write under target/ only; rerun the reproduction (./x reproduce) to restore $root/" >&2
        exit 1
    fi
    echo "results_untouched: all $(wc -l < "$before") file(s) under $root/ are byte-identical to before the tests" >&2
    ;;
selftest)
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
    self="$0"
    mkdir -p "$dir/data/p/report" "$dir/data/p/train/seed-0"
    echo page > "$dir/data/index.html"
    echo claims > "$dir/data/claims.md"
    echo model > "$dir/data/p/train/seed-0/model.safetensors"
    echo report > "$dir/data/p/report/index.html"
    "$self" snapshot "$dir/data" "$dir/before" 2>/dev/null
    "$self" check "$dir/data" "$dir/before" 2>/dev/null || { echo "results_untouched selftest: an untouched tree failed" >&2; exit 1; }
    for change in "echo other > $dir/data/index.html" \
                  "rm $dir/data/claims.md" \
                  "echo new > $dir/data/p/report/extra.png" \
                  "printf x >> $dir/data/p/train/seed-0/model.safetensors"; do
        cp -a "$dir/data" "$dir/kept"
        bash -c "$change"
        if "$self" check "$dir/data" "$dir/before" 2>/dev/null; then
            echo "results_untouched selftest: the check passed after: $change" >&2
            exit 1
        fi
        rm -rf "$dir/data" && mv "$dir/kept" "$dir/data"
    done
    echo "results_untouched: selftest passed (a changed, removed, added or appended file fails the check)" >&2
    ;;
*)
    echo "usage: $0 snapshot|check ROOT FILE, or $0 selftest" >&2
    exit 2
    ;;
esac
