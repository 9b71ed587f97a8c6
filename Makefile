GO        ?= go
PKGS      := ./...
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null)
# alertbridge --version prints these, as every Prometheus binary does.
PROMVER   := github.com/prometheus/common/version
LDFLAGS   := -s -w -X main.version=$(VERSION) -X $(PROMVER).Revision=$(REVISION) -X $(PROMVER).Branch=$(BRANCH)
# Fuzz budgets are execution counts, not durations: with a duration, Go
# 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" at the deadline (golang/go#75804, fixed in 1.27), as it did
# in CI on FuzzGzipBody with no crasher.
FUZZTIME  ?= 20000x
GOLANGCI  := github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0

.PHONY: test-colliding-keys compare bench-stored bench-ci crash-test crash-test-short soak soak-short build test test-postgres test-e2e test-overload lint fmt-check vet fuzz bench ci run order-soak test-order screenshots compare-bound

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
# under it, and this run is about outcomes on the other backend, the
# delivery-order property (pipeline/order_test.go) included.
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
	@# The measuring build's patch (make compare-bound) still applies.
	git apply --check scripts/bound.patch

# A short run of every fuzz target: finds no panic, or fails.
fuzz:
	@set -e; for t in ingest:FuzzDecodeAlertmanager ingest:FuzzDecodeGrafana ingest:FuzzDecodePagerDuty \
	    ingest:FuzzDecodeEvents ingest:FuzzDecodeChanges ingest:FuzzDecodeHeartbeat ingest:FuzzCheckDepth ingest:FuzzCheckUTF8 ingest:FuzzGzipBody \
	    rules:FuzzParse config:FuzzParse api:FuzzDecodeBody \
	    internal/yamlfile:FuzzDecode sink/email:FuzzEncodeHeader sink/slack:FuzzCallback sink/jira:FuzzJiraWebhook sink/servicenow:FuzzServiceNowCallback sink/pagerduty:FuzzCallback sink/opsgenie:FuzzCallback store/internal/labeljson:FuzzString; do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$fn ($$pkg, $(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 200x ./$$pkg; \
	done

# The SQLite store's tests with every alert state's key under one hash
# (store/sqlite/statekeys.go): each lookup's candidates are then all the
# states, and only the key may pick the right one.
test-colliding-keys:
	ALERTBRIDGE_TEST_COLLIDING_KEYS=1 $(GO) test -count=1 ./store/sqlite

# The delivery-order property test on SQLite with all its default scenarios:
# under -race (make test) it runs a third of them, since the race detector
# makes it the longest test of CI.
test-order:
	$(GO) test -count=1 -run 'TestEveryOrderSameRecords' ./pipeline

# The delivery-order property test over many more generated scenarios than
# the suite runs (docs/records.md); on PostgreSQL with
# ALERTBRIDGE_TEST_STORE=postgres (a schema per replay: about 2.5 s a seed).
ORDER_SEEDS ?= 2000
order-soak:
	$(GO) test -count=1 -run 'TestEveryOrderSameRecords' -timeout 60m ./pipeline -order.seeds=$(ORDER_SEEDS)

# The web UI's screenshots in docs/images, rendered by headless Chromium over
# a small, realistic data set (docs/ui.md).
screenshots:
	ALERTBRIDGE_SCREENSHOTS_DIR=$(CURDIR)/docs/images $(GO) test -count=1 -run '^TestScreenshots$$' -v ./e2e

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# The ingest path's benchmarks (decoder, dedupe, correlate, store writes, the
# pipeline), briefly: CI proves they still run, and their output is what
# benchstat compares. No figure is asserted. -short skips the read
# benchmarks that seed a 1M-alert store.
BENCH_PKGS := ./ingest ./dedupe ./correlate ./store/sqlite ./pipeline ./app
bench-ci:
	$(GO) test -short -run '^$$' -bench . -benchtime 100x -benchmem $(BENCH_PKGS)

# alertbridge against Debian's prometheus-alertmanager on this machine, the
# same alerts to both, alternating (docs/performance.md). PAIRS and DURATION
# tune it.
compare: build
	sh scripts/compare.sh bin/alertbridge

# An upper bound of what leaving a new alert's rows out could gain: a
# measuring build (scripts/bound.patch, never shipped) that drops the rows
# of the tables in SKIP, against Alertmanager (docs/performance.md,
# "Nineteenth pass").
compare-bound:
	sh scripts/bound.sh

# Ingest on an empty store against a seeded one (SEEDED=path/alertbridge.db;
# scripts/stored.sh says how to seed it).
bench-stored: build
	sh scripts/stored.sh bin/alertbridge

# SIGKILL the real daemon at random moments under concurrent webhooks,
# restart it, CRASH_ROUNDS times; then check that no acknowledged alert is
# lost, no key has two active incidents, every notifying change has its
# outbox row and PRAGMA integrity_check is ok (e2e/crash_test.go). The short
# variant is in ci; make test kills once, under the race detector.
CRASH_ROUNDS ?= 20
crash-test:
	$(GO) test -count=1 -v -timeout 60m -run '^TestCrashLosesNothing$$' ./e2e -crash.rounds=$(CRASH_ROUNDS)
crash-test-short:
	$(GO) test -count=1 -timeout 10m -run '^TestCrashLosesNothing$$' ./e2e -crash.rounds=3

# Sustained churn against the real daemon (SOAK_GROUPS groups of 10 alerts:
# 100k by default), reporting heap and RSS per firing alert and the database's size over time (e2e/soak_test.go).
SOAK_DURATION ?= 30m
SOAK_GROUPS ?= 10000
soak:
	$(GO) test -count=1 -v -timeout 0 -run '^TestSoak$$' ./e2e -soak.duration=$(SOAK_DURATION) -soak.groups=$(SOAK_GROUPS)
soak-short:
	$(GO) test -count=1 -v -timeout 10m -run '^TestSoak$$' ./e2e -soak.duration=30s -soak.groups=400

run:
	$(GO) run ./cmd/alertbridge serve

ci: lint test test-colliding-keys test-order test-postgres fuzz bench-ci crash-test-short soak-short build
