#!/bin/bash
# Isolation overhead: building postgres-15 with pgimg against the same
# script run directly, with chroot and without any namespace, in the
# same build root.  Target: ratio at most 1.05.  Needs root (chroot and
# bind mounts).
#
# pgimg builds in a fresh cache that shares only the downloads
# (PGIMG_BENCH_CACHE, default build/test-cache), so the build root it
# assembles is the only one there: the root of set `build`, which the
# direct run then uses.  Its phase table (--timings) is printed; the time
# it spent fetching and assembling the build root is taken off its total
# (the direct run had both ready).  Two ratios: the whole build, which
# also counts what the direct run does not do (the runtime base, the
# layers, the image), and the phases run in the sandbox (its set-up
# included) against the direct run, which does only those.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "needs root for the direct (chroot) run"; exit 77; }
m=${1:-15}
cache=${PGIMG_BENCH_CACHE:-build/test-cache}
make -s pgimg
version=$(python3 -c "import json;print(json.load(open('versions/$m.json'))['default_version'])")
src=$(python3 -c "import json;r=json.load(open('versions/$m.json'));print(r['versions'][r['default_version']]['sha256'])")
# The server's configure list: the recipe's less its LLVM arguments, which
# only the jit layer's build uses (builder/pipeline_pg.c).
args=$(python3 -c "
import json,shlex
r=json.load(open('versions/$m.json'))
llvm=lambda a: a=='--with-llvm' or a.startswith('LLVM_CONFIG=') or a.startswith('CLANG=')
print(' '.join(shlex.quote(a) for a in r['configure'] if not llvm(a)))")

work=$(mktemp -d /var/tmp/pgimg-bench-XXXXXX)
root=
# Unmount first; --one-file-system keeps rm out of a mount left behind
# (the shared downloads are bound read-only besides).
cleanup() {
	[ -n "$root" ] && umount -l "$root/in" "$root/build" "$root/out" "$root/proc" "$root/dev" 2>/dev/null
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

mkdir -p "$cache/downloads" "$work/cache"
ln -s "$(realpath "$cache/downloads")" "$work/cache/downloads"
s=$(date +%s.%N)
./pgimg -q --cache-dir "$work/cache" build "postgres-$m" -o "$work/pg.tar" --timings --json \
	>"$work/pgimg.json" 2>"$work/timings.txt"
t_all=$(echo "$(date +%s.%N) - $s" | bc)
phases() {
	python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["timings"]
print("%.2f" % sum(r["seconds"] for r in t if r["step"] == "postgres" and r["phase"] in sys.argv[2:]))' \
		"$work/pgimg.json" "$@"
}
t_ready=$(phases fetch "assemble build root")
t_pgimg=$(echo "$t_all - $t_ready" | bc)
t_sandbox=$(phases "sandbox set-up" "unpack source" configure make "make contrib" install)
root=$(ls -d "$work"/cache/roots/*/)
[ "$(echo "$root" | wc -l)" -eq 1 ] || { echo "expected one build root in $work/cache/roots"; exit 1; }

# Direct: the same script, chroot into the same root, no namespaces.
mkdir -p "$work/build" "$work/out" "$root/in" "$root/build" "$root/out" "$root/proc" "$root/dev"
mount --bind "$cache/downloads/sha256" "$root/in"
mount -o remount,ro,bind "$root/in"
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
cat "$work/timings.txt"
echo "postgres-$m $version: pgimg ${t_pgimg} s (${t_all} s less ${t_ready} s of fetch and build root;" \
	"${t_sandbox} s in the sandbox), direct ${t_direct} s"
echo "isolation overhead ratio (pgimg / direct): $(echo "scale=3; $t_pgimg / $t_direct" | bc) (target <= 1.05)"
echo "sandboxed phases against direct: $(echo "scale=3; $t_sandbox / $t_direct" | bc)"
