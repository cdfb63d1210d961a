# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/api
# golangci-lint is built once into a project-local directory named after its version.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := .tools/golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint
# helm is built the same way; bootstrap/helm_test.go reads HELM_VERSION here to find it.
HELM_VERSION := v4.3.2
HELM := .tools/helm-$(HELM_VERSION)/helm
# What api version, the startup log, /health/live and the OpenAPI document
# say; override on the command line (make build VERSION=v1.2.3).
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT     ?= $(shell git rev-parse HEAD 2>/dev/null)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
VERSION_PKG := github.com/scoped-api/foundation/bootstrap
# nomsgpack drops gin's MessagePack codec (about 9 MB), which no route uses.
BUILD_TAGS := nomsgpack
LDFLAGS    := -X $(VERSION_PKG).version=$(VERSION) -X $(VERSION_PKG).commit=$(COMMIT) -X $(VERSION_PKG).buildDate=$(BUILD_DATE)

SWAGGER_UI_VERSION := 5.35.0
SWAGGER_UI_DIR := adapters/http/docs/assets/swagger-ui

.PHONY: static image-rootfs swagger-ui run build test test-short cover lint fmt vet bench bench-instructions migrate clean help context browser pgbouncer openapi openapi-tools redis-tools helm-tools helm-lint observatory

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

run: build ## build and start the API on the embedded default (SQLite, no services needed)
	./$(BIN) serve

build: ## build bin/api
	@test -x $(BIN) || echo "building $(BIN): the first build downloads and compiles the modules and can take a few minutes"
	$(GO) build -trimpath -tags $(BUILD_TAGS) -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/api

# The container's binary: static (no cgo), stripped, stamped; the
# Dockerfile runs this target, so the image and make image-rootfs hold the
# same build.
STATIC_BIN ?= bin/api-static
static: ## build the static binary the container image holds (STATIC_BIN, default bin/api-static)
	CGO_ENABLED=0 $(GO) build -trimpath -tags $(BUILD_TAGS) -ldflags "-s -w $(LDFLAGS)" -o $(STATIC_BIN) ./cmd/api

# Images cannot be pulled everywhere: this lays out what the image holds
# (the static binary, the CA bundle, a non-root user, /data) in a directory
# that can be run with chroot (test/e2e/image_test.go does).
ROOTFS ?= var/rootfs
image-rootfs: ## lay out the container image's files in ROOTFS (default var/rootfs) without Docker
	rm -rf $(ROOTFS) && mkdir -p $(ROOTFS)/etc/ssl/certs $(ROOTFS)/data $(ROOTFS)/tmp
	$(MAKE) --no-print-directory static STATIC_BIN=$(abspath $(ROOTFS))/api
	cp /etc/ssl/certs/ca-certificates.crt $(ROOTFS)/etc/ssl/certs/
	printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > $(ROOTFS)/etc/passwd
	printf 'root:x:0:\nnonroot:x:65532:\n' > $(ROOTFS)/etc/group
	chmod 1777 $(ROOTFS)/tmp && chown 65532:65532 $(ROOTFS)/data 2>/dev/null || true

test: vet browser pgbouncer redis-tools openapi-tools helm-tools ## the whole suite against real PostgreSQL and Redis, with module-wide coverage
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) test -tags $(BUILD_TAGS) -count=1 -race -timeout 20m -coverpkg=./... -coverprofile=coverage.out ./...
	@$(GO) tool cover -func=coverage.out | tail -n 1 | awk '{print "statement coverage of the whole module: " $$NF}'

