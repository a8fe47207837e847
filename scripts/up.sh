#!/usr/bin/env bash
# Builds medchain (installing what the build needs) and runs `medchain up` with the given
# arguments: a local consortium of validators until Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
cargo build --release --bin medchain
exec target/release/medchain up "$@"
