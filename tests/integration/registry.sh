#!/bin/bash
# pgimg push and pull against a real registry: Debian's docker-registry
# (the distribution project's server) with htpasswd basic auth on
# 127.0.0.1, started and stopped here.  The pushed PostgreSQL image is
# pulled and run by the Docker Engine and read by skopeo; pulled back,
# its digests match.  Failures: a wrong password, a registry killed
# mid-push (no tag is written) and mid-pull (nothing partial is stored).
#
# The image is $PGIMG_TEST_IMAGE, else $TEST_OUT/pg18.tar (build-images
# writes it), else built here into the test cache.
set -u
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/servers.sh"

have_docker || skip_all "no Docker Engine"
if ! command -v docker-registry >/dev/null || ! command -v htpasswd >/dev/null; then
	"$ROOT/tools/install-test-deps.sh" >/dev/null 2>&1 || true
fi
command -v docker-registry >/dev/null || skip_all "docker-registry is not installed (make test-deps)"
command -v htpasswd >/dev/null || skip_all "htpasswd is not installed (apache2-utils)"
command -v skopeo >/dev/null || skip_all "skopeo is not installed"

work=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-registry-XXXXXX")
reg_pid=
container=pgimg-registry-test-$$
cleanup() {
	[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
	docker rm -f "$container" >/dev/null 2>&1
	[ -n "${pulled_tag:-}" ] && docker rmi -f "$pulled_tag" "${pulled_tag%/pgimg/*}/other/postgres:18" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(free_port)
host="localhost:$port"
user=pgimg-tester
password="pw-$RANDOM-$RANDOM-secret"
htpasswd -Bbn "$user" "$password" > "$work/htpasswd" 2>/dev/null
cat > "$work/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: 127.0.0.1:$port
auth:
  htpasswd:
    realm: pgimg-test
    path: $work/htpasswd
EOF

stop_registry() { [ -n "$reg_pid" ] && kill -9 "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null; reg_pid=; }
# One registry at a time: a second start would lose the first one's pid.
start_registry() {
	stop_registry
	docker-registry serve "$work/registry.yml" >>"$work/registry.log" 2>&1 &
	reg_pid=$!
	for _ in $(seq 50); do
		curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && return 0
		sleep 0.1
	done
	return 1
}

start_registry || { echo "Bail out! docker-registry did not start: $(tail -3 "$work/registry.log")"; exit 1; }

# The environment variables are the documented way to log in; the Docker
# client gets its own config directory so the machine's is left alone.
export PGIMG_REGISTRY_USER=$user PGIMG_REGISTRY_PASSWORD=$password
export DOCKER_CONFIG=$work/docker
cache=$(cache_copy)
trap 'cleanup; rm -rf "$cache"' EXIT

image=${PGIMG_TEST_IMAGE:-$TEST_OUT/pg18.tar}
if [ ! -s "$image" ]; then
	echo "# building postgres-18 into $image"
	"$PGIMG" -q --cache-dir "$TEST_CACHE" build postgres-18 -o "$image" >/dev/null ||
		{ echo "Bail out! cannot build postgres-18"; exit 1; }
fi
# The manifest digest of the image, from its index.json (it may name
# several tags, all of one manifest).
want=$(image_digest "$image")
want=${want#sha256:}

push() { "$PGIMG" --cache-dir "$cache" push --insecure --json "$@"; }

# ---------------------------------------------------------------- push
if out=$(push "$image" "$host/pgimg/postgres:18" 2>"$work/push1.err"); then
	pass "push the image to the registry"
else
	fail "push the image to the registry" "$(cat "$work/push1.err")"
fi
got=$(field manifest <<<"$out" 2>/dev/null)
check_digest() { [ "$got" = "sha256:$want" ]; }
ok "push reports the image's manifest digest" check_digest
uploaded=$(field bytesUploaded <<<"$out" 2>/dev/null)
check_some() { [ "${uploaded:-0}" -gt 1000000 ]; }
ok "the first push uploads the blobs ($uploaded bytes)" check_some

out=$(push "$image" "$host/pgimg/postgres:18" 2>/dev/null)
second=$(field bytesUploaded <<<"$out" 2>/dev/null)
check_zero() { [ "$second" = 0 ] && [ "$(field uploaded <<<"$out")" = 0 ]; }
ok "a second push uploads 0 blob bytes (got ${second:-?})" check_zero

out=$(push --mount-from pgimg/postgres "$image" "$host/other/postgres:18" 2>/dev/null)
mounted=$(field mounted <<<"$out" 2>/dev/null)
check_mounted() { [ "${mounted:-0}" -ge 2 ] && [ "$(field bytesUploaded <<<"$out")" = 0 ]; }
ok "a push to another repository mounts the blobs (mounted ${mounted:-?}, 0 bytes)" check_mounted

# Build-then-push: the layers come from the test cache, and the image is
# the same one, so nothing is sent.
out=$("$PGIMG" -q --cache-dir "$TEST_CACHE" push --insecure --json postgres-18 "$host/pgimg/postgres:built" 2>"$work/built.err")
check_built() { [ "$(field manifest <<<"$out")" = "sha256:$want" ] && [ "$(field bytesUploaded <<<"$out")" = 0 ]; }
ok "push postgres-18 builds from the cache and pushes the same image (0 bytes)" check_built
[ -s "$work/built.err" ] && tail -3 "$work/built.err" | sed 's/^/#   /'

# ------------------------------------------------------- readers of it
if echo "$password" | docker login -u "$user" --password-stdin "$host" >/dev/null 2>&1; then
	pass "docker login to the test registry"
else
	fail "docker login to the test registry"
fi
pulled_tag="$host/pgimg/postgres:18"
docker_pull() { docker pull -q "$pulled_tag" >/dev/null; }
ok "docker pull $pulled_tag" docker_pull
ready() {
	docker run -d --name "$container" -e POSTGRES_PASSWORD=test "$pulled_tag" >/dev/null || return 1
	for _ in $(seq 60); do
		docker exec "$container" pg_isready -q -h 127.0.0.1 -U postgres 2>/dev/null && return 0
		sleep 1
	done
	docker logs --tail 20 "$container" 2>&1 | sed 's/^/# /'
	return 1
}
ok "docker run of the pulled image: pg_isready answers" ready
docker rm -f "$container" >/dev/null 2>&1

inspect=$(skopeo inspect --tls-verify=false --creds "$user:$password" "docker://$host/pgimg/postgres:18" 2>&1)
check_skopeo() { grep -q "\"Digest\": \"sha256:$want\"" <<<"$inspect"; }
ok "skopeo inspect reads it with the same digest" check_skopeo

# Credentials from the Docker client's config file (written by docker
# login above) work without the environment variables.
config_creds() {
	env -u PGIMG_REGISTRY_USER -u PGIMG_REGISTRY_PASSWORD "$PGIMG" -q --cache-dir "$cache" pull --insecure \
		"$host/pgimg/postgres:18" >/dev/null
}
ok "credentials are read from \$DOCKER_CONFIG/config.json" config_creds

# ---------------------------------------------------------------- pull
pull_out=$("$PGIMG" --cache-dir "$cache" pull --insecure --json "$host/other/postgres:18" -o "$work/pulled.tar" 2>&1)
ok "pull back into a fresh store and -o a tarball" test -s "$work/pulled.tar"
got=$(skopeo inspect --raw "oci-archive:$work/pulled.tar" | sha256sum | cut -d' ' -f1)
same_manifest() { [ "$got" = "$want" ]; }
ok "the pulled tarball has the pushed manifest digest" same_manifest
same_blobs() {
	local d
	for d in $(skopeo inspect --raw "oci-archive:$work/pulled.tar" | grep -o 'sha256:[0-9a-f]\{64\}'); do
		[ "$(sha256sum < "$cache/blobs/sha256/${d#sha256:}" | cut -d' ' -f1)" = "${d#sha256:}" ] || return 1
	done
}
ok "every blob of the image is in the store under its digest" same_blobs
ok "the tag is recorded in the store" grep -qx "sha256:$want" "$cache/refs/localhost/$port/other/postgres/18"
docker_load() { docker load -q -i "$work/pulled.tar" >/dev/null; }
ok "the pulled tarball loads into the Docker Engine" docker_load

# ---------------------------------------------------------- bad input
wrong=$(PGIMG_REGISTRY_PASSWORD=not-the-password push "$image" "$host/pgimg/postgres:wrong" 2>&1)
rc=$?
check_refused() { [ "$rc" = 1 ] && grep -q "login refused by registry $host: check PGIMG_REGISTRY_USER" <<<"$wrong"; }
ok "a wrong password: exit 1 and 'login refused by registry $host'" check_refused
check_secret() { ! grep -q -e "$password" -e not-the-password <<<"$wrong"; }
ok "the message shows no password" check_secret

anon=$(env -u PGIMG_REGISTRY_USER DOCKER_CONFIG="$work/none" "$PGIMG" --cache-dir "$cache" push --insecure \
	"$image" "$host/pgimg/postgres:anon" 2>&1)
check_anon() { grep -q "registry $host asks for a login" <<<"$anon"; }
ok "no credentials: the registry asks for a login, and the message says how" check_anon

# A big image of random data goes up in 4 MiB chunks at 16 MB/s, so that
# the registry can be killed in the middle.
mkbig() { "$ROOT/tests/integration/helpers/random-image.sh" "$work/big.tar" 96 pgimg-test/big:1; }
ok "make a 96 MiB image of random data" mkbig

# usage: kill_when_uploading REPO: kills the registry once some bytes of
# an upload of REPO are on its disk.
kill_when_uploading() {
	for _ in $(seq 200); do
		if [ -n "$(find "$work/storage" -path "*/$1/_uploads/*/data" -size +2M 2>/dev/null)" ]; then
			stop_registry
			return 0
		fi
		sleep 0.05
	done
	return 1
}
push --jobs 1 --chunk-size 4 --limit-rate 16 --retries 1 "$work/big.tar" "$host/pgimg/big:1" >/dev/null 2>"$work/killed.err" &
push_pid=$!
killed=0
kill_when_uploading pgimg/big && killed=1
wait "$push_pid"
rc=$?
check_killed() { [ "$killed" = 1 ] && [ "$rc" = 1 ] && grep -q "registry $host" "$work/killed.err"; }
ok "registry killed mid-push: exit 1 naming the registry" check_killed
sed 's/^/#   /' "$work/killed.err"
start_registry
no_tag() {
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' -u "$user:$password" \
		"http://127.0.0.1:$port/v2/pgimg/big/manifests/1")
	[ "$code" = 404 ]
}
ok "no tag was written by the killed push" no_tag
out=$(push --chunk-size 4 "$work/big.tar" "$host/pgimg/big:1" 2>/dev/null)
ok "the same push succeeds once the registry is back" test "$(field uploaded <<<"$out" 2>/dev/null)" -ge 1

"$PGIMG" --cache-dir "$cache" pull --insecure --jobs 1 --limit-rate 16 --retries 1 "$host/pgimg/big:1" >/dev/null 2>"$work/pull-killed.err" &
pull_pid=$!
big_hex=$(skopeo inspect --raw "oci-archive:$work/big.tar" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"][7:])')
for _ in $(seq 200); do
	[ -n "$(find "$cache/blobs/sha256" -name '.tmp-*' -size +1M 2>/dev/null)" ] && break
	sleep 0.02
done
stop_registry
wait "$pull_pid"
rc=$?
check_pull_killed() { [ "$rc" = 1 ] && grep -q "registry $host" "$work/pull-killed.err"; }
ok "registry killed mid-pull: exit 1 naming the registry" check_pull_killed
sed 's/^/#   /' "$work/pull-killed.err"
nothing_partial() { [ ! -e "$cache/blobs/sha256/$big_hex" ] && [ -z "$(temps_in "$cache")" ]; }
ok "and nothing partial is left in the store" nothing_partial

# ----------------------------------------------------------- signatures
start_registry
"$PGIMG" -q key generate -o "$work/ci" && "$PGIMG" -q key generate -o "$work/other"
ok "pgimg key generate writes a private key of mode 600" test "$(stat -c %a "$work/ci.key")" = 600
spull() { "$PGIMG" --cache-dir "$cache" pull --insecure "$@" 2>&1; }
signed_push() { push --sign-key "$work/ci.key" "$image" "$host/signed/pg:18" >/dev/null 2>&1; }
ok "a signed push" signed_push
signed_ok() { spull --trusted-key "$work/ci.pub" "$host/signed/pg:18" >/dev/null; }
ok "pull with the signer's public key checks the signature" signed_ok
msg=$(spull --trusted-key "$work/other.pub" "$host/signed/pg:18")
check_other() { grep -q "is not made by any of the 1 trusted keys" <<<"$msg"; }
ok "another key's public half refuses it" check_other
push "$work/big.tar" "$host/signed/pg:big" >/dev/null 2>&1
msg=$(spull --trusted-key "$work/ci.pub" "$host/signed/pg:big")
check_unsigned() { grep -q "is not signed; refused" <<<"$msg"; }
ok "an unsigned image is refused" check_unsigned
# A tampered entry: the signature of one image put in the place of another's.
tamper() {
	local accept=application/vnd.oci.image.manifest.v1+json sig big
	sig=$(push "$image" "$host/signed/pg:18" 2>/dev/null | field manifest)
	big=$(push "$work/big.tar" "$host/signed/pg:big" 2>/dev/null | field manifest)
	curl -sf -u "$user:$password" -H "Accept: $accept" \
		"http://127.0.0.1:$port/v2/signed/pg/manifests/sha256-${sig#sha256:}.sig" > "$work/sig.json" &&
		curl -sf -u "$user:$password" -X PUT -H "Content-Type: $accept" --data-binary "@$work/sig.json" \
			"http://127.0.0.1:$port/v2/signed/pg/manifests/sha256-${big#sha256:}.sig" >/dev/null || return 1
	msg=$(spull --trusted-key "$work/ci.pub" "$host/signed/pg:big")
	grep -q "is a trusted key's but for manifest $sig, not $big (moved from another image); refused" <<<"$msg"
}
ok "a signature moved onto another image is refused" tamper

finish
