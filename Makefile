GO        ?= go
PKGS      := ./...
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null)
# alertbridge --version prints these, as every Prometheus binary does.
PROMVER   := github.com/prometheus/common/version
LDFLAGS   := -s -w -X main.version=$(VERSION) -X $(PROMVER).Revision=$(REVISION) -X $(PROMVER).Branch=$(BRANCH)
FUZZTIME  ?= 10s
GOLANGCI  := github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0

.PHONY: build test test-postgres test-e2e test-overload lint fmt-check vet fuzz bench ci run order-soak screenshots

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/alertbridge ./cmd/alertbridge

# The whole suite, end-to-end tests included (they skip, saying why, when the
# Alertmanager/Prometheus binaries are missing; CI sets ALERTBRIDGE_REQUIRE_E2E=1).
test:
	$(GO) test -race -count=1 -timeout 25m $(PKGS)

# The pipeline and API suites again on PostgreSQL (127.0.0.1:5432, or
# ALERTBRIDGE_TEST_POSTGRES_DSN); the store contract and the HA test run on it
# in every `make test` already (they skip without a server unless
# ALERTBRIDGE_REQUIRE_PG=1). Without -race: `make test` runs the same code
# under the race detector on SQLite and the PostgreSQL store's own tests
# under it, and this run is about outcomes on the other backend.
test-postgres:
	ALERTBRIDGE_TEST_STORE=postgres $(GO) test -count=1 -timeout 25m ./pipeline ./api

test-e2e:
	$(GO) test -race -count=1 -v ./e2e/...

# Twice the load the daemon can commit, against the real handler, pipeline
# and SQLite: the p99 of answered requests must stay within the wait budget.
# It measures the machine, so it is not part of test or ci: run it on a
# machine with nothing else to do (docs/operations.md, "Overload").
test-overload:
	ALERTBRIDGE_OVERLOAD_TEST=1 $(GO) test -count=1 -v -run '^TestOverloadLatencyWithinBudget$$' ./app

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

lint: vet fmt-check
	$(GO) run $(GOLANGCI) run ./...

# A short run of every fuzz target: finds no panic, or fails.
fuzz:
	@set -e; for t in ingest:FuzzDecodeAlertmanager ingest:FuzzDecodeGrafana ingest:FuzzDecodePagerDuty \
	    ingest:FuzzDecodeEvents ingest:FuzzDecodeChanges ingest:FuzzDecodeHeartbeat ingest:FuzzCheckDepth ingest:FuzzCheckUTF8 ingest:FuzzGzipBody \
	    rules:FuzzParse config:FuzzParse api:FuzzDecodeBody \
	    internal/yamlfile:FuzzDecode sink/email:FuzzEncodeHeader sink/slack:FuzzCallback sink/jira:FuzzJiraWebhook sink/servicenow:FuzzServiceNowCallback sink/pagerduty:FuzzCallback sink/opsgenie:FuzzCallback; do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$fn ($$pkg, $(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 200x ./$$pkg; \
	done

# The delivery-order property test over many more generated scenarios than
# the suite runs (docs/records.md).
ORDER_SEEDS ?= 2000
order-soak:
	$(GO) test -count=1 -run 'TestEveryOrderSameRecords' -timeout 60m ./pipeline -order.seeds=$(ORDER_SEEDS)

# The web UI's screenshots in docs/images, rendered by headless Chromium over
# a small, realistic data set (docs/ui.md).
screenshots:
	ALERTBRIDGE_SCREENSHOTS_DIR=$(CURDIR)/docs/images $(GO) test -count=1 -run '^TestScreenshots$$' -v ./e2e

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

run:
	$(GO) run ./cmd/alertbridge serve

ci: lint test test-postgres fuzz build
