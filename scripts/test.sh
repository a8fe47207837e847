#!/usr/bin/env bash
# Runs every test of the workspace: installs what the build needs, builds once, then runs the
# tests (the Python peers for the cross-implementation tests are installed on first use).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
# A one-shot CI build gains nothing from incremental compilation, which would take ~25 GB.
if [ "${CI:-}" = "true" ]; then export CARGO_INCREMENTAL=0; fi
scripts/py-peers.sh >/dev/null
cargo build --workspace --all-targets
cargo test --workspace --no-fail-fast
