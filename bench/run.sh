#!/usr/bin/env bash
# bench/run.sh: the one command behind BENCHMARKS.md. It runs every benchmark
# (about 25 minutes on 2 cores), keeps the raw output in bench/results/ and
# prints the tables. Run it on a quiet machine: nothing else should be busy.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$(go env GOPATH)/bin"
out=bench/results
mkdir -p "$out"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
# nginx (Debian's nginx-core) for the side-by-side run: auth_request and secure_link.
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { apt-get update -qq && apt-get install -y -qq nginx-core >/dev/null; }
command -v benchstat >/dev/null || go install golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "go: $(go version)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
  echo "commit: $(git rev-parse --short HEAD)"
} > "$out/machine.txt"

go test -run '^$' -bench 'Compare' -benchmem -count 10 ./bench | tee "$out/compare.txt"
go test -run '^$' -bench 'Scale' -benchmem -count 5 -timeout 60m ./bench | tee "$out/scale.txt"
go test -run '^$' -bench 'Memory' -count 5 -timeout 30m ./store | tee "$out/memory.txt"
go test -run '^$' -bench 'PlaylistRewrite|SessionEncoding|Rewrite' -benchmem -count 5 . ./internal/hls ./internal/dash | tee "$out/micro.txt"
go run ./bench/cmd/loadtest -rounds 12 -duration 3s | tee "$out/loadtest.txt"
edge_dir=$(mktemp -d)
trap 'rm -rf "$edge_dir"' EXIT
go build -o "$edge_dir/edge" ./example
# Caddy with the privatevideo module, built as xcaddy would, from this tree.
bench/caddy-build.sh "$edge_dir/caddy"
go run ./bench/cmd/sidebyside -edge "$edge_dir/edge" -caddy "$edge_dir/caddy" -rounds 8 -duration 3s | tee "$out/sidebyside.txt"

{
  cat "$out/machine.txt"; echo
  go run ./bench/cmd/report < "$out/compare.txt"
  go run ./bench/cmd/report < "$out/scale.txt"
  go run ./bench/cmd/report < "$out/memory.txt"
  go run ./bench/cmd/report < "$out/micro.txt"
  cat "$out/loadtest.txt"; echo
  cat "$out/sidebyside.txt"; echo
  echo '```'; benchstat "$out/compare.txt"; echo '```'
} | tee "$out/tables.md"
