#!/usr/bin/env bash
# vendor-shaka.sh VERSION
#
# Vendors Shaka Player VERSION from the npm registry into player/shaka/: its
# DASH-only compiled build for ES2021 browsers
# (dist/shaka-player.dash-es2021.js, unmodified), its LICENSE, and VERSION.
# The page plays DASH with it (HLS is hls.js's); the DASH-only build is 500
# KB where the full one is 710, and every browser with Media Source
# Extensions runs ES2021. npm checks the tarball against the registry's
# integrity; the script prints it for the commit message. Then run
# `go test -run TestPlayerPage .`, which checks the files agree, and the e2e
# tests (go test -run DASH ./e2e).
set -euo pipefail
version=${1:?usage: vendor-shaka.sh VERSION (e.g. 5.2.12)}
cd "$(dirname "$0")/.."
dest=player/shaka
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "shaka-player@$version" >/dev/null && tar xzf "shaka-player-$version.tgz")
got=$(node -p "require('$tmp/package/package.json').version")
[ "$got" = "$version" ] || { echo "npm gave shaka-player $got, not $version" >&2; exit 1; }

mkdir -p "$dest"
cp "$tmp/package/dist/shaka-player.dash-es2021.js" "$dest/shaka-player.dash-es2021.js"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
printf '%s\n' "$version" > "$dest/VERSION"
echo "shaka-player $version: $(npm view "shaka-player@$version" dist.integrity)"
echo "shaka-player.dash-es2021.js: $(wc -c < "$dest/shaka-player.dash-es2021.js") bytes, sha384-$(openssl dgst -sha384 -binary "$dest/shaka-player.dash-es2021.js" | base64 -w0)"
