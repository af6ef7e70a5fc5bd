#!/usr/bin/env bash
# vendor-hlsjs.sh VERSION
#
# Vendors hls.js VERSION from the npm registry into player/hls.js/: the
# minified full build (dist/hls.min.js, unmodified), its LICENSE, and VERSION.
# The full build, not hls.light: the light build has no alternate audio
# renditions (EXT-X-MEDIA TYPE=AUDIO), and the fixture's audio is one.
# npm checks the tarball against the registry's integrity; the script prints
# it for the commit message. Then run `go test -run TestPlayerPage .`, which
# checks the files agree, and the e2e tests.
set -euo pipefail
version=${1:?usage: vendor-hlsjs.sh VERSION (e.g. 1.7.4)}
cd "$(dirname "$0")/.."
dest=player/hls.js
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "hls.js@$version" >/dev/null && tar xzf "hls.js-$version.tgz")
got=$(node -p "require('$tmp/package/package.json').version")
[ "$got" = "$version" ] || { echo "npm gave hls.js $got, not $version" >&2; exit 1; }

mkdir -p "$dest"
cp "$tmp/package/dist/hls.min.js" "$dest/hls.min.js"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
printf '%s\n' "$version" > "$dest/VERSION"
echo "hls.js $version: $(npm view "hls.js@$version" dist.integrity)"
echo "hls.min.js: $(wc -c < "$dest/hls.min.js") bytes, sha384-$(openssl dgst -sha384 -binary "$dest/hls.min.js" | base64 -w0)"
