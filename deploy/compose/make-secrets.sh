#!/bin/sh
# Makes the secret files compose.yaml reads, in deploy/compose/secrets/
# (kept out of git): the PostgreSQL password, the URL the services reach
# PostgreSQL with, the replica's URL (product and analytics reads that may
# lag), and the cursor secret shared by the product instances.
# Files that exist are kept, so running it again changes nothing.
set -eu
umask 077
dir=$(dirname "$0")/secrets
mkdir -p "$dir"
[ -s "$dir/postgres-password" ] || openssl rand -hex 24 >"$dir/postgres-password"
[ -s "$dir/postgres-url" ] ||
	printf 'postgres://postgres:%s@postgres-primary:5432,postgres-replica:5432/vitrine?target_session_attrs=any&connect_timeout=2&sslmode=disable\n' \
		"$(cat "$dir/postgres-password")" >"$dir/postgres-url"
[ -s "$dir/postgres-replica-url" ] ||
	printf 'postgres://postgres:%s@postgres-replica:5432/vitrine?connect_timeout=2&sslmode=disable\n' \
		"$(cat "$dir/postgres-password")" >"$dir/postgres-replica-url"
[ -s "$dir/cursor-secret" ] || openssl rand -hex 32 >"$dir/cursor-secret"
# Compose mounts these files as they are, and the containers run as other
# users (Vitrine as 65532, PostgreSQL as 999): the files are readable by
# all, the directory by this user only.
chmod 644 "$dir"/*
echo "secrets in $dir"
