#!/bin/bash
# pgimg push and pull over TLS to docker-registry on 127.0.0.1, whose
# certificate is signed by a CA made here: trusted with --ca-file,
# refused without it (with a message that says what to do), and plain
# HTTP is not tried unless asked for.
set -u
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/servers.sh"

command -v docker-registry >/dev/null || skip_all "docker-registry is not installed (make test-deps)"
command -v openssl >/dev/null || skip_all "openssl is not installed"

work=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-registry-tls-XXXXXX")
cache=$(cache_copy)
reg_pid=
cleanup() {
	[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
	rm -rf "$work" "$cache"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(free_port)
host="localhost:$port"
# A CA, and a certificate for localhost signed by it.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=pgimg-test-ca -keyout "$work/ca.key" \
	-out "$work/ca.crt" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout "$work/server.key" -out "$work/server.csr" \
	>/dev/null 2>&1
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$work/san.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
	-extfile "$work/san.ext" -out "$work/server.crt" >/dev/null 2>&1 ||
	{ echo "Bail out! openssl cannot make the certificates"; exit 1; }
cat > "$work/registry.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: 127.0.0.1:$port
  tls:
    certificate: $work/server.crt
    key: $work/server.key
EOF
docker-registry serve "$work/registry.yml" >>"$work/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 50); do curl -s -o /dev/null --cacert "$work/ca.crt" "https://$host/v2/" && break; sleep 0.1; done

ok "make a 2 MiB image of random data" "$ROOT/tests/integration/helpers/random-image.sh" "$work/img.tar" 2
want=$(image_digest "$work/img.tar")

msg=$("$PGIMG" --cache-dir "$cache" push "$work/img.tar" "$host/pgimg/tls:1" 2>&1)
rc=$?
check_untrusted() { [ "$rc" = 1 ] && grep -q "TLS with registry $host failed: .*; give its CA with --ca-file" <<<"$msg"; }
ok "an unknown CA is refused, and the message says to give it with --ca-file" check_untrusted
out=$("$PGIMG" -q --cache-dir "$cache" push --json --ca-file "$work/ca.crt" "$work/img.tar" "$host/pgimg/tls:1")
ok "push over TLS with --ca-file" test "$(field manifest <<<"$out" 2>/dev/null)" = "$want"
out=$("$PGIMG" -q --cache-dir "$cache" pull --json --ca-file "$work/ca.crt" "$host/pgimg/tls:1")
ok "pull over TLS with --ca-file" test "$(field manifest <<<"$out" 2>/dev/null)" = "$want"
msg=$("$PGIMG" --cache-dir "$cache" pull --insecure "$host/pgimg/tls:1" 2>&1)
check_plain() { grep -q "registry $host" <<<"$msg" && ! grep -q '^pgimg: pulled' <<<"$msg"; }
ok "--insecure speaks plain HTTP, which a TLS registry does not answer" check_plain
named() {
	PGIMG_INSECURE_REGISTRIES="other:1,$host" "$PGIMG" --cache-dir "$cache" pull "$host/pgimg/tls:1" 2>&1 |
		grep -q "registry $host"
}
ok "so does a registry named in PGIMG_INSECURE_REGISTRIES" named

finish
