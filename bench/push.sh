#!/bin/bash
# Push to a local registry: the bytes of a second push of the same image
# (target 0), and push throughput against `skopeo copy` of the same
# tarball to the same registry (target: ratio >= 1.0).  Each timed push
# goes to a registry started fresh on empty storage, best of 3.
#
#   bench/push.sh [IMAGE.tar]   default build/test-out/pg18.tar, else
#                               postgres-18 built into the bench cache
set -eu
cd "$(dirname "$0")/.."
cache=${PGIMG_BENCH_CACHE:-build/test-cache}
image=${1:-build/test-out/pg18.tar}
command -v docker-registry >/dev/null || { echo "bench/push.sh: needs docker-registry (make test-deps)" >&2; exit 1; }
command -v skopeo >/dev/null || { echo "bench/push.sh: needs skopeo" >&2; exit 1; }
make -s pgimg
if [ ! -s "$image" ]; then
	mkdir -p "$(dirname "$image")"
	./pgimg -q --cache-dir "$cache" build postgres-18 -o "$image"
fi
work=$(mktemp -d)
pid=
stop() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	pid=
}
trap 'stop; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

fresh_registry() {
	stop
	rm -rf "$work/storage"
	printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
		"$work/storage" "$port" > "$work/registry.yml"
	docker-registry serve "$work/registry.yml" >>"$work/registry.log" 2>&1 &
	pid=$!
	for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && return 0; sleep 0.1; done
	echo "bench/push.sh: the registry did not start" >&2
	exit 1
}
now() { date +%s.%N; }
# best_of_3 COMMAND...: the best wall time into $best, each run on a fresh
# registry.  Not called in $(...): the registry's pid must stay in this shell.
best_of_3() {
	local s t
	best=
	for _ in 1 2 3; do
		fresh_registry
		s=$(now)
		"$@" >/dev/null 2>&1
		t=$(echo "$(now) - $s" | bc)
		if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
	done
}

tag=$(python3 -c 'import json,sys,tarfile; print(json.load(tarfile.open(sys.argv[1]).extractfile("index.json"))["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"])' "$image")
size=$(stat -c %s "$image")
pgimg_push() { ./pgimg -q --cache-dir "$cache" push --insecure "$image" "127.0.0.1:$port/bench/pgimg:1"; }
skopeo_copy() {
	skopeo copy -q --dest-tls-verify=false "oci-archive:$image:$tag" "docker://127.0.0.1:$port/bench/skopeo:1"
}
best_of_3 pgimg_push
t_pgimg=$best
second=$(./pgimg -q --cache-dir "$cache" push --insecure --json "$image" "127.0.0.1:$port/bench/pgimg:1" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["bytesUploaded"])')
best_of_3 skopeo_copy
t_skopeo=$best
echo "image $image: $(echo "scale=1; $size / 1000000" | bc) MB"
echo "second push of the same image: $second blob bytes uploaded (target 0)"
echo "push: pgimg ${t_pgimg} s, skopeo copy ${t_skopeo} s (best of 3, fresh registry each)"
echo "throughput ratio (skopeo time / pgimg time, target >= 1.0): $(echo "scale=2; $t_skopeo / $t_pgimg" | bc)"
