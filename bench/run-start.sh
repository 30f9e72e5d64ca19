#!/bin/bash
# Container start to ready on warm data: `pgimg run -d` of an image whose
# root is unpacked and whose cluster exists (the first start, which runs
# initdb, is not timed), until the server accepts connections on
# 127.0.0.1 (`pgimg run -d` returns only then).  Target: under 2 s.
# Prints the median of 5 starts, in seconds and as a ratio to 2 s.
set -eu
cd "$(dirname "$0")/.."
m=${1:-18}
cache=${PGIMG_BENCH_CACHE:-build/test-cache}
name=pgimg-bench-start-$$
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pg() { ./pgimg -q --cache-dir "$cache" "$@"; }
trap 'pg stop "$name" >/dev/null 2>&1 || :; rm -rf "$cache/run/$name"' EXIT
make -s pgimg
# Warm: the image's layers, its root and an initialized cluster.
pg run -d --name "$name" --port "$port" -e POSTGRES_PASSWORD=bench "postgres-$m"
pg stop "$name" >/dev/null
times=()
for _ in 1 2 3 4 5; do
	s=$(date +%s.%N)
	pg run -d --name "$name" --port "$port" -e POSTGRES_PASSWORD=bench "postgres-$m"
	e=$(date +%s.%N)
	times+=("$(echo "$e - $s" | bc)")
	pg stop "$name" >/dev/null
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
echo "start to ready of postgres-$m on warm data: ${median} s (median of 5: ${times[*]})"
echo "ratio to the 2 s target: $(echo "scale=3; $median / 2" | bc)"
