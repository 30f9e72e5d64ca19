#!/bin/bash
# Signatures users check with cosign: an image pushed with `pgimg push
# --sign-key` to a real registry (Debian's docker-registry on 127.0.0.1)
# is accepted by `cosign verify --key`, its SBOM attestation by `cosign
# verify-attestation --type spdxjson`, and `cosign download attestation`
# reads the SBOM back; cosign's own signature of an image with the same
# key is accepted by `pgimg pull --trusted-key`.  Another key, a
# signature moved onto another image and an altered payload are refused
# by both.  `crane validate --remote` finds the image, its .sig and its
# .att whole.  Keys are made three ways: pgimg, openssl, cosign.  `push
# postgres-18` attests the SBOM of the build (layers from the test cache).
#
# cosign and crane come from tools/test-servers.sh (built once).
set -u
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/servers.sh"

need_registry
cosign=$("$ROOT/tools/test-servers.sh" cosign 2>/dev/null) || skip_all "cosign cannot be built here (tools/test-servers.sh cosign)"
crane=$("$ROOT/tools/test-servers.sh" crane 2>/dev/null) || skip_all "crane cannot be built here (tools/test-servers.sh crane)"

work=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-cosign-XXXXXX")
reg_pid=
cleanup() {
	[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# cosign keeps its TUF cache and docker credentials under HOME: a private one.
export HOME=$work/home DOCKER_CONFIG=$work/home/.docker COSIGN_PASSWORD=test-password
mkdir -p "$HOME"
start_plain_registry "$work" || { echo "Bail out! docker-registry did not start: $(tail -3 "$work/registry.log")"; exit 1; }
host="127.0.0.1:$reg_port"

cache=$(cache_copy)
trap 'cleanup; rm -rf "$cache"' EXIT
push() { "$PGIMG" -q --cache-dir "$cache" push --insecure --json "$@"; }
pull() { "$PGIMG" -q --cache-dir "$cache" pull --insecure "$@"; }
helpers=$ROOT/tests/integration/helpers
"$helpers/random-image.sh" "$work/img.tar" 1 pgimg-test/signed:1 &&
	"$helpers/random-image.sh" "$work/img2.tar" 1 pgimg-test/signed:2 ||
	{ echo "Bail out! cannot write the test images"; exit 1; }
# A small SPDX 2.3 document beside the image, as `pgimg build` writes one.
cat > "$work/img.tar.spdx.json" <<'EOF'
{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"pgimg-test/signed",
 "documentNamespace":"https://pgimg.example/spdx/test","creationInfo":{"created":"1970-01-01T00:00:00Z",
 "creators":["Tool: pgimg"]},"packages":[{"name":"postgresql-18","SPDXID":"SPDXRef-Package-pg",
 "versionInfo":"18.1","downloadLocation":"NOASSERTION"}]}
EOF

# ---------------------------------------------------------------- keys
"$PGIMG" -q key generate -o "$work/ci"
keys_pem() { grep -q 'BEGIN PRIVATE KEY' "$work/ci.key" && grep -q 'BEGIN PUBLIC KEY' "$work/ci.pub" &&
	[ "$(stat -c %a "$work/ci.key")" = 600 ]; }
ok "pgimg key generate: a PKCS#8 private key (mode 600) and a PKIX public key" keys_pem
openssl_key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/other.key" 2>/dev/null &&
		openssl pkey -in "$work/other.key" -pubout -out "$work/other.pub" 2>/dev/null
}
ok "openssl makes a key pair pgimg uses (the other signer)" openssl_key
cosign_keys() {
	(cd "$work" && "$cosign" generate-key-pair >/dev/null 2>&1 &&
		"$cosign" import-key-pair --key ci.key --output-key-prefix imported >/dev/null 2>&1) &&
		[ -s "$work/cosign.pub" ] && [ -s "$work/imported.key" ]
}
ok "cosign generate-key-pair, and cosign import-key-pair of pgimg's key" cosign_keys
msg=$(push --sign-key "$work/cosign.key" "$work/img.tar" "$host/pg/refused:1" 2>&1)
rc=$?
check_cosign_key() { [ "$rc" = 1 ] && grep -q "cosign.key: an encrypted cosign key, which pgimg cannot read" <<<"$msg" &&
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$host/v2/pg/refused/manifests/1")" = 404 ]; }
ok "an encrypted cosign key is refused in one line, before anything is pushed" check_cosign_key
echo "# $msg"

