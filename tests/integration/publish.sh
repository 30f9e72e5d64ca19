#!/bin/bash
# The CI workflow's publish steps (tools/publish.sh) against a real
# registry on 127.0.0.1 (Debian's docker-registry, started and stopped
# here): the image is pushed under its version, its major and a release
# tag, skopeo reads them, and the layer cache pushed beside them lets an
# empty cache build the same image without building a layer.
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

run_publish() {
	PGIMG_CACHE_DIR="$TEST_CACHE" PGIMG_PUBLISH_REPO="$host/pgimg/postgres" PGIMG_PUBLISH_CACHE="$host/pgimg/cache:main" \
		PGIMG_PUBLISH_MAJORS=$m PGIMG_PUBLISH_TAG=v1.0.0 PGIMG_PUSH_ARGS=--insecure PGIMG_PUBLISH_OUT="$work/out" \
		"$ROOT/tools/publish.sh" >"$work/publish.log" 2>&1
}
if run_publish; then pass "tools/publish.sh pushes postgres-$m and the cache"; else fail "tools/publish.sh" "$(tail -5 "$work/publish.log")"; fi
inspect() { skopeo inspect --tls-verify=false "docker://$host/pgimg/postgres:$1" >/dev/null; }
for tag in "$m" "$m-v1.0.0"; do
	ok "skopeo reads pgimg/postgres:$tag" inspect "$tag"
done
empty="$work/empty"
from_cache() {
	"$PGIMG" -q --cache-dir "$empty" build "postgres-$m" --set default --insecure-registry \
		--cache-from "$host/pgimg/cache:main" -o "$work/again.tar" --json > "$work/again.json" &&
		! grep -q '"built":true' "$work/again.json" && cmp -s "$work/again.tar" "$work/out/pg$m.tar"
}
ok "an empty cache builds the published image from the pushed cache, building nothing" from_cache
finish
