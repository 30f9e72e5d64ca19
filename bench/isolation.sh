#!/bin/bash
# Isolation overhead: building postgres-15 with pgimg (sources and build
# root cached, layer cache empty) against the same script run directly
# in the same build root with chroot, without any namespace.  Target:
# ratio at most 1.05.  Needs root (chroot and bind mounts).
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "needs root for the direct (chroot) run"; exit 77; }
m=${1:-15}
cache=${PGIMG_BENCH_CACHE:-build/test-cache}
make -s pgimg
# Warm the downloads and the build root.
./pgimg -q --cache-dir "$cache" build "postgres-$m" -o /dev/null/x 2>/dev/null || true
root=$(ls -d "$cache"/roots/*/ | head -1)
version=$(python3 -c "import json;print(json.load(open('versions/$m.json'))['default_version'])")
src=$(python3 -c "import json;r=json.load(open('versions/$m.json'));print(r['versions'][r['default_version']]['sha256'])")
args=$(python3 -c "import json,shlex;r=json.load(open('versions/$m.json'));print(' '.join(shlex.quote(a) for a in r['configure']))")

work=$(mktemp -d /var/tmp/pgimg-bench-XXXXXX)
trap 'umount -l "$root/in" "$root/build" "$root/out" "$root/proc" "$root/dev" 2>/dev/null; rm -rf "$work"' EXIT

# pgimg: a fresh layer cache sharing downloads and roots.
mkdir -p "$work/cache"
ln -s "$(realpath "$cache/downloads")" "$work/cache/downloads"
ln -s "$(realpath "$cache/roots")" "$work/cache/roots"
s=$(date +%s.%N)
./pgimg -q --cache-dir "$work/cache" build "postgres-$m" -o "$work/pg.tar"
t_pgimg=$(echo "$(date +%s.%N) - $s" | bc)

# Direct: the same script, chroot into the same root, no namespaces.
mkdir -p "$work/build" "$work/out"
mount --bind "$cache/downloads/sha256" "$root/in"
mount --bind "$work/build" "$root/build"
mount --bind "$work/out" "$root/out"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
s=$(date +%s.%N)
chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/tmp TZ=UTC LC_ALL=C JOBS="$(nproc)" \
	SOURCE="$src" PG_MAJOR="$m" CONFIGURE_ARGS="$args" /bin/sh -euc '
cd /build
tar --no-same-owner -xf "/in/$SOURCE" --strip-components=1
eval "set -- $CONFIGURE_ARGS"
./configure --prefix="/usr/lib/postgresql/$PG_MAJOR" "$@"
make -j"$JOBS"
make -C contrib -j"$JOBS"
make install-strip DESTDIR=/out
make -C contrib install-strip DESTDIR=/out' >"$work/direct.log" 2>&1
t_direct=$(echo "$(date +%s.%N) - $s" | bc)
echo "postgres-$m $version: pgimg ${t_pgimg} s, direct ${t_direct} s"
echo "isolation overhead ratio (pgimg / direct): $(echo "scale=3; $t_pgimg / $t_direct" | bc) (target <= 1.05)"
