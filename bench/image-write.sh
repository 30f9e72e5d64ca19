#!/bin/bash
# image-write.sh - is writing a layer at least as fast as tar | gzip -6?
#
#   bench/image-write.sh [TREE]      RUNS=3 by default; best run counts
#
# Without TREE, a ~140 MB tree of binaries and text (/usr/lib/gcc and
# /usr/share/perl) is copied to a temporary directory.  Prints the best
# wall time of each command, the ratio tar|gzip time / pgimg time (the
# target is >= 1.0) and whether pgimg's zstd used more than one core
# (user+sys > wall).  Blobs are written to a temporary directory on the
# same disk as TREE's copy, fsync included, as pgimg always does.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
make -C "$top" --no-print-directory pgimg >/dev/null
pgimg=$top/pgimg

work=$(mktemp -d /tmp/pgimg-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

if [ $# -ge 1 ]; then
	tree=$(cd "$1" && pwd)
else
	tree=$work/tree
	mkdir "$tree"
	for d in /usr/lib/gcc /usr/share/perl /usr/share/perl5; do
		[ -d "$d" ] && cp -a "$d" "$tree/"
	done
fi
echo "tree: $tree ($(du -sh "$tree" | cut -f1), $(find "$tree" | wc -l) entries), $(nproc) CPUs, best of $runs"
# Warm the page cache so that neither side pays for the first read.
tar -cf - -C "$tree" . >/dev/null

# best_of NAME COMMAND...: run COMMAND $runs times; remember the fastest
# run's wall, user and sys seconds in best_<NAME>_{real,cpu}.
best_of () {
	local name=$1 t real cpu best_real="" best_cpu=""
	shift
	for _ in $(seq "$runs"); do
		rm -rf "$work/blobs"
		mkdir "$work/blobs"
		t=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>"$work/stderr"; } 2>&1 ) || {
			cat "$work/stderr" >&2
			exit 1
		}
		real=${t%% *}
		cpu=$(echo "$t" | awk '{ printf "%.3f", $2 + $3 }')
		if [ -z "$best_real" ] || awk -v a="$real" -v b="$best_real" 'BEGIN { exit !(a < b) }'; then
			best_real=$real
			best_cpu=$cpu
		fi
	done
	printf '  %-22s %6.2fs wall  %6.2fs cpu\n' "$name" "$best_real" "$best_cpu"
	eval "best_${name//[^a-z_]/_}_real=$best_real best_${name//[^a-z_]/_}_cpu=$best_cpu"
}

best_of "tar|gzip -6" sh -c "tar -cf - -C '$tree' . | gzip -6"
best_of "pgimg gzip" "$pgimg" -q layer "$tree" --compression gzip --blob-dir "$work/blobs"
if command -v zstd >/dev/null; then
	best_of "tar|zstd -3 -T0" sh -c "tar -cf - -C '$tree' . | zstd -q -3 -T0"
fi
best_of "pgimg zstd" "$pgimg" -q layer "$tree" --compression zstd --blob-dir "$work/blobs"
best_of "pgimg none" "$pgimg" -q layer "$tree" --compression none --blob-dir "$work/blobs"

awk -v t="$best_tar_gzip____real" -v p="$best_pgimg_gzip_real" \
	'BEGIN { r = t / p; printf "gzip ratio (tar|gzip / pgimg): %.2f %s\n", r, (r >= 1.0 ? "(ok)" : "(SLOWER than tar|gzip)") }'
awk -v w="$best_pgimg_zstd_real" -v c="$best_pgimg_zstd_cpu" \
	'BEGIN { printf "zstd used more than one core: %s (cpu %.2fs, wall %.2fs)\n", (c > w ? "yes" : "no"), c, w }'
