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

test: test-deps lint ## gofmt and vet, then every test (unit, e2e against real components) with -race.
	$(GO) test -race -count=1 -timeout 40m ./...

e2e: test-deps ## Only the end-to-end tests (real Prometheus and friends).
	$(GO) test -race -count=1 -timeout 40m -run 'E2E' ./...

bench: test-deps build ## Go benchmarks, then whole-process runs against real receivers.
	$(GO) test -run '^$$' -bench . -skip '^BenchmarkWireFormat$$' -benchmem ./...
	# Remote-write 1.0 against 2.0: bytes/sample on the wire and encode
	# ns/sample at 100, 10,000 and 1,000,000 series.
	$(GO) test -run '^$$' -bench '^BenchmarkWireFormat$$' -benchmem ./internal/push/remotewrite/
	PROMTOOL=$$(hack/build-promtool.sh) hack/bench-push.sh ./$(BIN)
	# Whole-process Kubernetes scaling (1k vs 10k Deployments); its in-process
	# BenchmarkCollect already ran above, so only the measurement test here.
	LIFTPUSH_KUBE_MEASURE=1 $(GO) test -count=1 -timeout 30m -v -run '^TestMeasureScaling$$' ./internal/collect/kubernetes/ | grep -E 'Deployments|ratio|^(ok|FAIL|---)'

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
