#!/bin/bash
# pgimg push and pull against docker-registry with token auth: the
# registry sends clients to a token server (Bearer realm=…), and checks
# the RS256 JWTs it issues against the certificate in its config.  The
# token server is a small one written here (the Docker token protocol:
# Basic auth in, {"token","expires_in"} out), because cesanta/docker_auth
# is not served by the Go module proxy; the tokens live 2 s, so a push
# that takes longer has to ask for new ones.  Needs python3 and openssl.
set -u
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/servers.sh"

command -v docker-registry >/dev/null || skip_all "docker-registry is not installed (make test-deps)"
command -v openssl >/dev/null || skip_all "openssl is not installed"

work=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-registry-token-XXXXXX")
cache=$(cache_copy)
reg_pid= tok_pid=
cleanup() {
	[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
	[ -n "$tok_pid" ] && kill "$tok_pid" 2>/dev/null && wait "$tok_pid" 2>/dev/null
	rm -rf "$work" "$cache"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(free_port)
tport=$(free_port)
host="localhost:$port"
user=pgimg-tester
password="pw-$RANDOM-$RANDOM"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=pgimg-test-token -keyout "$work/token.key" \
	-out "$work/token.crt" >/dev/null 2>&1 || { echo "Bail out! openssl cannot make a certificate"; exit 1; }

cat > "$work/token-server.py" <<'PY'
import base64, json, os, subprocess, sys, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

port, key, crt, user, password, log = sys.argv[1:7]
der = subprocess.run(["openssl", "x509", "-in", crt, "-outform", "DER"], capture_output=True, check=True).stdout

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def token(scopes):
    now = int(time.time())
    access = []
    for s in scopes:
        kind, name, actions = s.split(":")[0], ":".join(s.split(":")[1:-1]), s.split(":")[-1]
        access.append({"type": kind, "name": name, "actions": actions.split(",")})
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
    claims = {"iss": "pgimg-test-issuer", "sub": user, "aud": "pgimg-test", "exp": now + 2,
              "nbf": now - 5, "iat": now, "jti": uuid.uuid4().hex, "access": access}
    signing = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing.encode(),
                         capture_output=True, check=True).stdout
    return signing + "." + b64(sig)

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        want = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if self.headers.get("Authorization") != want:
            self.send_response(401)
            self.end_headers()
            return
        q = parse_qs(urlparse(self.path).query)
        scopes = [s for v in q.get("scope", []) for s in v.split(" ") if s]
        body = json.dumps({"token": token(scopes), "expires_in": 2}).encode()
        with open(log, "a") as f:
            f.write("token " + " ".join(scopes) + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

ThreadingHTTPServer(("127.0.0.1", int(port)), H).serve_forever()
PY
python3 "$work/token-server.py" "$tport" "$work/token.key" "$work/token.crt" "$user" "$password" \
	"$work/tokens.log" 2>>"$work/token-server.err" &
tok_pid=$!

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
  token:
    realm: http://127.0.0.1:$tport/token
    service: pgimg-test
    issuer: pgimg-test-issuer
    rootcertbundle: $work/token.crt
EOF
docker-registry serve "$work/registry.yml" >>"$work/registry.log" 2>&1 &
reg_pid=$!
up=1
for _ in $(seq 50); do
	curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && curl -s -o /dev/null "http://127.0.0.1:$tport/" && { up=0; break; }
	sleep 0.1
done
[ "$up" = 0 ] || { echo "Bail out! servers did not start: $(tail -3 "$work/registry.log" "$work/token-server.err")"; exit 1; }

export PGIMG_REGISTRY_USER=$user PGIMG_REGISTRY_PASSWORD=$password DOCKER_CONFIG=$work/docker
push() { "$PGIMG" --cache-dir "$cache" push --insecure --json "$@"; }

challenge() { curl -s -D - -o /dev/null "http://127.0.0.1:$port/v2/" | grep -qi "^www-authenticate: Bearer realm=\"http://127.0.0.1:$tport/token\""; }
ok "the registry answers with a Bearer challenge naming the token server" challenge

ok "make a 48 MiB image of random data" "$ROOT/tests/integration/helpers/random-image.sh" "$work/img.tar" 48
want=$(image_digest "$work/img.tar")

# At 8 MB/s the push takes about 6 s: three lifetimes of a token.
out=$(push --jobs 1 --chunk-size 4 --limit-rate 8 "$work/img.tar" "$host/pgimg/token:1" 2>"$work/push.err")
check_push() { [ "$(field manifest <<<"$out")" = "$want" ]; }
ok "push with Bearer tokens" check_push
sed 's/^/#   /' "$work/push.err" | grep -v 'pushed blob'
tokens=$(grep -c '^token ' "$work/tokens.log" 2>/dev/null)
check_refresh() { [ "${tokens:-0}" -ge 3 ]; }
ok "tokens expiring mid-push were replaced ($tokens asked for)" check_refresh
check_scope() { grep -q '^token repository:pgimg/token:pull,push' "$work/tokens.log"; }
ok "the token asked for is pull,push on the repository" check_scope

out=$(push "$work/img.tar" "$host/pgimg/token:1" 2>/dev/null)
ok "a second push uploads 0 blob bytes" test "$(field bytesUploaded <<<"$out" 2>/dev/null)" = 0
out=$(push --mount-from pgimg/token "$work/img.tar" "$host/other/token:1" 2>/dev/null)
ok "a mount from another repository with a token for both" test "$(field mounted <<<"$out" 2>/dev/null)" = 2

pulled() {
	"$PGIMG" -q --cache-dir "$cache" pull --insecure "$host/other/token:1" -o "$work/pulled.tar" &&
		[ "$(image_digest "$work/pulled.tar")" = "$want" ]
}
ok "pull back through a token, same digest" pulled

msg=$(PGIMG_REGISTRY_PASSWORD=wrong push "$work/img.tar" "$host/pgimg/token:2" 2>&1)
rc=$?
check_wrong() { [ "$rc" = 1 ] && grep -q "login refused by registry $host: check PGIMG_REGISTRY_USER" <<<"$msg" && ! grep -q -e wrong -e "$password" <<<"$msg"; }
ok "the token server refusing the password: exit 1, a clear message, no password" check_wrong

finish
