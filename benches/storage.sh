#!/usr/bin/env bash
# The storage benchmark: a 1 GB model uploaded and fetched through trainyard's
# store and through boto3 / azure-storage-blob, against moto and Azurite on
# 127.0.0.1 (from .ci/test's tools). Not a test; CI does not run it.
#   bash benches/storage.sh [--size-mb 1024] [--note TEXT]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export DO_NOT_TRACK=1
if [ ! -x "$here/.venv/bin/python" ]; then
  python3 -m venv "$here/.venv"
fi
"$here/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
cargo build --release --example store_transfer -p trainyard-store --manifest-path "$here/../Cargo.toml"
exec "$here/.venv/bin/python" "$here/storage.py" "$@"
