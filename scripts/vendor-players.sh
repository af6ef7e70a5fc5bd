#!/usr/bin/env bash
# vendor-players.sh
#
# Vendors the third-party players the e2e tests run on another origin
# (e2e/players_test.go) into e2e/testdata/players/, each from the npm
# registry at the version pinned below, unmodified, with its licence:
#
#   shaka-player                     dist/shaka-player.compiled.js (HLS and DASH)
#   dashjs                           dist/modern/umd/dash.mediaplayer.min.js
#   video.js                         dist/video.min.js (with VHS, its HLS and DASH engine)
#   @api.video/private-video-session dist/index.js (the UMD build: window.PrivateVideoSession)
#
# hls.js is not here: the tests load the copy the player page ships
# (player/hls.js/, scripts/vendor-hlsjs.sh). To move a player on, change
# its version here, run this script, then the e2e tests:
#   go test -run TestPlayersOnAnotherOrigin ./e2e
# npm checks each tarball against the registry's integrity; VERSIONS records
# it, and the SHA-256 of each file as vendored.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=e2e/testdata/players
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# name version file-in-package vendored-as licence-file
players=(
  "shaka-player 5.2.12 dist/shaka-player.compiled.js shaka/shaka-player.compiled.js LICENSE"
  "dashjs 5.2.1 dist/modern/umd/dash.mediaplayer.min.js dashjs/dash.mediaplayer.min.js LICENSE.md"
  "video.js 8.24.1 dist/video.min.js videojs/video.min.js LICENSE"
  "@api.video/private-video-session 0.1.0 dist/index.js apivideo/private-video-session.js LICENSE"
)

versions="$dest/VERSIONS"
mkdir -p "$dest"
printf '# package version npm-integrity file sha256 (scripts/vendor-players.sh)\n' > "$versions.new"
for p in "${players[@]}"; do
  read -r name version file as licence <<<"$p"
  dir=$tmp/$(echo "$name" | tr '/@' '__')
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$name@$version" >/dev/null && tar xzf ./*.tgz)
  got=$(node -p "require('$dir/package/package.json').version")
  [ "$got" = "$version" ] || { echo "npm gave $name $got, not $version" >&2; exit 1; }
  mkdir -p "$dest/$(dirname "$as")"
  cp "$dir/package/$file" "$dest/$as"
  cp "$dir/package/$licence" "$dest/$(dirname "$as")/LICENSE"
  # A bundle's notices for what it bundles, where the package has them.
  if [ -f "$dir/package/$file.LICENSE.txt" ]; then cp "$dir/package/$file.LICENSE.txt" "$dest/$as.LICENSE.txt"; fi
  integrity=$(npm view "$name@$version" dist.integrity)
  sum=$(sha256sum "$dest/$as" | cut -d' ' -f1)
  printf '%s %s %s %s %s\n' "$name" "$version" "$integrity" "$as" "$sum" >> "$versions.new"
  echo "$name $version: $as, $(wc -c < "$dest/$as") bytes"
done
mv "$versions.new" "$versions"
