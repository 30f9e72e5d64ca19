#!/bin/bash
# Isolation overhead: building postgres-15 with pgimg against the same
# script run directly, with chroot and without any namespace, in the
# same build root.  Target: ratio at most 1.05.  Needs root (chroot and
# bind mounts).
#
# pgimg builds in a fresh cache that shares only the downloads
# (PGIMG_BENCH_CACHE, default build/test-cache) and, after its first run,
# the roots that run assembled; the direct run uses the root of set
# `build`.  The time pgimg spent fetching and assembling roots is taken
# off its total (the direct run has both ready).  Each side runs twice,
# alternating, from a synced disk; the ratios are of the medians.  Two
# ratios: the whole build, which also counts what the direct run does not
# do (the runtime base, the layers, the image), and the phases run in the
# sandbox (its set-up included) against the direct run, which does only
# those.  The direct run's phases are timed too, to compare with pgimg's
# phase table.
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
	if [ -n "$root" ]; then
		umount -l "$root/build" "$root/out" "$root/in" "$root/proc" "$root/dev" 2>/dev/null
	fi
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

mkdir -p "$cache/downloads"
sum_phases() {
	python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["timings"]
want = sys.argv[2:]
print("%.2f" % sum(r["seconds"] for r in t if r["phase"] in want))' "$@"
}

# pgimg, in a fresh cache each time (the layer cache empty), sharing the
# downloads and, after the first run, its assembled roots.
n_p=0
run_pgimg() {
	n_p=$((n_p + 1))
	local c="$work/cache$n_p"
	mkdir -p "$c"
	ln -s "$(realpath "$cache/downloads")" "$c/downloads"
	[ "$n_p" -gt 1 ] && ln -s "$work/cache1/roots" "$c/roots"
	sync
	local s e
	s=$(date +%s.%N)
	./pgimg -q --cache-dir "$c" build "postgres-$m" -o "$work/pg$n_p.tar" --timings --json \
		>"$work/pgimg$n_p.json" 2>"$work/timings$n_p.txt"
	e=$(date +%s.%N)
	local all ready sandbox
	all=$(echo "$e - $s" | bc)
	# What the direct run has ready: downloads and the assembled roots.
	ready=$(sum_phases "$work/pgimg$n_p.json" fetch "assemble build root" "assemble runtime base")
	sandbox=$(sum_phases "$work/pgimg$n_p.json" "sandbox set-up" "unpack source" configure make "make contrib" install)
	p_all+=("$(echo "$all - $ready" | bc)")
	p_sandbox+=("$sandbox")
	echo "pgimg run $n_p: $(echo "$all - $ready" | bc) s ($all s less $ready s of fetch and roots; $sandbox s in the sandbox)"
	rm -f "$work/pg$n_p.tar"
}

# Direct: the same script, chroot into the same root, no namespaces,
# each phase timed by the same clock.
n_d=0
run_direct() {
	n_d=$((n_d + 1))
	if [ -z "$root" ]; then
		# The build root: the one of cache1's roots with a compiler.
		for r in "$work"/cache1/roots/*/; do [ -x "$r/usr/bin/gcc" ] && root=$r; done
		[ -n "$root" ] || { echo "no build root in $work/cache1/roots"; exit 1; }
		mkdir -p "$root/in" "$root/build" "$root/out" "$root/proc" "$root/dev"
	fi
	mkdir -p "$work/build$n_d" "$work/out$n_d"
	mount --bind "$cache/downloads/sha256" "$root/in"
	mount -o remount,ro,bind "$root/in"
	mount -t proc proc "$root/proc"
	mount --rbind /dev "$root/dev"
	mount --bind "$work/build$n_d" "$root/build"
	mount --bind "$work/out$n_d" "$root/out"
	sync
	local s e
	s=$(date +%s.%N)
	chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/tmp TZ=UTC LC_ALL=C JOBS="$(nproc)" \
		SOURCE="$src" PG_MAJOR="$m" CONFIGURE_ARGS="$args" /bin/sh -euc '
at() { echo "@phase $1 $(date +%s.%N)" >&2; }
cd /build
at "unpack source"; tar --no-same-owner -xf "/in/$SOURCE" --strip-components=1
eval "set -- $CONFIGURE_ARGS"
at configure; ./configure --prefix="/usr/lib/postgresql/$PG_MAJOR" "$@"
at make; make -j"$JOBS"
at "make contrib"; make -C contrib -j"$JOBS"
at install; make install-strip DESTDIR=/out
make -C contrib install-strip DESTDIR=/out
at end' >"$work/direct$n_d.log" 2>&1
	e=$(date +%s.%N)
	umount "$root/build" "$root/out" "$root/in" "$root/proc"
	umount -R "$root/dev"
	rm -rf --one-file-system "$work/build$n_d" "$work/out$n_d"
	d_all+=("$(echo "$e - $s" | bc)")
	echo "direct run $n_d: ${d_all[-1]} s; phases:" $(awk '/^@phase/ { n = $NF; $1 = ""; $NF = ""; if (p != "") printf "%s %.1f; ", p, n - t; p = $0; t = n }' "$work/direct$n_d.log")
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Each side twice, alternating (pgimg, direct, direct, pgimg), so that
# neither side always runs first or right after the build root is
# written; the ratio is of the medians.
p_all=() p_sandbox=() d_all=()
run_pgimg
run_direct
run_direct
run_pgimg
echo
echo "phases of the last pgimg run:"
cat "$work/timings$n_p.txt"
pm=$(median "${p_all[@]}"); sm=$(median "${p_sandbox[@]}"); dm=$(median "${d_all[@]}")
echo "postgres-$m $version: pgimg ${p_all[*]} s (median $pm; sandboxed phases ${p_sandbox[*]}, median $sm), direct ${d_all[*]} s (median $dm)"
echo "isolation overhead ratio (pgimg / direct, medians): $(echo "scale=3; $pm / $dm" | bc) (target <= 1.05)"
echo "sandboxed phases against direct (medians): $(echo "scale=3; $sm / $dm" | bc)"
