# ssegate — see README.md. Every target works from a fresh clone.
GO        ?= go
PKGS      := ./...
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# Every test that needs a real server fails (never skips) when it is missing.
export REQUIRE_REDIS=1
export REQUIRE_SENTINEL=1
export REQUIRE_NGINX=1
export REQUIRE_PROMETHEUS=1
export REQUIRE_BROWSER=1
export REQUIRE_NODE=1
export REQUIRE_PYTHON=1
FUZZTIME  ?= 10s

SHELL     := /bin/bash
.PHONY: run build test test-go fuzz lint fmt vet staticcheck cross golangci deploy-check bench bench-storm bench-state deps

## run: the gateway with the embedded broker on :8080 (demo page at http://localhost:8080/)
run:
	$(GO) run ./cmd/gateway

## build: the four binaries into ./bin
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ ./cmd/gateway ./cmd/publisher ./cmd/ssebench ./cmd/ssegatectl

## deps: install the servers the tests run for real (Debian packages)
deps:
	./scripts/test-deps.sh

## test: the whole suite: unit, integration (real Redis, nginx, Prometheus, Chromium), deploy checks, fuzz smoke
test: deps test-go deploy-check fuzz

test-go:
	@mkdir -p out
	set -o pipefail; $(GO) test -race -count=1 -timeout 12m $(PKGS) 2>&1 | tee out/test-go.log

## fuzz: run every fuzz target for FUZZTIME (seed corpora are also run by test-go)
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

## lint: gofmt, go vet, staticcheck (pinned in go.mod as a tool) and golangci-lint (pinned in tools/go.mod)
lint: fmt vet staticcheck golangci

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)
	cd deploy/validate && $(GO) vet ./...

staticcheck:
	$(GO) tool staticcheck $(PKGS)

## cross: every package builds for darwin, windows and freebsd; go vet (tests too) for darwin and windows
cross:
	GO=$(GO) ./scripts/cross.sh

## golangci: golangci-lint (pinned in tools/go.mod; config and its reasons in .golangci.yml)
golangci:
	$(GO) tool -modfile=tools/go.mod golangci-lint run $(PKGS)

## deploy-check: compose, nginx, Prometheus rules and Kubernetes manifests, offline
deploy-check:
	bash deploy/check.sh

## bench: Go benchmarks and small ssebench runs (see docs/benchmarks.md)
bench:
	./scripts/bench.sh

## bench-storm: reconnect storm, kill -9 gateway A, STORM_CONNS clients resume on B (quick: STORM_CONNS=1000)
STORM_CONNS  ?= 10000
STORM_TOPICS ?= 10
STORM_RATE   ?= 100
bench-storm:
	./scripts/bench-storm.sh $(STORM_CONNS) $(STORM_TOPICS) $(STORM_RATE)

## bench-state: initial state at 1,000 clients × 5,000 keys, and the publish path with/without a key (docs/benchmarks.md)
bench-state:
	./scripts/bench-state.sh
