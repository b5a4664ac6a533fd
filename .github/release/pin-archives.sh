#!/usr/bin/env bash
# Pins a release's archives: adds `<sha256>  v<version>/<archive>` for every
# archive in dist's sha256.sum to each pin file and points its `# version:` line
# at the release. Run by the release workflow's pin job (which opens the pull
# request) and by tests/it/release.rs; idempotent for one version.
# Usage: pin-archives.sh <version> <sha256.sum> [pin file...]
#
# The pin files default to every file that pins the archives. A new consumer of
# the archives (the Azure DevOps tasks) adds its pin file to `default_pins`, in
# the same format, and its installer reads it the way action/install.sh does.
set -euo pipefail

default_pins=(action/binaries.sha256)

if [ "$#" -lt 2 ]; then
  echo "usage: $0 <version> <sha256.sum> [pin file...]" >&2
  exit 2
fi
version="${1#v}"
sums="$2"
shift 2
pins=("$@")
if [ "${#pins[@]}" -eq 0 ]; then pins=("${default_pins[@]}"); fi

case "$version" in
  '' | *[!0-9A-Za-z.+-]*) echo "pin-archives: '$version' is not a version" >&2; exit 2 ;;
esac

# dist writes `<sha256> *<file>` (sha256sum's binary mode); the source tarball is not installed.
lines=$(awk '
  { name = $2; sub(/^\*/, "", name) }
  name ~ /^trainyard-.*\.(tar\.gz|zip)$/ {
    if (length($1) != 64 || $1 ~ /[^0-9a-f]/) { print "pin-archives: bad sha256 for " name > "/dev/stderr"; exit 1 }
    print $1 "  v" version "/" name
  }' version="$version" "$sums" | sort -k 2)
if [ -z "$lines" ]; then
  echo "pin-archives: $sums lists no trainyard archive" >&2
  exit 1
fi

for pin in "${pins[@]}"; do
  next="$pin.next"
  awk -v version="$version" '
    /^# version:/ { print "# version: " version; next }
    index($2, "v" version "/") == 1 { next }
    { print }' "$pin" > "$next"
  printf '%s\n' "$lines" >> "$next"
  mv "$next" "$pin"
  echo "pinned trainyard $version in $pin:"
  printf '%s\n' "$lines"
done
