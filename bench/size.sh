#!/bin/bash
# Image size: the postgres-17 image as `docker image inspect` reports it
# (target: at most 120 MB uncompressed) and its compressed layers.
set -eu
cd "$(dirname "$0")/.."
m=${1:-17}
cache=${PGIMG_BENCH_CACHE:-build/test-cache}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
make -s pgimg
./pgimg -q --cache-dir "$cache" build "postgres-$m" -o "$out/pg.tar" --json > "$out/pg.json"
docker load -q -i "$out/pg.tar" >/dev/null
size=$(docker image inspect "pgimg/postgres:$m" -f '{{.Size}}')
compressed=$(grep -o '"size":[0-9]*' "$out/pg.json" | cut -d: -f2 | paste -sd+ | bc)
echo "postgres-$m: $(echo "scale=1; $size / 1000000" | bc) MB uncompressed (docker image inspect), $(echo "scale=1; $compressed / 1000000" | bc) MB compressed (gzip layers)"
echo "ratio to the 120 MB target: $(echo "scale=3; $size / 120000000" | bc)"
for l in base postgres entrypoint; do
	grep -o "\"name\":\"$l\"[^}]*" "$out/pg.json" | sed 's/.*"size":\([0-9]*\).*/  '"$l"': \1 bytes compressed/'
done
