#!/bin/bash
# Development aid, not part of the product: builds a throw-away image that
# has the runtime layout pgimg's images will have, from Debian's own
# postgresql-M package, so that image/docker-entrypoint.sh and
# tests/integration/runtime-contract.sh can be exercised before pgimg builds
# real images.  Needs root, debootstrap, a Docker Engine and network access
# to the Debian archive.
#
#   tests/integration/helpers/mkdev-image.sh [MAJOR] [TAG]
#     MAJOR  a PostgreSQL major packaged by Debian trixie (default 17)
#     TAG    image to create (default pgimg-dev/pg:MAJOR)
#   LAYOUT_MAJOR=18 tests/integration/helpers/mkdev-image.sh 17 pgimg-dev/pg:18-layout
#     lays the image out as major 18 (PG_MAJOR, PATH, PGDATA, VOLUME) around
#     17's binaries, for the 18+ data layout while Debian has no 18; the
#     contract test then fails only where it asks the server its version.
#
# The base is trimmed to what the runtime base promises: perl, awk, apt,
# dpkg and util-linux's mountpoint are removed, so an entrypoint that
# leans on them fails here as it would in a real image.  The postgres user
# gets uid/gid 999 and the directories get the owners and modes the image
# builder uses.  PGDATA and VOLUME follow the official image for the
# major.  The rootfs is kept in $WORK (default /tmp/pgimg-dev) so that a
# second run only redoes the cheap steps.
set -euo pipefail

major="${1:-17}"
tag="${2:-pgimg-dev/pg:$major}"
layout="${LAYOUT_MAJOR:-$major}"
work="${WORK:-/tmp/pgimg-dev}"
mirror="${MIRROR:-http://deb.debian.org/debian}"
here="$(cd "$(dirname "$0")" && pwd)"
imagedir="$here/../../../image"
entrypoint="$imagedir/docker-entrypoint.sh"
base="$work/rootfs-base"
root="$work/rootfs-$major"

die() { printf 'mkdev-image: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"
command -v debootstrap > /dev/null || die "needs debootstrap (apt-get install debootstrap)"
[ -f "$entrypoint" ] || die "no entrypoint at $entrypoint"

mkdir -p "$work"
if [ ! -e "$base/.done" ]; then
	rm -rf "$base"
	debootstrap --variant=minbase trixie "$base" "$mirror"
	touch "$base/.done"
fi

if [ ! -e "$root/.done" ]; then
	rm -rf "$root"
	cp -a "$base" "$root"
	rm -f "$root/.done"
	mount --bind /proc "$root/proc"
	trap 'umount "$root/proc"' EXIT
	chroot "$root" /bin/bash -euxc '
		export DEBIAN_FRONTEND=noninteractive
		groupadd -r postgres --gid=999
		useradd -r -g postgres --uid=999 --home-dir=/var/lib/postgresql --shell=/bin/bash postgres
		apt-get update
		apt-get install -y --no-install-recommends postgresql-common gosu xz-utils zstd
		sed -ri "s/#(create_main_cluster) .*$/\1 = false/" /etc/postgresql-common/createcluster.conf
		apt-get install -y --no-install-recommends "postgresql-'"$major"'"
		apt-get clean
		rm -rf /var/lib/apt/lists/*
	'
	umount "$root/proc"
	trap - EXIT
	touch "$root/.done"
fi

# The runtime base has none of these; take them away so that nothing the
# entrypoint does can quietly depend on them.
rm -f "$root"/usr/bin/perl* "$root"/usr/bin/*awk "$root"/etc/alternatives/*awk \
	"$root"/usr/bin/mountpoint "$root"/usr/bin/apt* "$root"/usr/bin/dpkg*

# The rootfs is shared by every layout built from it: drop what an earlier
# run left for another one.
find "$root/usr/lib/postgresql" -mindepth 1 -maxdepth 1 -type l -delete
rm -rf "${root:?}/var/lib/postgresql"

# Owners and modes as the image builder sets them.
install -d -o 999 -g 999 -m 1777 "$root/var/lib/postgresql"
# /var/run is an absolute symlink to /run: going through it from outside
# the chroot would land on the host's /run.
install -d -o 999 -g 999 -m 3777 "$root/run/postgresql"
install -d -m 0755 "$root/docker-entrypoint-initdb.d"
if [ "$layout" -ge 18 ]; then
	pgdata="/var/lib/postgresql/$layout/docker"
	volume=/var/lib/postgresql
else
	pgdata=/var/lib/postgresql/data
	volume=/var/lib/postgresql/data
	install -d -o 999 -g 999 -m 1777 "$root$pgdata"
fi
install -D -m 0755 "$entrypoint" "$imagedir/docker-ensure-initdb.sh" "$root/usr/local/bin/"
ln -sfT docker-ensure-initdb.sh "$root/usr/local/bin/docker-enforce-initdb.sh"
if [ "$layout" != "$major" ]; then
	ln -s "$major" "$root/usr/lib/postgresql/$layout"
fi
version="$(chroot "$root" "/usr/lib/postgresql/$major/bin/postgres" --version \
	| sed -n 's/^postgres (PostgreSQL) \([0-9.]*\).*/\1/p')"

old_id="$(docker image inspect -f '{{.Id}}' "$tag" 2> /dev/null || :)"
tar --numeric-owner -C "$root" --exclude=./.done -c . | docker import \
	--change "ENV PG_MAJOR=$layout" \
	--change "ENV PG_VERSION=$version" \
	--change "ENV PATH=/usr/lib/postgresql/$layout/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
	--change 'ENV LANG=C.UTF-8' \
	--change "ENV PGDATA=$pgdata" \
	--change "VOLUME $volume" \
	--change 'USER postgres' \
	--change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
	--change 'EXPOSE 5432' \
	--change 'CMD ["postgres"]' \
	- "$tag-import"
# docker import cannot set a stop signal; one more (local, offline) build
# step can.
printf 'FROM %s\nSTOPSIGNAL SIGINT\n' "$tag-import" | docker build -q -t "$tag" -
docker rmi "$tag-import" > /dev/null
# the image this one replaces would otherwise stay behind, untagged
if [ -n "$old_id" ] && [ "$old_id" != "$(docker image inspect -f '{{.Id}}' "$tag")" ]; then
	docker rmi "$old_id" > /dev/null 2>&1 || :
fi
