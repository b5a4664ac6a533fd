#!/usr/bin/env bash
# Times the composite actions' install step, action/install.sh, from a release
# archive (dist's layout, pinned by .github/release/pin-archives.sh) served by
# Python's http.server on 127.0.0.1: a first install (download, sha256,
# extract, into the tool cache) and a tool cache hit, each the median of 5
# runs. The network of a real runner is left out: add the archive's size over
# the runner's bandwidth. Results: docs/performance.md (Installing the action).
# Usage: benches/action_install.sh BINARY   (a release build: what the archive holds)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binary=${1:?usage: benches/action_install.sh BINARY}
work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)
target=x86_64-unknown-linux-musl
archive="trainyard-$target.tar.gz"
mkdir -p "$work/site/v$version" "$work/stage/trainyard-$target" "$work/action-root/action" "$work/temp"
cp "$binary" "$work/stage/trainyard-$target/trainyard"
cp "$root/README.md" "$work/stage/trainyard-$target/"
tar -czf "$work/site/v$version/$archive" -C "$work/stage" "trainyard-$target"
(cd "$work/site/v$version" && sha256sum -b "$archive" > sha256.sum)
cp "$root/action/install.sh" "$root/action/binaries.sha256" "$work/action-root/action/"
bash "$root/.github/release/pin-archives.sh" "$version" "$work/site/v$version/sha256.sum" \
  "$work/action-root/action/binaries.sha256" > /dev/null

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$work/site" "$port" > /dev/null 2>&1 &
server=$!
for _ in $(seq 100); do
  if curl --silent --output /dev/null "http://127.0.0.1:$port/"; then break; fi
  sleep 0.1
done

install() {
  env -i PATH=/usr/bin:/bin HOME="$work" ACTION_ROOT="$work/action-root" RUNNER_OS=Linux RUNNER_ARCH=X64 \
    RUNNER_TOOL_CACHE="$work/cache" RUNNER_TEMP="$work/temp" GITHUB_PATH="$work/github-path" \
    TRAINYARD_DOWNLOAD_URL="http://127.0.0.1:$port" bash "$work/action-root/action/install.sh" > /dev/null
}
# Milliseconds of one install, as `date` sees it.
timed() {
  local start end
  start=$(date +%s%N)
  install
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}
median() { sort -n | sed -n 3p; }

first=$(for _ in 1 2 3 4 5; do rm -rf "$work/cache"; timed; done | median)
cached=$(for _ in 1 2 3 4 5; do timed; done | median)
"$work/cache/trainyard/$version/x64/bin/trainyard" --version > /dev/null

size=$(du -k "$work/site/v$version/$archive" | awk '{ printf "%.1f", $1 / 1024 }')
binary_size=$(du -k "$binary" | awk '{ printf "%.1f", $1 / 1024 }')
echo "| install.sh, first install (download from 127.0.0.1, sha256, extract) | ${first} ms | archive ${size} MB (binary ${binary_size} MB) |"
echo "| install.sh, tool cache hit | ${cached} ms | |"
echo "load average: $(cut -d ' ' -f 1-3 /proc/loadavg)"
