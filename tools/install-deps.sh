#!/bin/sh
# Install the Debian packages pgimg needs to build and test on a fresh
# Debian 12 or 13 machine.  Idempotent; needs root (or sudo).
set -eu
pkgs="build-essential pkg-config libarchive-dev libssl-dev libcurl4-openssl-dev
libjansson-dev libzstd-dev zlib1g-dev libcmocka-dev gpgv debian-archive-keyring
ca-certificates curl util-linux procps python3 bc skopeo umoci
docker-registry apache2-utils xfsprogs postgresql-client"
missing=
for p in $pkgs; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -q
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
