# syntax=docker/dockerfile:1
#
# Vitrine as a container image: one static binary on a distroless base, run
# as a non-root user, with no shell and nothing to write outside /data (the
# embedded stores and the search index) and /tmp, so it runs with a
# read-only root file system. See docs/operations.md, "Containers".
#
#   docker build -t vitrine .
#   docker run --read-only --tmpfs /tmp -v vitrine-data:/data -p 8080:8080 vitrine

# The Go of go.mod.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY api ./api
COPY cmd ./cmd
COPY internal ./internal
# The SQLite driver is pure Go (modernc), so the binary needs no C library.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/vitrine ./cmd/vitrine
# The data directory, owned by the user the image runs as: a volume mounted
# there starts with this owner.
RUN mkdir -p /out/data && chown 65532:65532 /out/data

# distroless/static: CA certificates, time zones, /etc/passwd with "nonroot"
# (65532), and no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/vitrine /vitrine
COPY --from=build /out/data /data
USER 65532:65532
WORKDIR /data
VOLUME /data
ENV VITRINE_ADDR=:8080 \
    VITRINE_DATA_DIR=/data
# 8080: the API (--addr). 6060: /metrics and pprof when --admin-addr=:6060
# is given, which compose.yaml and deploy/k8s do; keep it private.
EXPOSE 8080 6060
# No shell in the image: the binary checks itself, in exec form.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["/vitrine", "healthcheck", "--url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/vitrine"]
CMD ["serve"]
