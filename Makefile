# Vitrine: the commands a developer and CI run.
GO ?= go

.PHONY: test vet fmt-check build run fuzz

## test: everything CI checks (formatting, vet, race-enabled tests against the local PostgreSQL, Redis and NATS)
test: fmt-check vet
	$(GO) test -race -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

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
	$(GO) test ./cmd/vitrine -run '^$$' -fuzz FuzzTextInput -fuzztime $(FUZZTIME)
