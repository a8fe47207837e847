#!/usr/bin/env bash
# Fails if the light client (medchain-verify, default features) links a server-side crate: the
# crate a browser build and every client share must not pull in a runtime, networking, an HTTP
# server or the storage engine. Prints what pulled each forbidden crate in. With `--wasm`, also
# builds the crate for wasm32-unknown-unknown (needs `rustup target add wasm32-unknown-unknown`;
# a cold build takes some ten minutes, so CI does not pass it).
set -euo pipefail
cd "$(dirname "$0")/.."

package=medchain-verify
forbidden=(commonware-runtime commonware-p2p commonware-consensus axum tokio)

# One line per package: `name vX.Y.Z features,...`.
tree=$(cargo tree -p "$package" -e normal --prefix none --format '{p} {f}')
status=0
for crate in "${forbidden[@]}"; do
  if grep -q "^$crate v" <<<"$tree"; then
    echo "check-light-client: $package links $crate; pulled in by:" >&2
    cargo tree -p "$package" -e normal -i "$crate" >&2
    status=1
  fi
done
# commonware-storage is allowed only without `std` (its no_std `merkle` module).
if grep -Eq '^commonware-storage v[^ ]+ .*\bstd\b' <<<"$tree"; then
  echo "check-light-client: $package links commonware-storage with std; enabled by:" >&2
  cargo tree -p "$package" -e normal,features -i commonware-storage >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "check-light-client: take the dependency out of $package (or give it default-features = false)" >&2
  exit "$status"
fi
echo "check-light-client: $package links none of ${forbidden[*]}, nor commonware-storage with std"
if [ "${1:-}" = "--wasm" ]; then
  cargo build -p "$package" --target wasm32-unknown-unknown --no-default-features
  echo "check-light-client: $package builds for wasm32-unknown-unknown"
fi
