#!/usr/bin/env bash
# Installs the system packages the build and tests need, once: python3-venv and libsodium23
# (the peer implementations the cross-tests and benchmarks compare against) and pkg-config.
# Safe to run repeatedly.
set -euo pipefail
need=()
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
# libsodium's ristretto255 is one of the peers the key, envelope and ring vectors are checked by.
ldconfig -p 2>/dev/null | grep -q 'libsodium\.so\.23' || need+=(libsodium23)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >&2
fi
