#!/bin/bash
# Cross-build cost: postgres-MAJOR (default 18, no extension) built for
# linux/arm64 (cross-compiled, docs/platforms.md) against the same build
# for linux/amd64 on the same machine, each from an empty layer cache
# with warm downloads (PGIMG_BENCH_DOWNLOADS, a cache's downloads
# directory; default: a fresh one, filled by a first build of each
# platform that is not timed).  One run of each, amd64 first, then
# arm64; prints both wall times, the ratio arm64/amd64, and the image
# tarball and PostgreSQL layer sizes of both platforms.
set -eu
cd "$(dirname "$0")/.."
m=${1:-18}
make -s pgimg
work=$(mktemp -d /var/tmp/pgimg-bench-cross-XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
downloads=${PGIMG_BENCH_DOWNLOADS:-}
if [ -z "$downloads" ]; then
	downloads=$work/downloads
	mkdir -p "$downloads"
	for arch in amd64 arm64; do
		mkdir -p "$work/warm-$arch"
		ln -s "$downloads" "$work/warm-$arch/downloads"
		./pgimg -q --cache-dir "$work/warm-$arch" build "postgres-$m" --platform "linux/$arch" -o "$work/warm.tar" >/dev/null
		rm -rf --one-file-system "$work/warm-$arch" "$work/warm.tar"*
	done
fi
downloads=$(realpath "$downloads")
echo "postgres-$m, $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A secs
for arch in amd64 arm64; do
	mkdir -p "$work/$arch"
	ln -s "$downloads" "$work/$arch/downloads"
	sync
	s=$(date +%s.%N)
	./pgimg -q --cache-dir "$work/$arch" build "postgres-$m" --platform "linux/$arch" -o "$work/$arch.tar" --json >"$work/$arch.json"
	secs[$arch]=$(echo "$(date +%s.%N) - $s" | bc)
	size=$(stat -c %s "$work/$arch.tar")
	pg=$(python3 -c '
import json, sys
for l in json.load(open(sys.argv[1]))["layers"]:
    if l["name"] == "postgres":
        print(l["size"])' "$work/$arch.json")
	printf '%s: %.1f s from an empty layer cache; image %.1f MB, layer postgres %.1f MB (compressed)\n' \
		"$arch" "${secs[$arch]}" "$(echo "$size / 1000000" | bc -l)" "$(echo "$pg / 1000000" | bc -l)"
done
printf 'ratio arm64/amd64: %.3f\n' "$(echo "${secs[arm64]} / ${secs[amd64]}" | bc -l)"
