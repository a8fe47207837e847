#!/usr/bin/env bash
# Runs every check of the workspace: installs what the build needs, checks formatting, lints
# (clippy with warnings as errors), looks for unused dependencies, checks the light client's
# dependency tree, builds once, then runs the tests (the Python peers for the
# cross-implementation tests and the S3 test server are installed on first use).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
# A one-shot CI build gains nothing from incremental compilation, which would take ~25 GB.
if [ "${CI:-}" = "true" ]; then export CARGO_INCREMENTAL=0; fi
scripts/py-peers.sh >/dev/null

cargo fmt --all --check
# Pinned: a newer release may flag (or stop flagging) dependencies without any change here.
machete_version=0.9.2
if [ "$(cargo machete --version 2>/dev/null || true)" != "$machete_version" ]; then
  echo "test: installing cargo-machete $machete_version" >&2
  cargo install --locked cargo-machete --version "$machete_version" >&2
fi
# Every manifest in the repository, the fuzz crates' included; exits non-zero on an unused one.
cargo machete
# The light client links no runtime, networking, server or storage engine.
scripts/check-light-client.sh
cargo clippy --workspace --all-targets -- -D warnings

cargo build --workspace --all-targets
# The blob store's S3 tests run against a real S3-compatible server (moto) on loopback; they
# fail under CI=true without it. Stopped when this script exits, however it exits.
s3_env=$(scripts/s3-server.sh)
trap 'kill "$(cat "$root/target/s3-server.pid")" 2>/dev/null || true' EXIT
export "${s3_env?}"
cargo test --workspace --no-fail-fast
