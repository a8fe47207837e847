#!/usr/bin/env bash
# Starts a real S3-compatible server (moto's, from PyPI) on 127.0.0.1 on a free port for the blob
# store's S3 tests, and prints `MEDCHAIN_TEST_S3_ENDPOINT=http://127.0.0.1:PORT` once it answers.
# The venv is created once under target/ (like scripts/py-peers.sh). The server runs in the
# background until the PID in target/s3-server.pid is killed; scripts/test.sh does that on exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${MEDCHAIN_S3_VENV:-$root/target/py-s3}"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
req="$root/scripts/s3/requirements.txt"
stamp="$venv/.installed"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
  echo "$want" > "$stamp"
fi
exec 9>&-
# A free port: bind port 0, read what the kernel chose, release it for moto.
port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log="$root/target/s3-server.log"
# moto keeps every object in memory; the largest test blob is 64 MiB, held at most a few times.
nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
echo $! > "$root/target/s3-server.pid"
for _ in $(seq 1 100); do
  if "$venv/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
      "http://127.0.0.1:$port/moto-api/" 2>/dev/null; then
    echo "MEDCHAIN_TEST_S3_ENDPOINT=http://127.0.0.1:$port"
    exit 0
  fi
  sleep 0.2
done
echo "s3-server: moto did not answer on 127.0.0.1:$port within 20 s; see $log" >&2
exit 1
