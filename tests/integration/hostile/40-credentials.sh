# 40-credentials.sh - credentials never travel over plain HTTP, and an
# S3 location cannot name a path outside the cache.  Sourced by
# hostile.sh.
#
# A fake registry on TLS (a throwaway self-signed certificate for
# 127.0.0.1) answers every request with 401 and sends clients for a
# token to a plain-HTTP realm on a second port, which records every
# request and whether it carried an Authorization header.  Two more
# ways to reach that port are tried: an https realm that redirects to
# it, a registry that redirects a Basic-authenticated GET to it, and
# one whose upload Location points at it.

cred_dir=$HOSTILE_WORK/credentials
mkdir -p "$cred_dir"
cred_tls=$(free_port)
cred_plain=$(free_port)

cred_servers() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$cred_dir/key.pem" -out "$cred_dir/cert.pem" >/dev/null 2>&1 || return 1
	cat > "$cred_dir/servers.py" <<'PY'
import ssl, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

tls_port, plain_port, cert, key, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
lock = threading.Lock()

class Registry(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def answer(self):
        p = self.path
        if p.startswith("/token-redirect"):
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{plain_port}/token-redirected")
        elif p.startswith("/v2/basic/") and self.headers.get("Authorization"):
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{plain_port}/redirected-blob")
        elif p.startswith("/v2/upload/") and not self.headers.get("Authorization"):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="fake"')
        elif p.startswith("/v2/upload/") and self.command == "POST":
            self.send_response(202)
            self.send_header("Location", f"http://127.0.0.1:{plain_port}/upload-here?state=1")
        elif p.startswith("/v2/upload/"):
            self.send_response(404)
        elif p.startswith("/v2/basic/"):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="fake"')
        elif p.startswith("/v2/redirect/"):
            self.send_response(401)
            self.send_header("WWW-Authenticate",
                             f'Bearer realm="https://127.0.0.1:{tls_port}/token-redirect",service=x')
        else:
            self.send_response(401)
            self.send_header("WWW-Authenticate",
                             f'Bearer realm="http://127.0.0.1:{plain_port}/token",service=x')
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = answer

class Plain(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def answer(self):
        with lock, open(log, "a") as f:
            f.write(f"{self.command} {self.path} auth={'yes' if self.headers.get('Authorization') else 'no'}\n")
        body = b'{"token":"anonymous"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = answer

tls = ThreadingHTTPServer(("127.0.0.1", tls_port), Registry)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
plain = ThreadingHTTPServer(("127.0.0.1", plain_port), Plain)
threading.Thread(target=plain.serve_forever, daemon=True).start()
open(log, "a").close()
tls.serve_forever()
PY
	python3 "$cred_dir/servers.py" "$cred_tls" "$cred_plain" "$cred_dir/cert.pem" "$cred_dir/key.pem" \
		"$cred_dir/plain.log" 2>"$cred_dir/servers.err" &
	cred_pid=$!
	HOSTILE_CLEANUPS+=("kill $cred_pid")
	for _ in $(seq 50); do
		curl -s -o /dev/null --cacert "$cred_dir/cert.pem" "https://127.0.0.1:$cred_tls/v2/" \
			&& curl -s -o /dev/null "http://127.0.0.1:$cred_plain/ready" && return 0
		sleep 0.1
	done
	return 1
}

# cred_check NAME COND: passes when COND (eval'ed) holds.  lib/tap.sh
# names a check but does not define one yet.
cred_check() { if eval "$2"; then pass "$1"; else fail "$1" "false: $2"; fi; }

# cred_run ARGS: pgimg with registry credentials set, on a scratch cache.
cred_run() {
	PGIMG_REGISTRY_USER=pgimg-user PGIMG_REGISTRY_PASSWORD=the-password-$$ PGIMG_INSECURE_REGISTRIES= \
		"$PGIMG" --cache-dir "$cred_dir/cache" "$@" 2>&1
}
# cred_leaks [PATH]: requests (for PATH) that reached the plain-HTTP port
# with an Authorization header.
cred_leaks() { grep -c "${1:-}.* auth=yes" "$cred_dir/plain.log"; }

if ! command -v openssl >/dev/null || ! cred_servers; then
	fail "credentials: the fake TLS registry and plain-HTTP realm start" "$(cat "$cred_dir/servers.err" 2>/dev/null)"
elif ! "$ROOT/tests/integration/helpers/random-image.sh" "$cred_dir/img.tar" 1 >/dev/null 2>&1; then
	fail "credentials: make a small image"
else
	out=$(cred_run push --ca-file "$cred_dir/cert.pem" --retries 0 "$cred_dir/img.tar" "127.0.0.1:$cred_tls/leak/x:1")
	rc=$?
	cred_check "push to an https registry whose token realm is http:// fails" "[ $rc -ne 0 ]"
	one_line "http token realm" "$out"
	cred_check "the refusal names the realm" '[[ $out == *"http://127.0.0.1:$cred_plain/token"* ]]'
	cred_check "the refusal names no credential" '[[ $out != *the-password* && $out != *pgimg-user* ]]'
	cred_check "the plain-HTTP realm received no credentials (got $(cred_leaks))" '[ "$(cred_leaks)" = 0 ]'

	# An https realm that redirects to http: libcurl drops the header.
	out=$(cred_run push --ca-file "$cred_dir/cert.pem" --retries 0 "$cred_dir/img.tar" "127.0.0.1:$cred_tls/redirect/x:1")
	cred_check "push through an https realm redirected to http fails" "[ $? -ne 0 ]"
	cred_check "the redirected realm was asked without credentials" \
		'grep -q "GET /token-redirected" "$cred_dir/plain.log" && [ "$(cred_leaks /token-redirected)" = 0 ]'

	# A Basic-authenticated GET redirected to http: the header stays behind.
	out=$(cred_run pull --ca-file "$cred_dir/cert.pem" --retries 0 "127.0.0.1:$cred_tls/basic/x:1")
	cred_check "pull redirected from https to http fails" "[ $? -ne 0 ]"
	cred_check "the redirect target got no credentials" \
		'grep -q "GET /redirected-blob" "$cred_dir/plain.log" && [ "$(cred_leaks /redirected-blob)" = 0 ]'
	one_line "pull redirected to http" "$out"

	# An upload Location on another server gets no credentials.
	out=$(cred_run push --ca-file "$cred_dir/cert.pem" --retries 0 "$cred_dir/img.tar" "127.0.0.1:$cred_tls/upload/x:1")
	cred_check "push whose upload Location is plain http elsewhere fails" "[ $? -ne 0 ]"
	cred_check "the upload Location got no credentials" \
		'grep -q " /upload-here" "$cred_dir/plain.log" && [ "$(cred_leaks /upload-here)" = 0 ]'
	one_line "push to an upload Location elsewhere" "$out"
fi

# S3 locations that name a path outside the bucket's folder are refused
# before any request: the endpoint is the recording plain-HTTP port.
: > "$cred_dir/plain.log" 2>/dev/null
for loc in 's3://bucket/../../x' 's3://bucket/../../../../../cred-escape' 's3://bucket/a//b' \
	's3://bucket//abs' 's3://bucket/x:..'; do
	out=$(AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s "$PGIMG" --cache-dir "$cred_dir/s3cache/c" pull \
		--endpoint "http://127.0.0.1:$cred_plain" --retries 0 "$loc" 2>&1)
	rc=$?
	cred_check "pull $loc fails" "[ $rc -ne 0 ]"
	one_line "pull $loc" "$out"
	cred_check "pull $loc: refused as an invalid S3 location" '[[ $out == *"invalid S3 location"* ]]'
done
cred_check "S3: no request was sent for a refused location" '[ ! -s "$cred_dir/plain.log" ]'
cred_check "S3: nothing written outside the cache" \
	'[ -z "$(find "$cred_dir/s3cache" -mindepth 1 -maxdepth 1 ! -name c)" ] && [ ! -e "$HOSTILE_WORK/cred-escape" ] && [ ! -e "$cred_dir/s3cache/c/refs" ]'