# ---------------------------------------------------------- sign, verify
start=$(date +%s%N)
out=$(push --sign-key "$work/ci.key" "$work/img.tar" "$host/pg/signed:1" 2>"$work/push.err")
ok "a signed push with the SBOM beside the image" test -n "$out"
digest=$(field manifest <<<"$out")
hex=${digest#sha256:}
echo "# signed push of a 1 MiB image: $(( ($(date +%s%N) - start) / 1000000 )) ms"

cverify() { "$cosign" verify --key "$1" --insecure-ignore-tlog "$2" >"$work/verify.out" 2>"$work/verify.err"; }
cosign_ok() {
	cverify "$work/ci.pub" "$host/pg/signed:1" &&
		grep -q "\"docker-manifest-digest\":\"$digest\"" "$work/verify.out"
}
ok "cosign verify --key accepts pgimg's signature" cosign_ok
[ -s "$work/verify.err" ] && grep -v '^$' "$work/verify.err" | tail -3 | sed 's/^/#   /'
cosign_pub_ok() { cverify "$work/cosign.pub" "$host/pg/signed:1"; }
cosign_att() {
	"$cosign" verify-attestation --key "$1" --type spdxjson --insecure-ignore-tlog "$host/pg/signed:1" \
		>"$work/att.out" 2>"$work/att.err"
}
ok "cosign verify-attestation --type spdxjson accepts the SBOM attestation" cosign_att "$work/ci.pub"
tail -3 "$work/att.err" | sed 's/^/#   /'
download() {
	"$cosign" download attestation "$host/pg/signed:1" > "$work/download.json" 2>/dev/null &&
		python3 - "$work/download.json" "$hex" <<'EOF'
import base64, json, sys
env = json.loads(open(sys.argv[1]).readline())
st = json.loads(base64.b64decode(env["payload"]))
assert st["predicateType"] == "https://spdx.dev/Document", st["predicateType"]
assert st["subject"][0]["digest"]["sha256"] == sys.argv[2]
assert st["predicate"]["spdxVersion"] == "SPDX-2.3"
assert st["predicate"]["packages"][0]["name"] == "postgresql-18"
EOF
}
ok "cosign download attestation reads the SBOM back" download

# push postgres-18 builds (from the test cache) and attests the build's own SBOM.
"$PGIMG" -q --cache-dir "$TEST_CACHE" push --insecure --sign-key "$work/ci.key" postgres-18 "$host/pg/built:18" \
	>/dev/null 2>"$work/built.err"
built_att() {
	"$cosign" verify-attestation --key "$work/ci.pub" --type spdxjson --insecure-ignore-tlog "$host/pg/built:18" \
		>/dev/null 2>&1 &&
		"$cosign" download attestation "$host/pg/built:18" >"$work/built-att.json" 2>/dev/null &&
		python3 - "$work/built-att.json" <<'EOF'
import base64, json, sys
st = json.loads(base64.b64decode(json.loads(open(sys.argv[1]).readline())["payload"]))
pkgs = st["predicate"]["packages"]
assert any(p["name"] == "postgresql" for p in pkgs)
assert any(r["referenceLocator"].startswith("pkg:deb/debian/libc6@") for p in pkgs for r in p.get("externalRefs", []))
EOF
}
ok "push postgres-18 --sign-key attests the build's SBOM; cosign verifies it" built_att
ok "pgimg pull --trusted-key accepts it" pull --trusted-key "$work/ci.pub" "$host/pg/signed:1"

# ------------------------------------------------------------ refusals
other_fails() { ! cverify "$work/other.pub" "$host/pg/signed:1" && ! cosign_att "$work/other.pub"; }
ok "cosign verify and verify-attestation refuse another key" other_fails
ok "so does cosign verify with cosign's own unrelated key" eval '! cosign_pub_ok'
msg=$(pull --trusted-key "$work/other.pub" "$host/pg/signed:1" 2>&1)
check_other() { grep -q "is not made by any of the 1 trusted keys (tampered, or signed by another key); refused" <<<"$msg"; }
ok "pgimg pull --trusted-key refuses another key" check_other
two_keys() { pull --trusted-key "$work/other.pub" --trusted-key "$work/ci.pub" "$host/pg/signed:1"; }
ok "pgimg pull accepts it when one of two trusted keys signed" two_keys

# Another manifest under the signed tag: its digest has no signature.
push "$work/img2.tar" "$host/pg/signed:1" >/dev/null
msg=$(pull --trusted-key "$work/ci.pub" "$host/pg/signed:1" 2>&1)
replaced() { ! cverify "$work/ci.pub" "$host/pg/signed:1" && grep -q "is not signed; refused" <<<"$msg"; }
ok "another manifest pushed under the tag: cosign and pgimg refuse it" replaced
push --sign-key "$work/ci.key" "$work/img.tar" "$host/pg/signed:1" >/dev/null

# The signature of the first image moved onto the second.
accept=application/vnd.oci.image.manifest.v1+json
sigman() { curl -sf -H "Accept: $accept" "http://$host/v2/pg/signed/manifests/sha256-$1.sig"; }
put_manifest() { curl -sf -X PUT -H "Content-Type: $accept" --data-binary "@$2" "http://$host/v2/pg/signed/manifests/$1" >/dev/null; }
digest2=$(push "$work/img2.tar" "$host/pg/signed:2" | field manifest)
moved() {
	sigman "$hex" > "$work/sig.json" && put_manifest "sha256-${digest2#sha256:}.sig" "$work/sig.json" || return 1
	msg=$(pull --trusted-key "$work/ci.pub" "$host/pg/signed:2" 2>&1)
	! cverify "$work/ci.pub" "$host/pg/signed:2" && grep -q "moved from another image); refused" <<<"$msg"
}
ok "a signature moved onto another image: cosign and pgimg refuse it" moved
echo "# $msg"

# usage: put_blob FILE: upload FILE as a blob of pg/signed.
put_blob() {
	local loc
	loc=$(curl -sf -X POST -D - -o /dev/null "http://$host/v2/pg/signed/blobs/uploads/" | tr -d '\r' |
		sed -n 's/^Location: //Ip')
	case $loc in http*) ;; *) loc="http://$host$loc" ;; esac
	curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$1" \
		"$loc&digest=sha256:$(sha256sum < "$1" | cut -d' ' -f1)" >/dev/null
}

