#!/usr/bin/env bash
# Builds the S3-compatible server that the blob store's tests (and the local
# cluster) run against: Versity's S3 gateway (Apache-2.0) with its posix
# backend, built from the Go module proxy into ~/.cache/vitrine/bin, where
# the tests look for it (VITRINE_S3_SERVER overrides the path). A fresh
# machine builds it in about four and a half minutes; an existing build of
# the same version is kept.
set -euo pipefail
VERSION=v1.8.0
BIN_DIR="${VITRINE_CACHE:-$HOME/.cache/vitrine}/bin"
BIN="$BIN_DIR/versitygw"
STAMP="$BIN_DIR/versitygw.version"
if [ -x "$BIN" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION" ]; then
	exit 0
fi
mkdir -p "$BIN_DIR"
echo "building versitygw $VERSION into $BIN_DIR (a few minutes on a fresh machine)" >&2
start=$(date +%s)
# Outside the repository, so that Vitrine's go.mod is neither read nor changed.
(cd / && GOBIN="$BIN_DIR" GOFLAGS=-mod=mod go install "github.com/versity/versitygw/cmd/versitygw@$VERSION")
echo "$VERSION" >"$STAMP"
echo "versitygw $VERSION built in $(($(date +%s) - start)) s" >&2
