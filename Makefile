# Vitrine: the commands a developer and CI run.
GO ?= go
# deploy/cmd/cluster, which runs the local cluster (see the cluster-* targets)
CLUSTER_CMD := bin/cluster

.PHONY: test check vet fmt-check staticcheck shellcheck browser browser-test build run fuzz api-lint obs-test deploy-test screenshots s3-server

## test: the loop a developer runs after a change, a few minutes once the
## caches are warm: formatting, vet, staticcheck, shellcheck, then the Go
## tests with the race detector: unit tests, integration tests against the
## local PostgreSQL, Redis and NATS (and an S3-compatible server the tests
## start, built once by s3-server, and a Varnish, installed by varnish),
## component tests through run()
test: fmt-check vet staticcheck shellcheck s3-server varnish
	$(GO) test -race -count=1 -timeout 20m ./...

## check: everything, what CI runs: test, then the OpenAPI document's lint,
## the console in a browser, the Prometheus rules and Grafana queries, the
## deployment files, and the cluster with its faults under load
check: jaeger-early test api-lint browser-test obs-test deploy-test cluster-test

## jaeger-early: start building Jaeger for cluster-test now, in the background at the
## lowest priority, so that the build takes the cores the Go tests leave idle
## (once per machine; cluster-test waits for it). Its log: $TMPDIR/vitrine-jaeger-build.log
.PHONY: jaeger-early
jaeger-early: $(CLUSTER_CMD)
	@$(CLUSTER_CMD) build-jaeger >"$${TMPDIR:-/tmp}/vitrine-jaeger-build.log" 2>&1 &

