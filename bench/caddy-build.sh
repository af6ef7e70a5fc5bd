#!/usr/bin/env bash
# bench/caddy-build.sh OUT: builds Caddy with the standard modules and
# privatevideo's caddy module from this working tree (what
# `xcaddy build --with github.com/privatevideo/privatevideo/caddy` does with
# a replace), into OUT. Needs the Go module proxy for Caddy's dependencies
# that are not in the module cache.
set -euo pipefail
out=$1
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/main.go" <<'GO'
// Command caddy is Caddy with the standard modules and privatevideo's.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/privatevideo/privatevideo/caddy"
)

func main() { caddycmd.Main() }
GO
caddy_version=$(cd "$root/caddy" && go list -m -f '{{.Version}}' github.com/caddyserver/caddy/v2)
cat > "$dir/go.mod" <<MOD
module caddybuild

go 1.26.8

require (
	github.com/caddyserver/caddy/v2 $caddy_version
	github.com/privatevideo/privatevideo/caddy v0.0.0-00010101000000-000000000000
)

replace (
	github.com/privatevideo/privatevideo => $root
	github.com/privatevideo/privatevideo/caddy => $root/caddy
	github.com/privatevideo/privatevideo/edge => $root/edge
	github.com/privatevideo/privatevideo/store/pgstore => $root/store/pgstore
	github.com/privatevideo/privatevideo/store/redisstore => $root/store/redisstore
)
MOD
cp "$root/caddy/go.sum" "$dir/go.sum"
(cd "$dir" && GOWORK=off GOFLAGS=-mod=mod go build -o "$out" .)
