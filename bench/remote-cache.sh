#!/bin/bash
# A build served entirely from the remote cache against a cold build of
# the same image (target: at least 20x faster).  The cold build runs in
# an empty cache (downloads included), its layer cache is pushed to a
# local registry, and a second empty cache pulls it and builds.
#
#   bench/remote-cache.sh [MAJOR]      default 18; takes a few minutes
set -eu
cd "$(dirname "$0")/.."
m=${1:-18}
command -v docker-registry >/dev/null || { echo "bench/remote-cache.sh: needs docker-registry (make test-deps)" >&2; exit 1; }
make -s pgimg
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
	"$work/storage" "$port" > "$work/registry.yml"
docker-registry serve "$work/registry.yml" >>"$work/registry.log" 2>&1 &
pid=$!
now() { date +%s.%N; }

s=$(now)
./pgimg -q --cache-dir "$work/cold" build "postgres-$m" -o "$work/cold.tar" >/dev/null
t_cold=$(echo "$(now) - $s" | bc)
./pgimg -q --cache-dir "$work/cold" push --cache --insecure "127.0.0.1:$port/bench/cache:$m"
s=$(now)
./pgimg -q --cache-dir "$work/warm" pull --cache --insecure "127.0.0.1:$port/bench/cache:$m"
./pgimg -q --cache-dir "$work/warm" build "postgres-$m" -o "$work/warm.tar" --json > "$work/warm.json"
t_warm=$(echo "$(now) - $s" | bc)
built=$(grep -o '"built":true' "$work/warm.json" | wc -l)
same=no
cmp -s "$work/cold.tar" "$work/warm.tar" && same=yes
echo "postgres-$m: cold build ${t_cold} s; pull --cache and build ${t_warm} s; layers built: $built; same bytes: $same"
echo "ratio (cold / remote cache, target >= 20): $(echo "scale=1; $t_cold / $t_warm" | bc)"