# The payload altered (another identity), the signature kept.
altered() {
	local payload new size loc
	payload=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"])' < "$work/sig.json")
	curl -sf "http://$host/v2/pg/signed/blobs/$payload" | sed 's|"docker-reference":"[^"]*"|"docker-reference":"evil/x"|' \
		> "$work/payload.json"
	new=sha256:$(sha256sum < "$work/payload.json" | cut -d' ' -f1)
	size=$(stat -c %s "$work/payload.json")
	put_blob "$work/payload.json" || return 1
	python3 - "$work/sig.json" "$new" "$size" > "$work/sig2.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m["layers"][0]["digest"], m["layers"][0]["size"] = sys.argv[2], int(sys.argv[3])
print(json.dumps(m))
EOF
	put_manifest "sha256-$hex.sig" "$work/sig2.json" || return 1
	msg=$(pull --trusted-key "$work/ci.pub" "$host/pg/signed:1" 2>&1)
	! cverify "$work/ci.pub" "$host/pg/signed:1" && grep -q "(tampered, or signed by another key); refused" <<<"$msg"
}
ok "an altered signature payload: cosign and pgimg refuse it" altered
echo "# $msg"

# A signature in the format of an older pgimg (ed25519, 64 bytes).
old_format() {
	local img3 sig
	"$helpers/random-image.sh" "$work/img3.tar" 1 pgimg-test/signed:3 || return 1
	img3=$(push "$work/img3.tar" "$host/pg/signed:3" | field manifest)
	head -c 64 /dev/urandom > "$work/old.sig" && printf '{}' > "$work/old.config" || return 1
	put_blob "$work/old.sig" && put_blob "$work/old.config" || return 1
	sig=sha256:$(sha256sum < "$work/old.sig" | cut -d' ' -f1)
	printf '{"config":{"digest":"sha256:%s","mediaType":"application/vnd.pgimg.signature.config.v1+json","size":2},"layers":[{"digest":"%s","mediaType":"application/vnd.pgimg.signature.v1.ed25519","size":64}],"mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}' \
		"$(sha256sum < "$work/old.config" | cut -d' ' -f1)" "$sig" > "$work/old.json"
	put_manifest "sha256-${img3#sha256:}.sig" "$work/old.json" || return 1
	msg=$(pull --trusted-key "$work/ci.pub" "$host/pg/signed:3" 2>&1)
	grep -q "is signed in the ed25519 format of an older pgimg, which is no longer checked; refused" <<<"$msg"
}
ok "a signature of an older pgimg is refused, saying so" old_format
echo "# $msg"
push --sign-key "$work/ci.key" "$work/img.tar" "$host/pg/signed:1" >/dev/null

