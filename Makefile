# liftpush — make help lists the targets.
GO        ?= go
BIN       ?= liftpush
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
VPKG      := github.com/prometheus/common/version
LDFLAGS   := -s -w -X $(VPKG).Version=$(VERSION) -X $(VPKG).Revision=$(REVISION) \
             -X $(VPKG).Branch=$(BRANCH) -X $(VPKG).BuildUser=liftpush \
             -X $(VPKG).BuildDate=$(shell date -u +%Y%m%d-%H:%M:%S)

.PHONY: help build test test-deps e2e bench lint lint-chart demo docker clean

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## Build ./liftpush with the version injected.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/liftpush

test-deps: ## Install what the tests need (Debian packages, test binaries).
	hack/test-deps.sh

test: test-deps lint ## gofmt and vet, every test (unit, e2e against real components) with -race, then a 1x smoke of the Go benchmarks.
	$(GO) test -race -count=1 -timeout 40m ./...
	# Every Go benchmark once, so they keep compiling and running (about a
	# minute). BenchmarkCollect (kubernetes) is left out: it starts a
	# kube-apiserver and creates 11,000 objects; make bench measures it.
	$(GO) test -count=1 -timeout 10m -run '^$$' -bench . -benchtime=1x -skip '^BenchmarkCollect$$' ./...

e2e: test-deps ## Only the end-to-end tests (real Prometheus and friends).
	$(GO) test -race -count=1 -timeout 40m -run 'E2E' ./...

bench: test-deps build ## P1a-P4 of DESIGN.md section 8 side by side: one table, also in bench/results/latest.md (BENCH_RUNS=5).
	hack/bench.sh ./$(BIN)

lint: ## gofmt and go vet.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-ed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

lint-chart: test-deps ## helm lint --strict, render every ci/*-values.yaml, validate against a real apiserver.
	$(GO) test -count=1 ./charts/...

demo: build ## Start a local Prometheus, push to it once, show the result, stop.
	hack/demo.sh ./$(BIN)

docker: ## Build the container image (needs a Docker engine).
	docker build -t liftpush:$(VERSION) --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) .

clean:
	rm -f $(BIN)
