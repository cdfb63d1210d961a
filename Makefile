# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/api
# golangci-lint is built once into a project-local directory named after its version.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := .tools/golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint

.PHONY: run build test test-short cover lint fmt vet bench bench-instructions migrate clean help context browser redis-tools

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

run: build ## build and start the API on the embedded default (SQLite, no services needed)
	./$(BIN) serve

build: ## build bin/api
	$(GO) build -o $(BIN) ./cmd/api

test: vet browser redis-tools ## the whole suite against real PostgreSQL and Redis, with module-wide coverage
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) test -count=1 -race -timeout 20m -coverpkg=./... -coverprofile=coverage.out ./...
	@$(GO) tool cover -func=coverage.out | tail -n 1 | awk '{print "statement coverage of the whole module: " $$NF}'

# A fresh machine of this kind has no browser; Debian's Chromium is what the
# browser EventSource test drives.
browser: ## install Chromium (Debian package) for the browser test when it is missing
	@command -v chromium >/dev/null || { \
	  echo "installing Chromium for the browser EventSource test (apt-get install chromium)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

redis-tools: ## install redis-cli (Debian redis-tools) for the Redis Cluster test when it is missing
	@command -v redis-cli >/dev/null || { \
	  echo "installing redis-cli for the Redis Cluster test (apt-get install redis-tools)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-tools; }
# The Sentinel test runs redis-server FILE --sentinel (Debian's redis-sentinel
# is the same binary), so the redis-sentinel package, whose install starts a
# system sentinel on 26379, is not needed.

test-short: ## unit tests only (no services)
	$(GO) test -count=1 ./domain/... ./application/... ./adapters/...

lint: $(GOLANGCI_LINT) ## golangci-lint with .golangci.yml (the first run builds the pinned version, ~3 min)
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	GOBIN=$(CURDIR)/$(dir $(GOLANGCI_LINT)) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

vet: ## go vet
	$(GO) vet ./...

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

context: ## add a bounded context across every layer: make context NAME=note (docs/adding-a-bounded-context.md)
	$(GO) run ./cmd/newcontext -name "$(NAME)"

bench: ## instruction counts per route against their budgets (test/bench/budgets), then the noisy wall-clock figures
	$(GO) run ./test/bench

bench-instructions: ## only the instruction counts (callgrind; about 3 minutes)
	$(GO) run ./test/bench -only instructions

migrate: build ## apply migrations to DATABASE_URL
	./$(BIN) migrate up

clean: ## remove build output and the embedded database
	rm -rf bin var coverage.out
