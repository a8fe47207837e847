#!/usr/bin/env bash
# Creates (once) the Python virtual environment holding the peer implementations that the
# cross-implementation tests and benchmarks compare against, and prints its python path.
# Every bench/peers/requirements-*.txt is installed. Safe to call concurrently and repeatedly.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${MEDCHAIN_PY_VENV:-$root/target/py-peers}"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
reqs=$(ls "$root"/bench/peers/requirements-*.txt 2>/dev/null | sort || true)
stamp="$venv/.installed"
want=$(cat $reqs /dev/null | sha256sum | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  for r in $reqs; do
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$r" >&2
  done
  echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
