#!/bin/sh
# Install what `make test` needs beyond tools/install-deps.sh, and nothing
# that keeps running: cmocka (unit tests), python3 (fuzz seeds, test
# helpers), bc, curl, psql (talking to the servers under test), skopeo and umoci
# (reading the OCI layouts), Debian's docker-registry and htpasswd (the
# real registry the push/pull tests start on 127.0.0.1), xfsprogs
# (pg_upgrade --clone on a reflink filesystem), fdisk, e2fsprogs,
# dosfstools, mtools, qemu-utils, qemu-system-x86 and OVMF (reading and
# booting the disk images of --format disk), openssh-client (logging in
# to a booted disk), file, qemu-user-static and binfmt-support (telling
# and running the arm64 image's programs), then the Go-built servers
# and checkers (versitygw, crane, cosign, syft) into
# ${PGIMG_TEST_TOOLS:-~/.cache/pgimg-test-tools}.
#
# docker-registry's package enables a service that listens on :5000 on
# every interface with no authentication: tools/apt.sh installs it with
# starts denied and its unit disabled; each test starts its own registry.
# Idempotent; the packages need root (or sudo).  --list prints the
# packages and installs nothing.
set -eu
dir=$(dirname "$0")
pkgs="libcmocka-dev python3 bc curl postgresql-client skopeo umoci docker-registry apache2-utils xfsprogs fdisk e2fsprogs dosfstools mtools qemu-utils qemu-system-x86 ovmf openssh-client file qemu-user-static binfmt-support"
# shellcheck disable=SC2086
[ "${1:-}" != --list ] || { printf '%s\n' $pkgs; exit 0; }
. "$dir/apt.sh"
# shellcheck disable=SC2086
apt_install $pkgs
# shellcheck disable=SC2086
apt_warn_enabled $pkgs
for t in versitygw crane cosign syft; do
	"$dir/test-servers.sh" "$t" >/dev/null \
		|| echo "warning: $t could not be built; the tests that need it will say so" >&2
done
