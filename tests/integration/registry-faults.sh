#!/bin/bash
# pgimg push and pull through a faulty link to a real registry: a proxy
# written here sits between pgimg and docker-registry and answers some
# requests itself with 503 or 429 (Retry-After: 1), and cuts the
# connection in the middle of some chunk uploads and blob downloads.  The
# push must resume its chunked uploads where the registry says they
# stand, the pull must resume its downloads with Range, and both must
# end with the right digests.  Then Ctrl-C (SIGINT) in the middle of a
# pull, and a full disk (a small tmpfs, when one can be mounted), must
# leave nothing partial in the store.
set -u
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/servers.sh"

command -v docker-registry >/dev/null || skip_all "docker-registry is not installed (make test-deps)"

work=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-registry-faults-XXXXXX")
cache=$(cache_copy)
reg_pid= proxy_pid=
cleanup() {
	mountpoint -q "$work/small" 2>/dev/null && umount "$work/small"
	[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
	[ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
	rm -rf "$work" "$cache"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rport=$(free_port)
pport=$(free_port)
host="localhost:$pport"
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
	"$work/storage" "$rport" > "$work/registry.yml"
docker-registry serve "$work/registry.yml" >>"$work/registry.log" 2>&1 &
reg_pid=$!

cat > "$work/proxy.py" <<'PY'
import http.client, socket, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, upstream, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
count = {}

def note(what):
    with lock:
        count[what] = count.get(what, 0) + 1
        with open(log, "a") as f:
            f.write(what + "\n")
        return count[what]

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def cut(self, what):
        note(what)
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)
    def refuse(self, status, what, extra=()):
        note(what)
        self.send_response(status)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        path = self.path
        # Every 3rd HEAD of a blob: 503; the 2nd POST of an upload: 429.
        if self.command == "HEAD" and "/blobs/" in path and note("head") % 3 == 1:
            return self.refuse(503, "503")
        if self.command == "POST" and "/blobs/uploads/" in path and note("post") == 2:
            return self.refuse(429, "429", [("Retry-After", "1")])
        # The 2nd and 5th chunk: half of it, then the connection is cut.
        if self.command == "PATCH" and note("patch") in (2, 5):
            self.rfile.read(n // 2)
            return self.cut("cut-patch")
        body = self.rfile.read(n) if n else None
        c = http.client.HTTPConnection("127.0.0.1", upstream)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "content-length"}
        if body is not None:
            headers["Content-Length"] = str(n)
        c.request(self.command, path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read() if self.command != "HEAD" else b""
        # The 1st big blob download: half of it, then the connection is cut.
        cut = (self.command == "GET" and "/blobs/sha256:" in path and len(data) > (8 << 20)
               and "Range" not in self.headers and note("big-get") == 1)
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection"):
                self.send_header(k, v)
        self.end_headers()
        if cut:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            return self.cut("cut-get")
        self.wfile.write(data)
    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_one

ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
python3 "$work/proxy.py" "$pport" "$rport" "$work/faults.log" 2>>"$work/proxy.err" &
proxy_pid=$!
for _ in $(seq 50); do
	curl -s -o /dev/null "http://127.0.0.1:$rport/v2/" && curl -s -o /dev/null "http://127.0.0.1:$pport/v2/" && break
	sleep 0.1
done

faults() { grep -c "^$1\$" "$work/faults.log" 2>/dev/null; }

ok "make a 40 MiB image of random data" "$ROOT/tests/integration/helpers/random-image.sh" "$work/img.tar" 40
want=$(image_digest "$work/img.tar")
size=$(stat -c %s "$work/img.tar")

out=$("$PGIMG" --cache-dir "$cache" push --insecure --json --jobs 1 --chunk-size 4 "$work/img.tar" \
	"$host/pgimg/faults:1" 2>"$work/push.err")
check_push() { [ "$(field manifest <<<"$out")" = "$want" ]; }
ok "push through 503s, a 429 and cut chunks succeeds" check_push
grep -v 'pushed blob' "$work/push.err" | sed 's/^/#   /'
check_faults() { [ "$(faults 503)" -ge 1 ] && [ "$(faults 429)" = 1 ] && [ "$(faults cut-patch)" = 2 ]; }
ok "the proxy did answer 503 ($(faults 503)), 429 ($(faults 429)) and cut $(faults cut-patch) chunks" check_faults
resumed() { [ "$(grep -c 'resuming blob' "$work/push.err")" = 2 ]; }
ok "both cut chunks were resumed where the registry said" resumed
sent=$(field bytesUploaded <<<"$out" 2>/dev/null)
# At most the image and the two cut 4 MiB chunks: a restart would resend 40 MiB.
check_sent() { [ "${sent:-0}" -le $((size + (9 << 20))) ]; }
ok "resuming did not send the blob again ($sent bytes for a $size-byte image)" check_sent
inspect() {
	curl -sf -H "Accept: application/vnd.oci.image.manifest.v1+json" \
		"http://127.0.0.1:$rport/v2/pgimg/faults/manifests/1" | sha256sum | grep -q "^${want#sha256:} "
}
ok "the registry holds the manifest under its digest" inspect

out=$("$PGIMG" -q --cache-dir "$cache" pull --insecure --json --jobs 1 "$host/pgimg/faults:1" -o "$work/pulled.tar" \
	2>"$work/pull.err")
check_pull() {
	[ "$(field manifest <<<"$out")" = "$want" ] && [ "$(faults cut-get)" = 1 ] &&
		cmp -s <(tar -xOf "$work/img.tar" index.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifests"][0]["digest"])') \
			<(echo "$want")
}
ok "pull through a cut download resumes it and gets the same digest" check_pull
sed 's/^/#   /' "$work/pull.err"
got=$(field bytesDownloaded <<<"$out" 2>/dev/null)
check_got() { [ "${got:-0}" -lt $((size + (2 << 20))) ]; }
ok "the download was resumed, not restarted ($got bytes)" check_got

# Ctrl-C in the middle of a pull: nothing partial is left.
fresh=$(cache_copy)
"$PGIMG" -q --cache-dir "$fresh" pull --insecure --jobs 1 --limit-rate 4 "$host/pgimg/faults:1" 2>"$work/int.err" &
pid=$!
for _ in $(seq 100); do
	[ -n "$(find "$fresh/blobs/sha256" -name '.tmp-*' -size +1M 2>/dev/null)" ] && break
	sleep 0.05
done
kill -INT "$pid"
wait "$pid"
rc=$?
check_int() { [ "$rc" = 130 ] && [ -z "$(temps_in "$fresh")" ] && [ "$(ls "$fresh/blobs/sha256" | wc -l)" -le 2 ]; }
ok "SIGINT mid-pull: exit 130 and no partial file in the store" check_int
rm -rf "$fresh"

# A full disk during a pull: a clear error, nothing partial left.
mkdir -p "$work/small"
if mount -t tmpfs -o size=8m pgimg-test "$work/small" 2>/dev/null; then
	msg=$("$PGIMG" --cache-dir "$work/small/cache" pull --insecure "$host/pgimg/faults:1" 2>&1)
	rc=$?
	check_full() {
		[ "$rc" = 1 ] && grep -q "the disk of $work/small/cache/blobs/sha256 is full" <<<"$msg" &&
			grep -q "No space left on device" <<<"$msg" && [ -z "$(temps_in "$work/small")" ]
	}
	ok "a full disk during a pull: exit 1, the message says so, no partial file" check_full
	grep -o 'pgimg: .*' <<<"$msg" | sed 's/^/#   /'
	umount "$work/small"
else
	pass "a full disk during a pull # SKIP cannot mount a small tmpfs here"
fi

finish
