#!/usr/bin/env bash
# Cross-platform check: every package of both modules (the root module and
# deploy/validate) builds for darwin, windows and freebsd, and go vet (which
# also compiles the tests) passes for darwin and windows. Linux is covered by
# the ordinary vet and test targets. The pooled writer and the load
# generator's engine are Linux-only behind build tags (gateway/pool_linux.go,
# internal/loadgen/*_linux.go); this keeps everything else portable.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
export CGO_ENABLED=0
# vet first: it compiles every package (tests too) for that system, so the
# builds after it reuse the cache instead of compiling everything again.
for goos in darwin windows; do
	echo "cross: GOOS=$goos go vet"
	GOOS=$goos GOARCH=amd64 "$GO" vet ./...
	(cd deploy/validate && GOOS=$goos GOARCH=amd64 "$GO" vet ./...)
done
for goos in darwin windows freebsd; do
	echo "cross: GOOS=$goos go build"
	GOOS=$goos GOARCH=amd64 "$GO" build ./...
	(cd deploy/validate && GOOS=$goos GOARCH=amd64 "$GO" build ./...)
done
