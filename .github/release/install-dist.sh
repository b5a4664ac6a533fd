#!/usr/bin/env bash
# Installs dist for a release job: a virtualenv under RUNNER_TEMP, the wheel
# pinned by hash in dist-requirements.txt (no build, seconds), its bin folder on
# GITHUB_PATH. The same on Linux, macOS and Windows (Git Bash).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# Windows runners name it python (python3 there may be the Microsoft Store stub).
python=python3
if [ "${RUNNER_OS:-}" = Windows ]; then python=python; fi
venv="$RUNNER_TEMP/dist-venv"
"$python" -m venv "$venv"
bin="$venv/bin"
if [ -d "$venv/Scripts" ]; then bin="$venv/Scripts"; fi
"$bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
  --only-binary=:all: -r "$here/dist-requirements.txt"
echo "$bin" >> "$GITHUB_PATH"
"$bin/dist" --version
