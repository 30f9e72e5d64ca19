#!/bin/bash
# Install the servers and checkers the integration tests run against, and print the
# path of the one asked for.
#
#   tools/test-servers.sh versitygw   a real S3 server (Versity's gateway on a
#                                     directory), built with `go install`
#   tools/test-servers.sh minio       MinIO, the same way (a far longer build)
#   tools/test-servers.sh crane|cosign|syft
#                                     the image checkers the tests use
#
# Binaries are kept in $PGIMG_TEST_TOOLS (default ~/.cache/pgimg-test-tools)
# so that only the first run pays for the build (several minutes for
# MinIO on two busy cores, about 4 for versitygw); CI can cache that
# directory.  The version is
# pinned so that every machine tests against the same server.  Exits 1
# when the server cannot be installed (no proxy).  Without Go 1.25 or
# later on the machine, the official toolchain is fetched from the Go
# module proxy first (see find_go).
set -eu
tools=${PGIMG_TEST_TOOLS:-${HOME:-/root}/.cache/pgimg-test-tools}
MINIO_VERSION=${PGIMG_MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}
VERSITYGW_VERSION=${PGIMG_VERSITYGW_VERSION:-v1.8.0}
CRANE_VERSION=${PGIMG_CRANE_VERSION:-v0.22.1}
COSIGN_VERSION=${PGIMG_COSIGN_VERSION:-v2.6.5}
SYFT_VERSION=${PGIMG_SYFT_VERSION:-v1.57.2}

# The servers want Go 1.25 or later; Debian 12 has 1.19.  A toolchain
# that is too old or missing is replaced by the official one, which the
# Go module proxy serves as the module golang.org/toolchain (what
# GOTOOLCHAIN=auto fetches), unpacked into $tools/go.
GO_TOOLCHAIN=${PGIMG_GO_TOOLCHAIN:-go1.25.0}

go_recent() {
	local v
	v=$("$1" env GOVERSION 2>/dev/null) || return 1
	v=${v#go}
	[ "${v%%.*}" -gt 1 ] || { v=${v#1.}; [ "${v%%.*}" -ge 25 ]; }
}

find_go() {
	for g in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go "$tools/go/bin/go"; do
		[ -n "$g" ] && [ -x "$g" ] && go_recent "$g" && { echo "$g"; return 0; }
	done
	local proxy=${GOPROXY:-https://proxy.golang.org}
	proxy=${proxy%%,*}
	local zip="$tools/toolchain.zip"
	echo "tools/test-servers.sh: fetching the $GO_TOOLCHAIN toolchain from $proxy" >&2
	mkdir -p "$tools"
	curl -fsSL -o "$zip" "$proxy/golang.org/toolchain/@v/v0.0.1-$GO_TOOLCHAIN.linux-amd64.zip" || return 1
	rm -rf "$tools/go" "$tools/go.tmp"
	python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$tools/go.tmp" || return 1
	mv "$tools/go.tmp/golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.linux-amd64" "$tools/go"
	rm -rf "$tools/go.tmp" "$zip"
	chmod +x "$tools/go/bin/"* "$tools/go/pkg/tool/"*/* 2>/dev/null
	echo "$tools/go/bin/go"
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
crane) install crane "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION" ;;
cosign) install cosign "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION" ;;
syft) install syft "github.com/anchore/syft/cmd/syft@$SYFT_VERSION" ;;
*)
	echo "usage: tools/test-servers.sh versitygw|minio|crane|cosign|syft" >&2
	exit 2
	;;
esac
