#!/bin/sh
# Install the servers the integration tests run against, and print the
# path of the one asked for.
#
#   tools/test-servers.sh minio       a real S3 server (MinIO), built with
#                                     `go install` from the Go module proxy
#
# Binaries are kept in $PGIMG_TEST_TOOLS (default ~/.cache/pgimg-test-tools)
# so that only the first run pays for the build (several minutes for
# MinIO on two cores); CI can cache that directory.  The version is
# pinned so that every machine tests against the same server.  Exits 1
# when the server cannot be installed (no Go, no proxy).
set -eu
tools=${PGIMG_TEST_TOOLS:-${HOME:-/root}/.cache/pgimg-test-tools}
MINIO_VERSION=${PGIMG_MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}

find_go() {
	for g in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go /usr/lib/go/bin/go; do
		[ -n "$g" ] && [ -x "$g" ] && { echo "$g"; return 0; }
	done
	return 1
}

case "${1:-}" in
minio)
	bin="$tools/minio"
	if [ ! -x "$bin" ]; then
		go=$(find_go) || { echo "tools/test-servers.sh: no Go toolchain to build MinIO" >&2; exit 1; }
		mkdir -p "$tools"
		echo "tools/test-servers.sh: building MinIO $MINIO_VERSION (once; cached in $tools)" >&2
		GOBIN="$tools" GOFLAGS=-trimpath nice "$go" install "github.com/minio/minio@$MINIO_VERSION" >&2
	fi
	echo "$bin"
	;;
*)
	echo "usage: tools/test-servers.sh minio" >&2
	exit 2
	;;
esac
