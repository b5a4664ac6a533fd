#!/usr/bin/env bash
# Puts a trainyard binary on PATH for the composite actions, in this order:
#   1. one already on PATH (preinstalled, or a previous step of this job) is used as is;
#   2. one in the runner's tool cache for this version and platform;
#   3. the release archive for this version and platform (the one dist builds,
#      .github/workflows/release.yml), downloaded and checked against the sha256
#      pinned in action/binaries.sha256 at this action's ref; a mismatch stops the job;
#   4. only when asked for (TRAINYARD_FROM_SOURCE=true): `cargo install --locked`
#      from this action's own source. Otherwise no pinned archive stops the job.
# Inputs (environment): TRAINYARD_VERSION (empty: the version the action pins),
# TRAINYARD_DOWNLOAD_URL (a mirror of the releases: <url>/v<version>/<archive>),
# TRAINYARD_FROM_SOURCE, ACTION_ROOT (the action repository's root), RUNNER_OS,
# RUNNER_ARCH, RUNNER_TOOL_CACHE, RUNNER_TEMP, GITHUB_PATH.
# Exit codes: 0 installed; 3 the environment cannot get trainyard (docs/github-action.md).
set -euo pipefail

fail() {
  echo "::error title=trainyard install::$1"
  exit 3
}

if command -v trainyard >/dev/null 2>&1; then
  echo "trainyard on PATH: $(command -v trainyard) ($(trainyard --version))"
  exit 0
fi

pins="$ACTION_ROOT/action/binaries.sha256"
pinned_version=$(sed -n 's/^# version: *//p' "$pins" | head -n 1)
version="${TRAINYARD_VERSION:-$pinned_version}"
version="${version#v}"
if [ -z "$version" ]; then
  fail "action/binaries.sha256 pins no trainyard version and the version input is empty"
fi
case "$version" in
  *[!0-9A-Za-z.+-]*) fail "'$version' is not a trainyard version (the version input)" ;;
esac

# The runner's platform -> dist's target triple and archive format; the tool
# cache folder uses the runner's own architecture name, as actions/tool-cache does.
platform="${RUNNER_OS:-Linux}/${RUNNER_ARCH:-X64}"
case "$platform" in
  Linux/X64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64) target=aarch64-unknown-linux-musl ;;
  macOS/X64) target=x86_64-apple-darwin ;;
  macOS/ARM64) target=aarch64-apple-darwin ;;
  Windows/X64) target=x86_64-pc-windows-msvc ;;
  *) fail "trainyard publishes no build for $platform (Linux, macOS and Windows on X64, Linux and macOS on ARM64); install trainyard on PATH before this step" ;;
esac
exe=trainyard
archive="trainyard-$target.tar.gz"
if [ "${RUNNER_OS:-Linux}" = Windows ]; then
  exe=trainyard.exe
  archive="trainyard-$target.zip"
fi
arch=$(printf '%s' "${RUNNER_ARCH:-X64}" | tr '[:upper:]' '[:lower:]')

cache_root="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-/tmp}}"
cache="$cache_root/trainyard/$version/$arch"
if [ -x "$cache/bin/$exe" ] && [ -f "$cache.complete" ]; then
  echo "trainyard $version from the tool cache ($cache/bin)"
  echo "$cache/bin" >> "$GITHUB_PATH"
  exit 0
fi

# A pin line is `<sha256>  v<version>/<archive>`: the archive's path under the
# releases' download URL, so one file pins every version this ref knows.
expected=$(awk -v name="v$version/$archive" '$2 == name { print $1 }' "$pins")
if [ -n "$expected" ]; then
  base="${TRAINYARD_DOWNLOAD_URL:-https://github.com/trainyard/trainyard/releases/download}"
  base="${base%/}"
  work=$(mktemp -d "${RUNNER_TEMP:-/tmp}/trainyard-install.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  echo "downloading $base/v$version/$archive"
  if ! curl --fail --silent --show-error --location --retry 3 --output "$work/$archive" "$base/v$version/$archive"; then
    fail "could not download $base/v$version/$archive (TRAINYARD_DOWNLOAD_URL: a mirror of the releases)"
  fi
  if command -v sha256sum >/dev/null 2>&1; then
    actual=$(sha256sum "$work/$archive" | awk '{ print $1 }')
  else
    actual=$(shasum -a 256 "$work/$archive" | awk '{ print $1 }')
  fi
  if [ "$actual" != "$expected" ]; then
    fail "$archive has sha256 $actual, but action/binaries.sha256 pins $expected for v$version; not installing it"
  fi
  # dist's layout: a tarball holds trainyard-<target>/<exe>, a zip holds <exe> at its root.
  rm -rf "$cache" "$cache.complete"
  mkdir -p "$cache/bin"
  case "$archive" in
    *.zip)
      command -v unzip >/dev/null 2>&1 || fail "unzip is not installed; it extracts $archive (Git for Windows ships it)"
      unzip -q -o "$work/$archive" "$exe" -d "$cache/bin"
      ;;
    *) tar -xzf "$work/$archive" -C "$cache/bin" --strip-components=1 "trainyard-$target/$exe" ;;
  esac
  chmod +x "$cache/bin/$exe"
elif [ "${TRAINYARD_FROM_SOURCE:-}" = true ]; then
  own_version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ACTION_ROOT/Cargo.toml" | head -n 1)
  if [ "$version" != "$own_version" ]; then
    fail "TRAINYARD_FROM_SOURCE builds this action's own source, trainyard $own_version, not $version; use the action's ref of that release"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    fail "TRAINYARD_FROM_SOURCE is set but cargo is not installed; install Rust (rustup) before this step"
  fi
  echo "building trainyard $version from this action's source (cargo install --locked)"
  cargo install --locked --quiet --path "$ACTION_ROOT" --root "$cache"
else
  fail "action/binaries.sha256 at this action's ref pins no trainyard $version archive for $target. Use a released ref of the action (trainyard/trainyard@v0), set the version input to one it pins ($pinned_version), put trainyard on PATH before this step, or set TRAINYARD_FROM_SOURCE: true to build it with cargo (minutes)"
fi
touch "$cache.complete"
echo "$cache/bin" >> "$GITHUB_PATH"
echo "trainyard $version installed in $cache/bin"
