#!/bin/sh
# Install what building and running images needs on a fresh Debian 12 or
# 13 machine: a C toolchain and pgimg's libraries, gpgv and Debian's
# keyring (pgimg checks the archive's signatures), and CA certificates
# (pgimg's downloads).  Nothing for the tests (tools/install-test-deps.sh) and
# no service.  Idempotent; needs root (or sudo).  --list prints the
# packages and installs nothing.
set -eu
pkgs="build-essential pkg-config libarchive-dev libssl-dev libcurl4-openssl-dev
libjansson-dev libzstd-dev zlib1g-dev gpgv debian-archive-keyring ca-certificates"
# shellcheck disable=SC2086
[ "${1:-}" != --list ] || { printf '%s\n' $pkgs; exit 0; }
. "$(dirname "$0")/apt.sh"
# shellcheck disable=SC2086
apt_install $pkgs
