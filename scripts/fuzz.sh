#!/usr/bin/env bash
# Runs every fuzz target for MINUTES minutes each (default 1): the crypto decoders, the
# transaction decoder and API JSON bodies (types), and the block and p2p message decoders
# (node). Usage: scripts/fuzz.sh MINUTES [TARGET...]
#
# The targets are cargo-fuzz crates (`cargo fuzz run <target>` works where cargo-fuzz and a
# nightly toolchain exist). This script needs neither: it builds each fuzz crate with the same
# libFuzzer instrumentation cargo-fuzz would add (SanitizerCoverage through stable -C flags,
# `--cfg fuzzing`, debug assertions and overflow checks), without AddressSanitizer, which needs
# nightly; the code under test has no `unsafe` outside two audited functions.
# A crash stops the script non-zero; libFuzzer leaves the input in
# crates/<crate>/fuzz/artifacts/<target>/. Turn it into a regression test in the crate's tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
minutes=${1:-1}
shift || true
if ! [[ "$minutes" =~ ^[0-9]+$ ]] || [ "$minutes" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh MINUTES [TARGET...]  (MINUTES a whole number, at least 1)" >&2
  exit 2
fi
seconds=$((minutes * 60))
host=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module \
  -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
  -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares \
  -Cdebug-assertions -Coverflow-checks"

ran=0
for crate in crypto types node; do
  dir="$root/crates/$crate/fuzz"
  targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$dir/Cargo.toml" | tail -n +2)
  wanted=()
  for target in $targets; do
    if [ $# -eq 0 ] || printf '%s\n' "$@" | grep -qx "$target"; then wanted+=("$target"); fi
  done
  [ ${#wanted[@]} -eq 0 ] && continue
  echo "fuzz: building $crate's targets: ${wanted[*]}" >&2
  (cd "$dir" && cargo build --release --target "$host" $(printf -- '--bin %s ' "${wanted[@]}"))
  for target in "${wanted[@]}"; do
    mkdir -p "$dir/corpus/$target" "$dir/artifacts/$target"
    echo "fuzz: $crate/$target for $minutes min" >&2
    (cd "$dir" && "./target/$host/release/$target" -max_total_time="$seconds" \
      -artifact_prefix="artifacts/$target/" -print_final_stats=1 "corpus/$target")
    ran=$((ran + 1))
  done
done
if [ "$ran" -eq 0 ]; then
  echo "fuzz: no target matched $*" >&2
  exit 2
fi
echo "fuzz: $ran targets ran $minutes min each without a crash" >&2
