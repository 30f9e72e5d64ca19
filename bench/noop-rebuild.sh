#!/bin/bash
# No-op rebuild: a second `pgimg build` of an unchanged, fully cached
# image.  Target: at most 1 s wall.  Prints the time of the best of 5.
set -eu
cd "$(dirname "$0")/.."
m=${1:-18}
cache=${PGIMG_BENCH_CACHE:-build/test-cache}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
make -s pgimg
./pgimg -q --cache-dir "$cache" build "postgres-$m" -o "$out/a.tar"       # warm (builds if needed)
best=
for _ in 1 2 3 4 5; do
	s=$(date +%s.%N)
	./pgimg -q --cache-dir "$cache" build "postgres-$m" -o "$out/b.tar" --json > "$out/b.json"
	e=$(date +%s.%N)
	t=$(echo "$e - $s" | bc)
	if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
done
built=$(grep -o '"built":true' "$out/b.json" | wc -l)
echo "no-op rebuild of postgres-$m: ${best} s wall (best of 5), layers built: $built"
echo "ratio to the 1 s target: $(echo "scale=3; $best / 1" | bc)"
