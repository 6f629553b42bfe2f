#!/bin/sh
# `npm run test:pack`: what a user gets from the registry. Packs the package, installs the tarball
# globally into a temp prefix (its dependencies from the registry, as a user's install would), and runs
# the installed `nightshift --version` and `nightshift demo` from an empty folder, so a file the package
# needs but does not ship fails here rather than on a user's machine.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nightshift-pack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# `npm pack` runs `prepare` (a clean build) first.
npm pack --silent --pack-destination "$tmp" >/dev/null
tarball=$(ls "$tmp"/nightshift-*.tgz)
listing=$(tar -tzf "$tarball")
for want in package/package.json package/README.md package/bin/nightshift.js package/dist/cli/main.js; do
  printf '%s\n' "$listing" | grep -qx "$want" || { echo "pack-test: $want is missing from the tarball" >&2; exit 1; }
done
# Source maps would point at src/, which is not shipped.
if printf '%s\n' "$listing" | grep -q '\.map$'; then
  echo "pack-test: the tarball ships source maps:" >&2
  printf '%s\n' "$listing" | grep '\.map$' >&2
  exit 1
fi
echo "pack-test: $(basename "$tarball"), $(printf '%s\n' "$listing" | wc -l | tr -d ' ') files, no source maps"

prefix="$tmp/prefix"
npm install --global --prefix "$prefix" --no-audit --no-fund --loglevel=error "$tarball" >/dev/null
bin="$prefix/bin/nightshift"

mkdir "$tmp/work"
cd "$tmp/work"
want=$(node -p "JSON.parse(require('fs').readFileSync('$root/package.json', 'utf8')).version")
got=$("$bin" --version)
[ "$got" = "$want" ] || { echo "pack-test: installed nightshift --version printed '$got', package.json says '$want'" >&2; exit 1; }
echo "pack-test: installed nightshift --version = $got"

# The demo makes its own scratch repository and exits 0 only when the run went as designed.
if ! "$bin" demo >"$tmp/demo.out" 2>&1; then
  cat "$tmp/demo.out" >&2
  echo "pack-test: the installed nightshift demo failed" >&2
  exit 1
fi
tail -n 3 "$tmp/demo.out"
echo "pack-test: ok"
