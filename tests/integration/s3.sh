#!/bin/bash
# pgimg push and pull against a real S3 server on 127.0.0.1: Versity's
# gateway (PGIMG_S3_SERVER=versitygw, the default: it builds in a third
# of MinIO's time) or MinIO (PGIMG_S3_SERVER=minio), installed by
# tools/test-servers.sh (built once with `go install`, cached), started
# and stopped here.  The bucket is made and objects are
# read with curl's own SigV4, so the two signers check each other.
# Covers: the layout (blobs/sha256/, manifests/<tag>), multipart uploads,
# a second push sending 0 bytes, pulling back with equal digests,
# credentials from ~/.aws/credentials, a wrong secret
# (SignatureDoesNotMatch) and key id, a missing bucket, a corrupted blob
# refused on pull with nothing stored, signatures, and a server killed
# mid-push leaving the tag as it was, and a layer cache moved through
# the bucket (push --cache, pull --cache), and an image index of
# linux/amd64 and linux/arm64 stored as a registry stores it (the index
# and each manifest under blobs/sha256/), pulled back, signed, and
# refused when the index or a manifest in the bucket is not what its
# digest says.
set -u
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/servers.sh"

server=${PGIMG_S3_SERVER:-versitygw}
bin=$("$ROOT/tools/test-servers.sh" "$server") || skip_all "$server cannot be installed (tools/test-servers.sh $server)"
command -v skopeo >/dev/null || skip_all "skopeo is not installed"