## varnish: Varnish and varnish-modules (xkey), for the edge cache's test
## (Debian's packages, installed when missing)
.PHONY: varnish
varnish:
	@command -v varnishd >/dev/null && ls /usr/lib/*/varnish/vmods/libvmod_xkey.so >/dev/null 2>&1 || \
		{ apt-get update && apt-get install -y varnish varnish-modules; }

## browser: Chromium for the console's end-to-end test (Debian's package,
## installed when missing)
browser:
	@command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }

## browser-test: the console as people use it, in headless Chromium
browser-test: browser
	VITRINE_BROWSER_TEST=1 $(GO) test -race -count=1 -run TestConsoleInTheBrowser ./cmd/vitrine

## screenshots: the console's main pages, as the browser test sees them, into docs/screenshots
screenshots: browser
	mkdir -p docs/screenshots
	VITRINE_BROWSER_TEST=1 VITRINE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run TestConsoleInTheBrowser ./cmd/vitrine

## s3-server: build the S3-compatible server (Versity's S3 gateway) that the
## picture store's tests start, into ~/.cache/vitrine/bin; about 4.5 minutes
## on a fresh machine, nothing when it is built
s3-server:
	deploy/local/install-s3.sh

## staticcheck: the version go.mod pins as a tool (go tool staticcheck)
staticcheck:
	$(GO) tool staticcheck ./...

## shellcheck: every shell script of the repository (Debian's shellcheck,
## installed when missing)
shellcheck:
	@command -v shellcheck >/dev/null || { apt-get update && apt-get install -y shellcheck; }
	shellcheck .ci/run $$(git ls-files '*.sh')

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## api-lint: lint api/openapi.json with Redocly CLI's recommended rules
## (redocly.yaml). Redocly fails on errors only; here a warning fails too.
## Node.js comes from Debian's nodejs and npm packages when npx is missing:
## 1.34 is the newest Redocly CLI line that supports Debian 12's Node.js 18.
REDOCLY_CLI ?= @redocly/cli@1.34.20
api-lint:
	@command -v npx >/dev/null || { apt-get update && apt-get install -y nodejs npm; }
	@out="$$(npx --yes $(REDOCLY_CLI) lint api/openapi.json 2>&1)"; status=$$?; echo "$$out"; \
	if [ $$status -ne 0 ]; then exit $$status; fi; \
	if echo "$$out" | grep -Eq '^You have [0-9]+ warnings?'; then echo "api-lint: warnings fail too"; exit 1; fi

## obs-test: check the Prometheus configuration and rules in deploy/observability
## and run their unit tests (promtool; Debian's prometheus package is installed
## when it is missing), then parse every query of the rules and of the Grafana
## dashboard and check that they read only metrics a running Vitrine exports
OBS := deploy/observability
PROMTOOL ?= promtool
obs-test:
	@command -v $(PROMTOOL) >/dev/null || { apt-get update && apt-get install -y prometheus; }
	$(PROMTOOL) check config $(OBS)/prometheus.yml
	$(PROMTOOL) check rules $(OBS)/rules/recording.yml $(OBS)/rules/alerts.yml
	$(PROMTOOL) test rules $(OBS)/rules/tests.yml
	$(GO) test -count=1 ./$(OBS)/...

## deploy-test: check the Dockerfile, compose.yaml and the Kubernetes overlays,
## every object against its schema (Kubernetes' OpenAPI documents, which the
## first run brings into the Go module cache, and the operators' CRDs)
## (deploy/deploytest, a Go module of its own so that BuildKit, Compose,
## kustomize and nats-server stay out of Vitrine's go.mod; go test ./... does
## not enter it); the edge's VCL, with each deployment's site.vcl, is loaded
## in a real varnishd (make varnish)
deploy-test: varnish
	cd deploy/deploytest && $(GO) vet ./... && $(GO) test -count=1 ./...

build:
	$(GO) build -o vitrine ./cmd/vitrine

run:
	$(GO) run ./cmd/vitrine serve

## fuzz: run each fuzz target for a short while (FUZZTIME=30s by default); FuzzTextInput
## needs the local PostgreSQL and NATS, as the tests do
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./internal/product/producthttp -run '^$$' -fuzz FuzzParseListQuery -fuzztime $(FUZZTIME)
	$(GO) test ./internal/product -run '^$$' -fuzz FuzzDecodeCursor -fuzztime $(FUZZTIME)
	$(GO) test ./internal/product/producthttp -run '^$$' -fuzz FuzzDecodeProductInput -fuzztime $(FUZZTIME)
	$(GO) test ./internal/platform/httpx -run '^$$' -fuzz FuzzCheckJSONText -fuzztime $(FUZZTIME)
	$(GO) test ./internal/platform/imaging -run '^$$' -fuzz FuzzProcess -fuzztime $(FUZZTIME)
	$(GO) test ./cmd/vitrine -run '^$$' -fuzz FuzzTextInput -fuzztime $(FUZZTIME)
	$(GO) test ./internal/product/catalogio -run '^$$' -fuzz FuzzReaders -fuzztime $(FUZZTIME)

## cluster-up, cluster-down, cluster-status [FORMAT=json], cluster-scale SERVICE=product N=3,
## cluster-failover, cluster-seed N=10000, cluster-clean: a whole cluster on this
## machine, over three zones, under CLUSTER_DIR (./.cluster), run by deploy/cmd/cluster
## (package deploy/localcluster); its variables (CLUSTER_PORT, CLUSTER_ADMIN_EMAIL,
## CLUSTER_ADMIN_PASSWORD, ...) are read from the environment. See docs/operations.md
## cluster-zone-freeze, cluster-zone-thaw, cluster-zone-kill, cluster-zone-start ZONE=a:
## lose a zone (SIGSTOP or SIGKILL of every process in it) and bring it back
.PHONY: cluster-up cluster-down cluster-status cluster-scale cluster-failover cluster-seed cluster-clean cluster-test
.PHONY: cluster-zone-freeze cluster-zone-thaw cluster-zone-kill cluster-zone-start
# It is built, not "go run" at each target: one binary serves every target
# of a make run and stays at hand for what the targets do not cover
# (bin/cluster status --json, bin/cluster kill product-1). go build leaves
# it as it is when nothing changed.
.PHONY: $(CLUSTER_CMD)
$(CLUSTER_CMD):
	@$(GO) build -o $@ ./deploy/cmd/cluster
cluster-up: $(CLUSTER_CMD)
	$(CLUSTER_CMD) up
cluster-down: $(CLUSTER_CMD)
	$(CLUSTER_CMD) down
cluster-status: $(CLUSTER_CMD)
	$(CLUSTER_CMD) status $(if $(filter json,$(FORMAT)),--json)
cluster-scale: $(CLUSTER_CMD)
	@test -n "$(SERVICE)" -a -n "$(N)" || { echo "usage: make cluster-scale SERVICE=product N=3"; exit 2; }
	$(CLUSTER_CMD) scale $(SERVICE) $(N)
cluster-failover: $(CLUSTER_CMD)
	$(CLUSTER_CMD) failover
cluster-seed: $(CLUSTER_CMD)
	$(CLUSTER_CMD) seed $(or $(N),1000)
cluster-clean: $(CLUSTER_CMD)
	$(CLUSTER_CMD) clean
cluster-zone-freeze cluster-zone-thaw cluster-zone-kill cluster-zone-start: $(CLUSTER_CMD)
	@test -n "$(ZONE)" || { echo "usage: make $@ ZONE=a (a, b or c)"; exit 2; }
	$(CLUSTER_CMD) zone $(patsubst cluster-zone-%,%,$@) $(ZONE)

## cluster-test: bring a cluster up in a temporary directory, run the flows
## through HAProxy and the fault tests under load, tear it down
CLUSTER_REPORT ?=
cluster-test: $(CLUSTER_CMD)
	deploy/local/install-deps.sh
	$(CLUSTER_CMD) build-jaeger  # once per machine, outside the tests' time limit
	VITRINE_CLUSTER_TEST=1 CLUSTER_REPORT=$(CLUSTER_REPORT) $(GO) test -count=1 -timeout 30m -v -run TestCluster ./deploy/clustertest
