# hostile/45-token-reply.sh (sourced by hostile.sh): a registry whose token
# server answers with a token holding CR LF.  Sent as it came, the token
# would add a header of the server's choosing to every request; pgimg
# must refuse it with one line and send nothing more.

tr_port=$(free_port)
tr_log=$HOSTILE_WORK/token-reply.log
cat >"$HOSTILE_WORK/token-reply.py" <<'PY'
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port, log = int(sys.argv[1]), sys.argv[2]

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        with open(log, "a") as f:
            f.write(self.path + "\n")
            if self.headers.get("X-Injected") is not None:
                f.write("INJECTED\n")
        if self.path.startswith("/token"):
            body = json.dumps({"token": "abc\r\nX-Injected: 1", "expires_in": 60}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        else:
            body = b'{"errors":[{"code":"UNAUTHORIZED"}]}'
            self.send_response(401)
            self.send_header("WWW-Authenticate",
                             'Bearer realm="http://127.0.0.1:%d/token",service="hostile"' % port)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_HEAD = do_GET

HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
python3 "$HOSTILE_WORK/token-reply.py" "$tr_port" "$tr_log" 2>/dev/null &
HOSTILE_CLEANUPS+=("kill $! ; wait $!")
wait_http "http://127.0.0.1:$tr_port/v2/"

tr_out=$(env -u PGIMG_REGISTRY_USER -u PGIMG_REGISTRY_PASSWORD DOCKER_CONFIG="$HOSTILE_WORK/no-docker" \
	"$PGIMG" --cache-dir "$HOSTILE_WORK/token-reply-cache" pull --insecure --retries 0 \
	"127.0.0.1:$tr_port/pgimg/x:1" 2>&1 >/dev/null)
tr_rc=$?
if [ "$tr_rc" -ne 0 ]; then pass "token with CR LF: pull fails"; else fail "token with CR LF: pull fails"; fi
one_line "token with CR LF" "$tr_out"
if [[ $tr_out == *"token"* ]]; then pass "token with CR LF: the message names the token"; else
	fail "token with CR LF: the message names the token" "got: $tr_out"; fi
if grep -q INJECTED "$tr_log" 2>/dev/null; then
	fail "token with CR LF: no header injected" "the registry saw X-Injected: $(tr '\n' ' ' <"$tr_log")"
else
	pass "token with CR LF: no header injected"
fi
