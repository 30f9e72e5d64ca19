#!/bin/bash
# platform-index.sh - one image for linux/amd64 and linux/arm64
# (docs/platforms.md): `pgimg build --platform linux/amd64,linux/arm64`
# writes the same bytes twice, as an OCI image index naming one manifest
# per platform, each with its receipt and SBOM beside it.  Pushed to
# Debian's docker-registry on 127.0.0.1, `crane manifest` shows an index
# of linux/amd64 and linux/arm64, the Docker Engine pulls the arm64
# image of it, and a second push sends no blob.  The layers come from
# the shared test cache (arm64.sh builds them; a cold cache costs a
# cross build of PostgreSQL).  Running the arm64 image is arm64.sh's.
set -u
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/servers.sh"

skip_unless_builds
need_registry

work=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-index-XXXXXX")
reg_pid=
pulled=
cleanup() {
	[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
	[ -n "$pulled" ] && docker rmi -f "$pulled" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

build() { "$PGIMG" -q --cache-dir "$TEST_CACHE" build postgres-18 --platform "$1" "${@:2}"; }
tar=$work/pg18.tar
if ! build linux/amd64,linux/arm64 -o "$tar" 2>"$work/build.err"; then
	fail "postgres-18 builds for linux/amd64,linux/arm64" "$(tail -3 "$work/build.err")"
	finish
fi
pass "postgres-18 builds for linux/amd64,linux/arm64"
build linux/arm64,linux/amd64 -o "$work/again.tar" 2>"$work/build.err" || fail "the build again" "$(tail -3 "$work/build.err")"
ok "the same inputs give the same bytes (platforms in either order)" cmp -s "$tar" "$work/again.tar"
build linux/amd64,linux/arm64 --format oci-dir -o "$work/layout" 2>"$work/build.err" ||
	fail "the build as an OCI layout" "$(tail -3 "$work/build.err")"

# The layout, read with Python, not pgimg: index.json -> the image index
# -> one manifest per platform, whose config says that platform.
layout_platforms() {
	python3 - "$1" <<'PY'
import json, sys
root = sys.argv[1]
blob = lambda d: json.load(open(root + "/blobs/sha256/" + d.split(":")[1]))
top = json.load(open(root + "/index.json"))
assert {m["mediaType"] for m in top["manifests"]} == {"application/vnd.oci.image.index.v1+json"}, top
index = blob(top["manifests"][0]["digest"])
assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
for m in index["manifests"]:
    p = m["platform"]
    config = blob(blob(m["digest"])["config"]["digest"])
    assert config["architecture"] == p["architecture"] and config["os"] == p["os"], (p, config["architecture"])
    print(p["os"] + "/" + p["architecture"])
PY
}
got=$(layout_platforms "$work/layout" 2>&1 | tr '\n' ' ')
ok "the layout's index.json names an image index of linux/amd64 and linux/arm64 ($got)" test "$got" = "linux/amd64 linux/arm64 "
for f in receipt.json spdx.json arm64.receipt.json arm64.spdx.json; do
	[ -s "$tar.$f" ] || fail "the receipt and SBOM of each platform are beside the tarball" "no $tar.$f"
done
ok "the arm64 SBOM lists arm64 packages" grep -q 'arch=arm64' "$tar.arm64.spdx.json"

# The blobs both platforms' manifests name, each once.
n_blobs=$(python3 -c '
import json, sys
root = sys.argv[1]
blob = lambda d: json.load(open(root + "/blobs/sha256/" + d.split(":")[1]))
index = blob(json.load(open(root + "/index.json"))["manifests"][0]["digest"])
names = set()
for m in index["manifests"]:
    man = blob(m["digest"])
    names |= {man["config"]["digest"]} | {l["digest"] for l in man["layers"]}
print(len(names))' "$work/layout")

crane=$("$ROOT/tools/test-servers.sh" crane 2>/dev/null) || crane=
start_plain_registry "$work" || { echo "Bail out! docker-registry did not start: $(tail -3 "$work/registry.log")"; exit 1; }
ref=127.0.0.1:$reg_port/pgimg/multi:18
push() { "$PGIMG" --cache-dir "$TEST_CACHE" push --insecure --json "$tar" "$ref" 2>"$work/push.err"; }
if out=$(push); then
	pass "pgimg push of the index"
	ok "the first push uploads the $n_blobs blobs of both platforms" \
		test "$(field blobs <<<"$out")" = "$n_blobs" -a "$(field uploaded <<<"$out")" = "$n_blobs"
	index=$(field manifest <<<"$out")
	ok "the index digest is the one pgimg build wrote" test "$index" = "$(image_digest "$tar")"
else
	fail "pgimg push of the index" "$(tail -3 "$work/push.err")"
	finish
fi

if [ -n "$crane" ]; then
	m=$("$crane" manifest --insecure "$ref" 2>&1)
	got=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["mediaType"], *sorted(m["platform"]["os"] + "/" + m["platform"]["architecture"] for m in d["manifests"]))' "$m" 2>&1)
	ok "crane manifest: an image index of linux/amd64 and linux/arm64" \
		test "$got" = "application/vnd.oci.image.index.v1+json linux/amd64 linux/arm64"
	ok "crane validate --remote: every platform's blobs are there" eval '"$crane" validate --insecure --remote "$ref" >/dev/null' 
else
	echo "# crane cannot be built here (tools/test-servers.sh crane): its checks are left out"
fi

if have_docker; then
	if docker pull -q --platform linux/arm64 "$ref" >/dev/null 2>"$work/pull.err"; then
		pulled=$ref
		pass "docker pull --platform linux/arm64 of the index"
		ok "the pulled image is arm64" test "$(docker image inspect -f '{{.Os}}/{{.Architecture}}' "$ref")" = linux/arm64
	else
		fail "docker pull --platform linux/arm64 of the index" "$(tail -3 "$work/pull.err")"
	fi
fi

out=$(push) || fail "the second push" "$(tail -3 "$work/push.err")"
ok "a second push sends no blob" test "$(field uploaded <<<"$out")" = 0 -a "$(field bytesUploaded <<<"$out")" = 0
# The layout directory is the same index: pushed under another tag, it
# sends no blob either.
out=$("$PGIMG" --cache-dir "$TEST_CACHE" push --insecure --json "$work/layout" "${ref%:*}:layout" 2>"$work/push.err") ||
	fail "pgimg push of the layout directory" "$(tail -3 "$work/push.err")"
ok "the layout directory pushes the same index, sending no blob" \
	test "$(field manifest <<<"$out")" = "$index" -a "$(field uploaded <<<"$out")" = 0
# Build-then-push: postgres-18 --platform linux/amd64,linux/arm64 builds
# both (from the cache: the layers above) and pushes the same index.
out=$("$PGIMG" -q --cache-dir "$TEST_CACHE" push --insecure --json --platform linux/amd64,linux/arm64 postgres-18 \
	"${ref%:*}:built" 2>"$work/push.err") || fail "pgimg push postgres-18 --platform linux/amd64,linux/arm64" "$(tail -3 "$work/push.err")"
ok "push postgres-18 --platform linux/amd64,linux/arm64 pushes the same index, sending no blob" \
	test "$(field manifest <<<"$out")" = "$index" -a "$(field uploaded <<<"$out")" = 0
ok "it leaves no scratch directory in the cache" eval '! ls -a "$TEST_CACHE/work" 2>/dev/null | grep -q -- -push-index-'
if [ -n "$crane" ]; then
	got=$("$crane" manifest --insecure "${ref%:*}:built" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(*sorted(m["platform"]["architecture"] for m in d["manifests"]))' 2>&1)
	ok "crane manifest of the built-then-pushed tag: amd64 and arm64" test "$got" = "amd64 arm64"
fi
# pgimg pull of the index takes its linux/amd64 image.
pulled_pg() {
	local fresh
	fresh=$(mktemp -d "$work/pull-XXXXXX")
	out=$("$PGIMG" --cache-dir "$fresh" pull --insecure --json "${ref%:*}:built" -o "$work/pulled.tar" 2>"$work/pull.err") &&
		python3 -c '
import json, sys
m = json.load(open(sys.argv[1] + "/blobs/sha256/" + sys.argv[2][7:]))
c = json.load(open(sys.argv[1] + "/blobs/sha256/" + m["config"]["digest"][7:]))
assert c["architecture"] == "amd64", c["architecture"]' "$fresh" "$(field manifest <<<"$out")" &&
		[ -s "$fresh/blobs/sha256/${index#sha256:}" ]
}
ok "pgimg pull of the index takes its linux/amd64 image and keeps the index" pulled_pg
finish
