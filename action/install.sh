#!/usr/bin/env bash
# Puts a trainyard binary on PATH for the composite actions, in this order:
#   1. one already on PATH (preinstalled, or a previous step of this job) is used as is;
#   2. one in the runner's tool cache for this version and platform;
#   3. the release archive for this version and platform, downloaded and checked
#      against the sha256 pinned in action/binaries.sha256 (a mismatch stops the job);
#   4. `cargo install --locked` from this action's own source, when no archive is pinned.
# Inputs (environment): TRAINYARD_VERSION (empty: the version the action pins),
# TRAINYARD_DOWNLOAD_URL (a mirror of the release downloads, for GitHub Enterprise),
# ACTION_ROOT (the action repository's root), RUNNER_OS, RUNNER_ARCH, RUNNER_TOOL_CACHE, RUNNER_TEMP.
set -euo pipefail

if command -v trainyard >/dev/null 2>&1; then
  echo "trainyard on PATH: $(command -v trainyard) ($(trainyard --version))"
  exit 0
fi

manifest="$ACTION_ROOT/action/binaries.sha256"
pinned_version=$(sed -n 's/^# version: *//p' "$manifest" | head -n 1)
version="${TRAINYARD_VERSION:-$pinned_version}"
version="${version#v}"

case "${RUNNER_OS:-Linux}/${RUNNER_ARCH:-X64}" in
  Linux/X64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64) target=aarch64-unknown-linux-musl ;;
  macOS/X64) target=x86_64-apple-darwin ;;
  macOS/ARM64) target=aarch64-apple-darwin ;;
  Windows/X64) target=x86_64-pc-windows-msvc ;;
  Windows/ARM64) target=aarch64-pc-windows-msvc ;;
  *) echo "::error title=trainyard::no trainyard build for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}; install trainyard on PATH before this step"; exit 3 ;;
esac
exe=trainyard
if [ "${RUNNER_OS:-Linux}" = Windows ]; then exe=trainyard.exe; fi

cache_root="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-/tmp}}"
cache="$cache_root/trainyard/$version/$target"
if [ -x "$cache/bin/$exe" ] && [ -f "$cache.complete" ]; then
  echo "trainyard $version from the tool cache"
  echo "$cache/bin" >> "$GITHUB_PATH"
  exit 0
fi

archive="trainyard-v$version-$target.tar.gz"
expected=$(awk -v name="$archive" '$2 == name { print $1 }' "$manifest")
if [ -n "$expected" ]; then
  base="${TRAINYARD_DOWNLOAD_URL:-https://github.com/trainyard/trainyard/releases/download}"
  work=$(mktemp -d "${RUNNER_TEMP:-/tmp}/trainyard-install.XXXXXX")
  echo "downloading $base/v$version/$archive"
  curl --fail --silent --show-error --location --retry 3 --output "$work/$archive" "$base/v$version/$archive"
  if command -v sha256sum >/dev/null 2>&1; then
    actual=$(sha256sum "$work/$archive" | awk '{ print $1 }')
  else
    actual=$(shasum -a 256 "$work/$archive" | awk '{ print $1 }')
  fi
  if [ "$actual" != "$expected" ]; then
    echo "::error title=trainyard::$archive has sha256 $actual, but action/binaries.sha256 pins $expected; not installing it"
    exit 3
  fi
  mkdir -p "$cache/bin"
  tar -xzf "$work/$archive" -C "$cache/bin" "$exe"
  chmod +x "$cache/bin/$exe"
  rm -rf "$work"
else
  echo "no release archive pinned for trainyard $version on $target: building it with cargo install --locked"
  if ! command -v cargo >/dev/null 2>&1; then
    echo "::error title=trainyard::cargo is not installed and no trainyard $version archive is pinned for $target; install Rust (rustup) or trainyard before this step"
    exit 3
  fi
  cargo install --locked --quiet --path "$ACTION_ROOT" --root "$cache"
fi
touch "$cache.complete"
echo "$cache/bin" >> "$GITHUB_PATH"
echo "trainyard $version installed in $cache/bin"
