# Vitrine: the commands a developer and CI run.
GO ?= go

.PHONY: test test-go vet fmt-check build run fuzz obs-test deploy-test s3-server

## test: everything CI checks: test-go, obs-test, deploy-test, then cluster-test
test: test-go obs-test deploy-test cluster-test

## test-go: formatting, vet, race-enabled Go tests against the local PostgreSQL, Redis and NATS
## (and an S3-compatible server the tests start, built by s3-server)
test-go: fmt-check vet s3-server
	$(GO) test -race -count=1 -timeout 20m ./...

## s3-server: build the S3-compatible server (Versity's S3 gateway) that the
## picture store's tests start, into ~/.cache/vitrine/bin; about 4.5 minutes
## on a fresh machine, nothing when it is built
s3-server:
	deploy/local/install-s3.sh

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## obs-test: check the Prometheus configuration and rules in deploy/observability
## and run their unit tests (promtool; Debian's prometheus package is installed
## when it is missing), then check that the rules name only metrics Vitrine exports
OBS := deploy/observability
PROMTOOL ?= promtool
obs-test:
	@command -v $(PROMTOOL) >/dev/null || { apt-get update && apt-get install -y prometheus; }
	$(PROMTOOL) check config $(OBS)/prometheus.yml
	$(PROMTOOL) check rules $(OBS)/rules/recording.yml $(OBS)/rules/alerts.yml
	$(PROMTOOL) test rules $(OBS)/rules/tests.yml
	$(GO) test -count=1 ./$(OBS)/...

## deploy-test: check the Dockerfile, compose.yaml and the Kubernetes overlays
## (deploy/deploytest, a Go module of its own so that BuildKit, Compose and
## kustomize stay out of Vitrine's go.mod; go test ./... does not enter it)
deploy-test:
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

## cluster-up, cluster-down, cluster-status, cluster-scale SERVICE=product N=3,
## cluster-failover, cluster-clean: a whole cluster on this machine under
## CLUSTER_DIR (./.cluster); see docs/operations.md
.PHONY: cluster-up cluster-down cluster-status cluster-scale cluster-failover cluster-clean cluster-test
cluster-up:
	deploy/local/cluster.sh up
cluster-down:
	deploy/local/cluster.sh down
cluster-status:
	deploy/local/cluster.sh status
cluster-scale:
	@test -n "$(SERVICE)" -a -n "$(N)" || { echo "usage: make cluster-scale SERVICE=product N=3"; exit 2; }
	deploy/local/cluster.sh scale $(SERVICE) $(N)
cluster-failover:
	deploy/local/cluster.sh failover
cluster-clean:
	deploy/local/cluster.sh clean

## cluster-test: bring a cluster up in a temporary directory, run the flows
## through HAProxy and the fault tests under load, tear it down
CLUSTER_REPORT ?=
cluster-test:
	deploy/local/install-deps.sh
	VITRINE_CLUSTER_TEST=1 CLUSTER_REPORT=$(CLUSTER_REPORT) $(GO) test -count=1 -timeout 15m -v -run TestCluster ./deploy/clustertest
