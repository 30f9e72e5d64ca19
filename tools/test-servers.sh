#!/bin/sh
# Install the servers the integration tests run against, and print the
# path of the one asked for.
#
#   tools/test-servers.sh versitygw   a real S3 server (Versity's gateway on a
#                                     directory), built with `go install`
#   tools/test-servers.sh minio       MinIO, the same way (a far longer build)
#
# Binaries are kept in $PGIMG_TEST_TOOLS (default ~/.cache/pgimg-test-tools)
# so that only the first run pays for the build (several minutes for
# MinIO on two busy cores, about 4 for versitygw); CI can cache that
# directory.  The version is
# pinned so that every machine tests against the same server.  Exits 1
# when the server cannot be installed (no Go, no proxy).
set -eu
tools=${PGIMG_TEST_TOOLS:-${HOME:-/root}/.cache/pgimg-test-tools}
MINIO_VERSION=${PGIMG_MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}
VERSITYGW_VERSION=${PGIMG_VERSITYGW_VERSION:-v1.8.0}

find_go() {
	for g in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go /usr/lib/go/bin/go; do
		[ -n "$g" ] && [ -x "$g" ] && { echo "$g"; return 0; }
	done
	return 1
}

# usage: install NAME MODULE@VERSION
install() {
	bin="$tools/$1"
	if [ ! -x "$bin" ]; then
		go=$(find_go) || { echo "tools/test-servers.sh: no Go toolchain to build $1" >&2; exit 1; }
		mkdir -p "$tools"
		echo "tools/test-servers.sh: building $2 (once; cached in $tools)" >&2
		GOBIN="$tools" nice "$go" install "$2" >&2
	fi
	echo "$bin"
}

case "${1:-}" in
minio) install minio "github.com/minio/minio@$MINIO_VERSION" ;;
versitygw) install versitygw "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" ;;
*)
	echo "usage: tools/test-servers.sh versitygw|minio" >&2
	exit 2
	;;
esac