# ---------------------------------------------------- cosign's own signature
cosigned() {
	push "$work/img2.tar" "$host/pg/cosigned:1" >/dev/null &&
		"$cosign" sign --key "$work/imported.key" --tlog-upload=false -y "$host/pg/cosigned@$digest2" \
			>/dev/null 2>"$work/sign.err" &&
		pull --trusted-key "$work/ci.pub" "$host/pg/cosigned:1"
}
ok "pgimg pull --trusted-key accepts cosign's signature made with the imported key" cosigned
tail -2 "$work/sign.err" | sed 's/^/#   /'
cosign_pub_pull() {
	"$cosign" sign --key "$work/cosign.key" --tlog-upload=false -y "$host/pg/cosigned@$digest2" >/dev/null 2>&1 &&
		pull --trusted-key "$work/cosign.pub" "$host/pg/cosigned:1"
}
ok "cosign.pub of cosign generate-key-pair is a key pgimg pull trusts" cosign_pub_pull

# An index: what is signed is what the tag names, as cosign signs it.
index_signed() {
	local idx
	"$crane" index append -m "$host/pg/cosigned:1" -t "$host/pg/index:1" >/dev/null 2>&1 || return 1
	idx=$("$crane" digest "$host/pg/index:1") || return 1
	msg=$(pull --trusted-key "$work/ci.pub" "$host/pg/index:1" 2>&1)
	grep -q "manifest $idx of pg/index is not signed; refused" <<<"$msg" || return 1
	"$cosign" sign --key "$work/imported.key" --tlog-upload=false -y "$host/pg/index@$idx" >/dev/null 2>&1 &&
		pull --trusted-key "$work/ci.pub" "$host/pg/index:1"
}
ok "an index: refused until the index itself is signed, then pulled" index_signed

# ---------------------------------------------------------------- crane
valid() { "$crane" validate --remote "$1" >/dev/null 2>"$work/crane.err" || { sed 's/^/#   /' "$work/crane.err"; return 1; }; }
ok "crane validate --remote: the images" eval 'valid "$host/pg/signed:1" && valid "$host/pg/signed:2"'
ok "crane validate --remote: its .sig" valid "$host/pg/signed:sha256-$hex.sig"
ok "crane validate --remote: its .att" valid "$host/pg/signed:sha256-$hex.att"

finish
