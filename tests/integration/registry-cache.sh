#!/bin/bash
# The remote build cache through a real registry (Debian's
# docker-registry on 127.0.0.1): `pgimg push --cache` sends the layer
# cache of a machine that built postgres-18, signed; a machine with an
# empty cache pulls it (`pgimg pull --cache --trusted-key`) and builds
# the same image without building a layer.  A cache signed by another
# key, or an image that is not a cache, is refused and records nothing.
# A plan (build --plan --cache-from) sees the cache's layers as remote.
set -u
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/servers.sh"

need_registry

work=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-registry-cache-XXXXXX")
reg_pid=
cleanup() {
	[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_plain_registry "$work" || { echo "Bail out! docker-registry did not start: $(tail -3 "$work/registry.log")"; exit 1; }
host="localhost:$reg_port"


# The machine that built: the test cache (build-images fills it).
if out=$("$PGIMG" -q --cache-dir "$TEST_CACHE" build postgres-18 -o "$work/first.tar" --json); then
	pass "postgres-18 is built in the test cache"
else
	fail "postgres-18 is built in the test cache"
	finish
fi
want=$(field manifest <<<"$out")
"$PGIMG" -q key generate -o "$work/ci" && "$PGIMG" -q key generate -o "$work/other"

out=$("$PGIMG" -q --cache-dir "$TEST_CACHE" push --cache --insecure --json --sign-key "$work/ci.key" \
	"$host/pgimg/cache:ci" 2>"$work/push.err")
check_push() { [ "$(field uploaded <<<"$out")" -ge 3 ]; }
ok "push --cache sends the layer cache ($(field blobs <<<"$out" 2>/dev/null) blobs)" check_push
[ -s "$work/push.err" ] && sed 's/^/#   /' "$work/push.err"
first_manifest=$(field manifest <<<"$out" 2>/dev/null)
out=$("$PGIMG" -q --cache-dir "$TEST_CACHE" push --cache --insecure --json --sign-key "$work/ci.key" \
	"$host/pgimg/cache:ci" 2>/dev/null)
if [ "$(field manifest <<<"$out" 2>/dev/null)" = "$first_manifest" ]; then
	ok "a second push --cache uploads 0 blob bytes" test "$(field bytesUploaded <<<"$out" 2>/dev/null)" = 0
else
	# A build sharing the test cache added entries in between.
	pass "a second push --cache # SKIP the cache changed between the two pushes"
fi

# The other machine: nothing at all in its cache, not even downloads.
empty="$work/empty-cache"
mkdir -p "$empty"
s=$(date +%s.%N)
out=$("$PGIMG" -q --cache-dir "$empty" pull --cache --insecure --json --trusted-key "$work/ci.pub" \
	"$host/pgimg/cache:ci" 2>"$work/pull.err")
check_pull() { [ "$(field entries <<<"$out")" -ge 3 ]; }
ok "pull --cache into an empty cache checks the signature and records the entries" check_pull
[ -s "$work/pull.err" ] && sed 's/^/#   /' "$work/pull.err"
out=$("$PGIMG" -q --cache-dir "$empty" build postgres-18 -o "$work/second.tar" --json 2>"$work/build.err")
e=$(date +%s.%N)
built=$(grep -o '"built":true' <<<"$out" | wc -l)
check_none() { [ -n "$out" ] && [ "$built" = 0 ]; }
ok "the build with the pulled cache builds no layer" check_none
[ -s "$work/build.err" ] && tail -5 "$work/build.err" | sed 's/^/#   /'
check_same() { [ "$(field manifest <<<"$out")" = "$want" ] && cmp -s "$work/first.tar" "$work/second.tar"; }
ok "and writes the same image, byte for byte" check_same
echo "# pull --cache and build from it: $(echo "$e - $s" | bc) s (a cold build of postgres-18 takes minutes)"
ok "nothing was downloaded for the build" test ! -e "$empty/downloads/sha256"

fresh="$work/fresh"
mkdir -p "$fresh"
msg=$("$PGIMG" --cache-dir "$fresh" pull --cache --insecure --trusted-key "$work/other.pub" "$host/pgimg/cache:ci" 2>&1)
check_refused() {
	grep -q "is not made by any of the 1 trusted keys" <<<"$msg" && [ -z "$(ls "$fresh/layers" 2>/dev/null)" ]
}
ok "a cache signed by another key is refused, and no entry is recorded" check_refused

"$PGIMG" -q --cache-dir "$TEST_CACHE" push --insecure "$work/first.tar" "$host/pgimg/postgres:18" 2>/dev/null
msg=$("$PGIMG" --cache-dir "$fresh" pull --cache --insecure "$host/pgimg/postgres:18" 2>&1)
check_image() { grep -q "is an image, not a pgimg build cache" <<<"$msg" && [ -z "$(ls "$fresh/layers" 2>/dev/null)" ]; }
ok "an image is not taken for a cache" check_image

# build --cache-from in one step: another empty cache builds nothing,
# as its plan says first (the plan reads the cache's list of keys only,
# and writes nothing).
third="$work/third"
mkdir -p "$third"
plan=$("$PGIMG" --cache-dir "$third" build postgres-18 --plan --json --insecure-registry \
	--trusted-key "$work/ci.pub" --cache-from "$host/pgimg/cache:ci" 2>"$work/plan.err")
check_plan() {
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d and all(s["state"] == "remote" and s["key"] for s in d), d' "$plan" \
		&& [ -z "$(ls -A "$third")" ]
}
ok "build --plan --cache-from: every layer is remote, and nothing was written" check_plan
[ -s "$work/plan.err" ] && tail -3 "$work/plan.err" | sed 's/^/#   /'
out=$("$PGIMG" --cache-dir "$third" build postgres-18 -o "$work/third.tar" --json --insecure-registry \
	--trusted-key "$work/ci.pub" --cache-from "$host/pgimg/cache:ci" 2>"$work/third.err")
built=$(grep -o '"built":true' <<<"$out" | wc -l)
check_from() { [ -n "$out" ] && [ "$built" = 0 ] && cmp -s "$work/first.tar" "$work/third.tar"; }
ok "build --cache-from builds no layer and writes the same image" check_from
# A cache signed by another key is skipped with a note, and the build goes
# on (stopped after the note: a cold build is not what is tested).
msg=$(timeout 30 "$PGIMG" --cache-dir "$fresh" build postgres-18 -o "$work/fourth.tar" --insecure-registry \
	--trusted-key "$work/other.pub" --cache-from "$host/pgimg/cache:ci" 2>&1 >/dev/null | head -3)
check_skip() { grep -q "not using the cache .*building instead" <<<"$msg"; }
ok "a wrongly signed --cache-from is skipped with a clear note" check_skip
finish
