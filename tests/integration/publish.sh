#!/bin/bash
# The CI workflow's publish steps (tools/publish.sh) against a real
# registry on 127.0.0.1 (Debian's docker-registry, started and stopped
# here): the newest major's image is pushed for linux/amd64 and
# linux/arm64 as one image index under its version, its major and a
# release tag (publish.sh checks each with crane; skopeo reads them here
# too), and the layer cache pushed beside them lets an empty cache build
# the same index without building a layer.  Only the newest major, to
# keep the arm64 cross build to one (the workflow publishes every one).
set -u
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/servers.sh"
command -v docker-registry >/dev/null || skip_all "docker-registry is not installed (make test-deps)"
command -v skopeo >/dev/null || skip_all "skopeo is not installed"

work=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-publish-XXXXXX")
reg_pid=
cleanup() { [ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
port=$(free_port)
cat > "$work/registry.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $work/data
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
host=127.0.0.1:$port
m=$(cd "$ROOT/versions" && ls *.json | sed 's/\.json$//' | sort -n | tail -1)

crane=$("$ROOT/tools/test-servers.sh" crane 2>/dev/null) || skip_all "crane cannot be built here (tools/test-servers.sh crane)"
run_publish() {
	PGIMG_CACHE_DIR="$TEST_CACHE" PGIMG_PUBLISH_REPO="$host/pgimg/postgres" PGIMG_PUBLISH_CACHE="$host/pgimg/cache:main" \
		PGIMG_PUBLISH_MAJORS=$m PGIMG_PUBLISH_TAG=v1.0.0 PGIMG_PUSH_ARGS=--insecure PGIMG_PUBLISH_OUT="$work/out" \
		PGIMG_CRANE="$crane" "$ROOT/tools/publish.sh" >"$work/publish.log" 2>&1
}
if run_publish; then pass "tools/publish.sh pushes postgres-$m for both platforms and the cache"; else fail "tools/publish.sh" "$(tail -5 "$work/publish.log")"; fi
grep '^publish: ' "$work/publish.log" | sed 's/^/#   /'
ok "publish.sh says it pushed postgres-$m for linux/amd64 and linux/arm64" \
	grep -q "^publish: $m (linux/amd64,linux/arm64) pushed to $host/pgimg/postgres" "$work/publish.log"
version=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"].split(":")[1])' "$work/out/pg$m.json")
platforms_of() {
	skopeo inspect --raw --tls-verify=false "docker://$host/pgimg/postgres:$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["mediaType"], *sorted(m["platform"]["os"] + "/" + m["platform"]["architecture"] for m in d["manifests"]))'
}
for tag in "$version" "$m" "$m-v1.0.0"; do
	got=$(platforms_of "$tag" 2>&1)
	ok "pgimg/postgres:$tag is an image index of linux/amd64 and linux/arm64 (got: $got)" \
		[ "$got" = "application/vnd.oci.image.index.v1+json linux/amd64 linux/arm64" ]
done
ok "skopeo reads the linux/arm64 image of pgimg/postgres:$m" \
	eval 'skopeo inspect --tls-verify=false --override-arch arm64 "docker://$host/pgimg/postgres:$m" | grep -q "\"Architecture\": \"arm64\""'
empty="$work/empty"
# Each platform's plan, from the pushed cache into an empty one: no
# layer with a key is to be built; then the build gives the same bytes.
nothing_to_build() {
	local p
	for p in linux/amd64 linux/arm64; do
		"$PGIMG" -q --cache-dir "$empty" build "postgres-$m" --set default --platform "$p" --plan \
			--insecure-registry --cache-from "$host/pgimg/cache:main" > "$work/plan.txt" 2>/dev/null || return 1
		awk 'NR > 1 && $4 != "-" && $5 == "build" { bad = 1; print "#   " $0 } END { exit bad }' "$work/plan.txt" || return 1
	done
}
ok "the pushed cache holds every layer of both platforms (plans of an empty cache build none)" nothing_to_build
from_cache() {
	"$PGIMG" -q --cache-dir "$empty" build "postgres-$m" --set default --platform linux/amd64,linux/arm64 \
		--insecure-registry --cache-from "$host/pgimg/cache:main" -o "$work/again.tar" &&
		cmp -s "$work/again.tar" "$work/out/pg$m.tar"
}
ok "an empty cache builds the published index from the pushed cache, the same bytes" from_cache
finish
