#!/usr/bin/env bash
# The benchmark harness: trainyard against pandas+pandera, Great Expectations, DVC,
# DuckDB and Evidently on the same generated data. Not a test; CI does not run it.
#   bash benches/run.sh [--size-gb 1] [--drift-rows 1000000] [--skip gx,evidently]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export DO_NOT_TRACK=1 DVC_NO_ANALYTICS=1 GX_ANALYTICS_ENABLED=false
if [ ! -x "$here/.venv/bin/python" ]; then
  python3 -m venv "$here/.venv"
fi
"$here/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
cargo build --release --bin trainyard --manifest-path "$here/../Cargo.toml"
exec "$here/.venv/bin/python" "$here/run.py" "$@"