# A fresh machine of this kind has no browser; Debian's Chromium is what the
# browser EventSource test drives.
browser: ## install Chromium (Debian package) for the browser test when it is missing
	@command -v chromium >/dev/null || { \
	  echo "installing Chromium for the browser EventSource test (apt-get install chromium)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# The OpenAPI linters the document must satisfy with no error and no
# warning (test/e2e/openapi_document_test.go), and the TypeScript client
# generator and compiler (test/e2e/clients_test.go), pinned and kept in a
# folder git ignores.
OPENAPI_TOOLS := .tools/openapi-lint
OPENAPI_NPM := @redocly/cli@2.77.0 @stoplight/spectral-cli@6.16.3 openapi-typescript@7.13.0 openapi-fetch@0.17.0 typescript@5.9.3 @types/node@20.19.43
OPENAPI_TOOLS_STAMP := $(OPENAPI_TOOLS)/.installed-$(shell echo '$(OPENAPI_NPM)' | cksum | cut -d' ' -f1)

openapi-tools: $(OPENAPI_TOOLS_STAMP) ## install the pinned OpenAPI linters and TypeScript client tools (npm)

$(OPENAPI_TOOLS_STAMP):
	@echo "installing the OpenAPI linters and client tools into $(OPENAPI_TOOLS) (npm)"
	mkdir -p $(OPENAPI_TOOLS)
	cd $(OPENAPI_TOOLS) && echo '{"private": true}' > package.json && \
	  npm install --no-audit --no-fund --loglevel=error --save-exact $(OPENAPI_NPM)
	touch $@

openapi: ## write api/openapi.json, the document the server serves (a test fails when they differ)
	env -i PATH="$$PATH" HOME="$$HOME" $(GO) run -ldflags "-X $(VERSION_PKG).version=dev" ./cmd/api openapi > api/openapi.json.tmp && mv api/openapi.json.tmp api/openapi.json

# /docs embeds only the Swagger UI files its page loads; their source is npm's
# swagger-ui-dist (maintained by the Swagger UI project), pinned above.
swagger-ui: ## refresh the embedded Swagger UI files from npm's swagger-ui-dist at SWAGGER_UI_VERSION
	@d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
	(cd "$$d" && npm pack --silent swagger-ui-dist@$(SWAGGER_UI_VERSION) >/dev/null && tar xzf swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz) && \
	for f in swagger-ui.css swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt favicon-32x32.png LICENSE NOTICE; do \
	  cp "$$d/package/$$f" $(SWAGGER_UI_DIR)/ || exit 1; done && \
	echo $(SWAGGER_UI_VERSION) > $(SWAGGER_UI_DIR)/VERSION && echo "$(SWAGGER_UI_DIR): swagger-ui-dist $(SWAGGER_UI_VERSION)"

# The PgBouncer end-to-end test (test/e2e/pgbouncer_test.go) starts Debian's
# pgbouncer itself on a free port; the package's own service is not used.
pgbouncer: ## install PgBouncer (Debian package) for the pooler test when it is missing
	@test -x /usr/sbin/pgbouncer || command -v pgbouncer >/dev/null || { \
	  echo "installing PgBouncer for the pooler test (apt-get install pgbouncer)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq pgbouncer; }

# The Sentinel test runs redis-server FILE --sentinel (Debian's redis-sentinel
# is the same binary), so the redis-sentinel package, whose install starts a
# system sentinel on 26379, is not needed.
redis-tools: ## install redis-cli (Debian redis-tools) for the Redis Cluster test when it is missing
	@command -v redis-cli >/dev/null || { \
	  echo "installing redis-cli for the Redis Cluster test (apt-get install redis-tools)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-tools; }

test-short: ## unit tests only (no services)
	$(GO) test -count=1 ./domain/... ./application/... ./adapters/...

lint: $(GOLANGCI_LINT) ## golangci-lint with .golangci.yml (the first run builds the pinned version, ~3 min)
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	GOBIN=$(CURDIR)/$(dir $(GOLANGCI_LINT)) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

# The Helm chart (deploy/helm/api): linted and rendered with the pinned helm,
# built once into .tools like golangci-lint; bootstrap/helm_test.go runs it too.
HELM_LINT_VALUES := --set existingSecret=api-secrets
helm-tools: $(HELM) ## build the pinned helm into .tools (the first run takes a few minutes)

$(HELM):
	GOBIN=$(CURDIR)/$(dir $(HELM)) $(GO) install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)

helm-lint: $(HELM) ## helm lint and helm template of deploy/helm/api (defaults, then with autoscaling and the ServiceMonitor)
	$(HELM) lint --strict deploy/helm/api $(HELM_LINT_VALUES)
	$(HELM) lint --strict deploy/helm/api $(HELM_LINT_VALUES) --set autoscaling.enabled=true --set serviceMonitor.enabled=true
	$(HELM) template api deploy/helm/api $(HELM_LINT_VALUES) >/dev/null
	$(HELM) template api deploy/helm/api $(HELM_LINT_VALUES) --set autoscaling.enabled=true --set serviceMonitor.enabled=true >/dev/null

observatory: build ## grade the HTTPS listener with Mozilla's HTTP Observatory, offline (root: it serves on 443 and 80; test/observatory/README.md)
	test/observatory/run.sh $(BIN)

vet: ## go vet
	$(GO) vet ./...

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

context: ## add a bounded context across every layer: make context NAME=note (docs/adding-a-bounded-context.md)
	$(GO) run ./cmd/newcontext -name "$(NAME)"

bench: ## instruction counts per route against their budgets (test/bench/budgets), then the noisy wall-clock figures
	$(GO) run ./test/bench

bench-instructions: ## only the instruction counts (callgrind; about 3 minutes); AGAINST=<git revision or checkout> also counts that build in the same run
	$(GO) run ./test/bench -only instructions $(if $(AGAINST),-against $(AGAINST))

migrate: build ## apply migrations to DATABASE_URL
	./$(BIN) migrate up

clean: ## remove build output and the embedded database
	rm -rf bin var coverage.out