work=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-s3-XXXXXX")
cache=$(cache_copy)
s3_pid=
cleanup() {
	[ -n "$s3_pid" ] && kill "$s3_pid" 2>/dev/null && wait "$s3_pid" 2>/dev/null
	rm -rf "$work" "$cache"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(free_port)
console=$(free_port)
endpoint="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=pgimg-test-key
export AWS_SECRET_ACCESS_KEY="secret-$RANDOM-$RANDOM-$RANDOM"
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL
export AWS_SHARED_CREDENTIALS_FILE=$work/none

mkdir -p "$work/data"
start_s3() {
	if [ "$server" = minio ]; then
		MINIO_ROOT_USER=$AWS_ACCESS_KEY_ID MINIO_ROOT_PASSWORD=$AWS_SECRET_ACCESS_KEY MINIO_BROWSER=off \
			"$bin" server --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$console" \
			"$work/data" >>"$work/server.log" 2>&1 &
	else
		ROOT_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID ROOT_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
			"$bin" --quiet --port "127.0.0.1:$port" posix "$work/data" >>"$work/server.log" 2>&1 &
	fi
	s3_pid=$!
	# Any HTTP answer (even 403 to an unsigned request) means it listens.
	for _ in $(seq 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$endpoint/")" != 000 ] && return 0
		sleep 0.2
	done
	return 1
}
stop_s3() { kill -9 "$s3_pid" 2>/dev/null; wait "$s3_pid" 2>/dev/null; s3_pid=; }
start_s3 || { echo "Bail out! $server did not start: $(tail -3 "$work/server.log")"; exit 1; }
echo "# S3 server: $server"

# curl signs on its own: an independent SigV4 to make and read objects.
# curl signs the body only when told its hash (S3 servers want it).
s3sign() {
	local hash=$1
	shift
	curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: $hash" "$@"
}
s3curl() { s3sign "$(printf '' | sha256sum | cut -d' ' -f1)" "$@"; }
s3put() { s3sign "$(sha256sum < "$1" | cut -d' ' -f1)" -X PUT --data-binary "@$1" -o /dev/null "$2"; }
ok "make bucket pgimg-test with curl --aws-sigv4" s3curl -X PUT -o /dev/null "$endpoint/pgimg-test"

push() { "$PGIMG" --cache-dir "$cache" push --endpoint "$endpoint" --json "$@"; }
pull() { "$PGIMG" --cache-dir "$cache" pull --endpoint "$endpoint" "$@"; }
qpull() { pull "$@" >/dev/null 2>&1; }
digest_of() { skopeo inspect --raw "oci-archive:$1" | sha256sum | cut -d' ' -f1; }

ok "make a 40 MiB image of random data" "$ROOT/tests/integration/helpers/random-image.sh" "$work/img.tar" 40
want=$(digest_of "$work/img.tar")
layer=$(skopeo inspect --raw "oci-archive:$work/img.tar" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"][7:])')

# ---------------------------------------------------------------- push
# --chunk-size 8: the 40 MiB layer goes up as a multipart upload of 5 parts.
out=$(push --chunk-size 8 "$work/img.tar" s3://pgimg-test/cache/pg:18 2>"$work/push.err")
check_push() { [ "$(field manifest <<<"$out")" = "sha256:$want" ] && [ "$(field uploaded <<<"$out")" = 2 ]; }
ok "push to s3://pgimg-test/cache/pg:18 (multipart above 8 MiB)" check_push
[ -s "$work/push.err" ] && sed 's/^/#   /' "$work/push.err"
index_ok() {
	s3curl "$endpoint/pgimg-test/cache/pg/manifests/18" > "$work/index.json" &&
		grep -q "\"digest\":\"sha256:$want\"" "$work/index.json"
}
ok "manifests/18 is a small index naming the manifest" index_ok
blob_ok() { [ "$(s3curl "$endpoint/pgimg-test/cache/pg/blobs/sha256/$layer" | sha256sum | cut -d' ' -f1)" = "$layer" ]; }
ok "blobs/sha256/<hex> holds the layer, intact after the multipart upload" blob_ok
out=$(push "$work/img.tar" s3://pgimg-test/cache/pg:18 2>/dev/null)
second=$(field bytesUploaded <<<"$out" 2>/dev/null)
check_zero() { [ "$second" = 0 ] && [ "$(field present <<<"$out")" = 2 ]; }
ok "a second push uploads 0 blob bytes (got ${second:-?})" check_zero

# ---------------------------------------------------------------- pull
ok "pull it back with -o" qpull s3://pgimg-test/cache/pg:18 -o "$work/pulled.tar"
same() { [ "$(digest_of "$work/pulled.tar")" = "$want" ] && [ -s "$cache/blobs/sha256/$layer" ]; }
ok "the pulled image has the pushed digest, and its blobs are in the store" same
ok "the tag is recorded in the store" grep -qx "sha256:$want" "$cache/refs/s3/pgimg-test/cache/pg/18"

creds_file() {
	printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
		"$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" > "$work/credentials"
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE="$work/credentials" \
		"$PGIMG" -q --cache-dir "$cache" pull --endpoint "$endpoint" s3://pgimg-test/cache/pg:18
}
ok "credentials are read from the AWS credentials file" creds_file

# ---------------------------------------------------------- bad input
msg=$(AWS_SECRET_ACCESS_KEY=not-the-secret push "$work/img.tar" s3://pgimg-test/x:1 2>&1)
rc=$?
check_sig() { [ "$rc" = 1 ] && grep -q "bucket pgimg-test refused the request signature (SignatureDoesNotMatch)" <<<"$msg"; }
ok "a wrong secret: exit 1 and SignatureDoesNotMatch, naming the bucket" check_sig
check_secret() { ! grep -q -e "$AWS_SECRET_ACCESS_KEY" -e not-the-secret <<<"$msg"; }
ok "the message shows no secret" check_secret
msg=$(AWS_ACCESS_KEY_ID=nobody push "$work/img.tar" s3://pgimg-test/x:1 2>&1)
check_keyid() { grep -q "InvalidAccessKeyId): check AWS_ACCESS_KEY_ID" <<<"$msg"; }
ok "an unknown key id is named as such" check_keyid
msg=$(push "$work/img.tar" s3://no-such-bucket/x:1 2>&1)
check_bucket() { grep -q "bucket no-such-bucket does not exist: create it first" <<<"$msg"; }
ok "a missing bucket says to create it" check_bucket
msg=$(env -u AWS_ACCESS_KEY_ID "$PGIMG" --cache-dir "$cache" push --endpoint "$endpoint" "$work/img.tar" \
	s3://pgimg-test/x:1 2>&1)
check_nocreds() { grep -q "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" <<<"$msg"; }
ok "no credentials at all says where to put them" check_nocreds

# A blob changed in the bucket is refused on pull and never stored.
corrupt() {
	push "$work/img.tar" s3://pgimg-test/bad:1 >/dev/null 2>&1 || return 1
	head -c 1000 /dev/urandom > "$work/garbage"
	s3put "$work/garbage" "$endpoint/pgimg-test/bad/blobs/sha256/$layer" || return 1
	local fresh
	fresh=$(cache_copy)
	msg=$("$PGIMG" --cache-dir "$fresh" pull --endpoint "$endpoint" s3://pgimg-test/bad:1 2>&1)
	local r=$?
	local left
	left=$(ls "$fresh/blobs/sha256" | grep -c "$layer")
	rm -rf "$fresh"
	[ "$r" = 1 ] && grep -q "blob sha256:$layer: got 1000 bytes, the manifest says" <<<"$msg" && [ "$left" = 0 ]
}
ok "a corrupted blob in the bucket is refused and nothing is stored" corrupt

# ----------------------------------------------------------- signatures
"$PGIMG" -q key generate -o "$work/ci" && "$PGIMG" -q key generate -o "$work/other"
signed_push() { push --sign-key "$work/ci.key" "$work/img.tar" s3://pgimg-test/signed:1 >/dev/null 2>&1; }
ok "a signed push" signed_push
ok "pull checks the signature with the signer's key" qpull --trusted-key "$work/ci.pub" s3://pgimg-test/signed:1
msg=$(pull --trusted-key "$work/other.pub" s3://pgimg-test/signed:1 2>&1)
check_other() { grep -q "is not made by any of the 1 trusted keys" <<<"$msg"; }
ok "another key refuses it" check_other
msg=$(pull --trusted-key "$work/ci.pub" s3://pgimg-test/cache/pg:18 2>&1)
check_unsigned() { grep -q "is not signed; refused" <<<"$msg"; }
ok "an unsigned image is refused when a key is trusted" check_unsigned
tampered() {
	head -c 64 /dev/urandom > "$work/sig"
	s3put "$work/sig" "$endpoint/pgimg-test/signed/signatures/$want.sig" || return 1
	msg=$(pull --trusted-key "$work/ci.pub" s3://pgimg-test/signed:1 2>&1)
	grep -q "(tampered, or signed by another key); refused" <<<"$msg"
}
# The layout is cosign's sign-blob one: the payload and its signature,
# which cosign checks with the same public key.
blob_verify() {
	push --sign-key "$work/ci.key" "$work/img.tar" s3://pgimg-test/signed:1 >/dev/null 2>&1 &&
		s3curl -o "$work/payload.json" "$endpoint/pgimg-test/signed/signatures/$want.json" &&
		s3curl -o "$work/payload.sig" "$endpoint/pgimg-test/signed/signatures/$want.sig" &&
		grep -q "\"docker-manifest-digest\":\"sha256:$want\"" "$work/payload.json" &&
		HOME=$work/home "$cosign" verify-blob --key "$work/ci.pub" --signature "$work/payload.sig" \
			--insecure-ignore-tlog "$work/payload.json" >/dev/null 2>&1
}
if cosign=$("$ROOT/tools/test-servers.sh" cosign 2>/dev/null); then
	ok "signatures/<hex>.json and .sig: cosign verify-blob accepts them" blob_verify
else
	pass "signatures/<hex>.json and .sig: cosign verify-blob accepts them # SKIP cosign cannot be built here"
fi
ok "a tampered signature is refused" tampered

# ------------------------------------------------ remote build cache
# A layer cache of one entry (the random layer under a made-up key) goes
# to the bucket and into an empty cache elsewhere.
cache_round_trip() {
	local lc="$work/lc" other="$work/lc2" key diff_id
	mkdir -p "$lc/blobs/sha256" "$lc/layers" "$other"
	tar -xOf "$work/img.tar" "blobs/sha256/$layer" > "$lc/blobs/sha256/$layer"
	key=$(printf 'pgimg-test-key' | sha256sum | cut -d' ' -f1)
	diff_id=$(skopeo inspect --config "oci-archive:$work/img.tar" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["rootfs"]["diff_ids"][0])')
	printf '{"diffID":"%s","digest":"sha256:%s","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":%s}' \
		"$diff_id" "$layer" "$(stat -c %s "$lc/blobs/sha256/$layer")" > "$lc/layers/$key.json"
	"$PGIMG" -q --cache-dir "$lc" push --cache --endpoint "$endpoint" --sign-key "$work/ci.key" \
		s3://pgimg-test/buildcache:main 2>/dev/null || return 1
	"$PGIMG" -q --cache-dir "$other" pull --cache --endpoint "$endpoint" --trusted-key "$work/ci.pub" \
		s3://pgimg-test/buildcache:main || return 1
	grep -q "\"digest\":\"sha256:$layer\"" "$other/layers/$key.json" &&
		[ "$(sha256sum < "$other/blobs/sha256/$layer" | cut -d' ' -f1)" = "$layer" ]
}
ok "push --cache to S3 and pull --cache into an empty cache: the entry and its blob arrive" cache_round_trip

# ------------------------------------------------ an image index
# Two platforms under one tag: every blob, each manifest and the index
# by digest, and manifests/<tag> naming the index.
ok "make an image index of linux/amd64 and linux/arm64 (2 MiB each)" \
	"$ROOT/tests/integration/helpers/index-image.sh" "$work/index.tar" 2
ix=$(tar -xOf "$work/index.tar" index.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifests"][0]["digest"][7:])')
plat=$(tar -xOf "$work/index.tar" "blobs/sha256/$ix" |
	python3 -c 'import json,sys; print(*(m["platform"]["architecture"] + "=" + m["digest"][7:] for m in json.load(sys.stdin)["manifests"]))')
amd=$(tr ' ' '\n' <<<"$plat" | sed -n 's/^amd64=//p')
arm=$(tr ' ' '\n' <<<"$plat" | sed -n 's/^arm64=//p')
out=$(push "$work/index.tar" s3://pgimg-test/multi/pg:18 2>"$work/index.err")
check_index_push() { [ "$(field manifest <<<"$out")" = "sha256:$ix" ] && [ "$(field uploaded <<<"$out")" = 4 ]; }
ok "push an index to S3: 4 blobs (2 configs, 2 layers), the index's digest" check_index_push
[ -s "$work/index.err" ] && sed 's/^/#   /' "$work/index.err"
object_ok() { [ "$(s3curl "$endpoint/pgimg-test/multi/pg/blobs/sha256/$1" | sha256sum | cut -d' ' -f1)" = "$1" ]; }
ok "blobs/sha256/ holds the index" object_ok "$ix"
ok "blobs/sha256/ holds the linux/amd64 manifest" object_ok "$amd"
ok "blobs/sha256/ holds the linux/arm64 manifest" object_ok "$arm"
tag_names_index() {
	s3curl "$endpoint/pgimg-test/multi/pg/manifests/18" | python3 -c '
import json, sys
m = json.load(sys.stdin)["manifests"]
assert len(m) == 1 and m[0]["digest"] == "sha256:" + sys.argv[1], m
assert m[0]["mediaType"] == "application/vnd.oci.image.index.v1+json", m' "$ix"
}
ok "manifests/18 names the index, as an index" tag_names_index
out=$(push "$work/index.tar" s3://pgimg-test/multi/pg:18 2>/dev/null)
ok "a second push of the index uploads 0 blob bytes" [ "$(field bytesUploaded <<<"$out")" = 0 ]
index_pull() {
	local fresh r
	fresh=$(cache_copy)
	out=$("$PGIMG" --cache-dir "$fresh" pull --endpoint "$endpoint" --json s3://pgimg-test/multi/pg:18 \
		-o "$work/multi.tar" 2>"$work/index.err")
	r=$?
	[ "$r" = 0 ] && [ "$(field manifest <<<"$out")" = "sha256:$amd" ] &&
		[ "$(sha256sum < "$fresh/blobs/sha256/$ix" | cut -d' ' -f1)" = "$ix" ] &&
		[ "$(digest_of "$work/multi.tar")" = "$amd" ]
	r=$?
	rm -rf "$fresh"
	return $r
}
ok "pull of the index takes its linux/amd64 image, the index kept in the store" index_pull
signed_index() {
	push --sign-key "$work/ci.key" "$work/index.tar" s3://pgimg-test/multi/pg:signed >/dev/null 2>&1 &&
		s3curl "$endpoint/pgimg-test/multi/pg/signatures/$ix.json" | grep -q "\"docker-manifest-digest\":\"sha256:$ix\"" &&
		qpull --trusted-key "$work/ci.pub" s3://pgimg-test/multi/pg:signed &&
		! qpull --trusted-key "$work/other.pub" s3://pgimg-test/multi/pg:signed
}
ok "a signed index: the signature names the index; pull takes the signer's key, not another" signed_index
# A changed index, or a changed manifest of it, is refused on pull.
index_tampered() {
	local what=$1 hex=$2 fresh msg r
	push "$work/index.tar" "s3://pgimg-test/bad-$what/pg:1" >/dev/null 2>&1 || return 1
	printf '{"schemaVersion":2,"manifests":[]}' > "$work/garbage.json"
	s3put "$work/garbage.json" "$endpoint/pgimg-test/bad-$what/pg/blobs/sha256/$hex" || return 1
	fresh=$(cache_copy)
	msg=$("$PGIMG" --cache-dir "$fresh" pull --endpoint "$endpoint" "s3://pgimg-test/bad-$what/pg:1" 2>&1)
	r=$?
	[ "$r" = 1 ] && grep -q "bucket pgimg-test: manifest sha256:$hex has digest sha256:" <<<"$msg" &&
		[ ! -e "$fresh/blobs/sha256/$hex" ]
	r=$?
	[ "$r" = 0 ] || echo "#   $msg"
	rm -rf "$fresh"
	return $r
}
ok "a changed index in the bucket is refused, nothing stored under its digest" index_tampered index "$ix"
ok "a changed linux/amd64 manifest in the bucket is refused" index_tampered amd64 "$amd"

# --------------------------------------------------- killed mid-push
ok "make a 96 MiB image of random data" "$ROOT/tests/integration/helpers/random-image.sh" "$work/big.tar" 96
push --jobs 1 --chunk-size 8 --limit-rate 16 --retries 1 "$work/big.tar" s3://pgimg-test/cache/pg:18 \
	>/dev/null 2>"$work/killed.err" &
push_pid=$!
sleep 2
stop_s3
wait "$push_pid"
rc=$?
check_killed() { [ "$rc" = 1 ] && grep -q "bucket pgimg-test" "$work/killed.err"; }
ok "S3 server killed mid-push: exit 1 naming the bucket" check_killed
sed 's/^/#   /' "$work/killed.err"
start_s3
tag_kept() { s3curl "$endpoint/pgimg-test/cache/pg/manifests/18" | grep -q "\"digest\":\"sha256:$want\""; }
ok "the tag still names the image it named before" tag_kept

finish
