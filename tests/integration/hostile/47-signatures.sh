# hostile/47-signatures.sh (sourced by hostile.sh): a registry that
# answers `pull --trusted-key` with hostile signatures.  Its .sig tag
# claims a payload and then streams megabytes, holds 1000 layers,
# serves a payload that is not the blob its digest names, or carries a
# garbage annotation of 512 KiB (a manifest above 1 MiB is not read at
# all).  pgimg must refuse each with one line, read no more than its
# limits, and store no blob of the image.

hs_port=$(free_port)
hs_log=$HOSTILE_WORK/signatures.log
cat >"$HOSTILE_WORK/signatures.py" <<'PY'
import hashlib, json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log = int(sys.argv[1]), sys.argv[2]
D = "sha256:" + "ab" * 32
SS = "application/vnd.dev.cosign.simplesigning.v1+json"
image = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": D, "size": 2},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": D, "size": 2}]}).encode()
tag = "sha256-%s.sig" % hashlib.sha256(image).hexdigest()

def sig(layers):
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": D, "size": 2},
                       "layers": layers}).encode()

HELLO = "sha256:" + hashlib.sha256(b"hello").hexdigest()

def layer(size, annotation="MEUCIQ==", digest=HELLO):
    return {"mediaType": SS, "digest": digest, "size": size,
            "annotations": {"dev.cosignproject.cosign/signature": annotation}}

sigs = {
    "stream": sig([layer(300)]),
    "many": sig([layer(5)] * 1000),
    "mismatch": sig([layer(5, digest=D)]),
    "annotation": sig([layer(5, "A" * (1 << 19))]),
}

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def log_message(self, *a):
        pass
    def reply(self, body, ctype="application/octet-stream", length=None):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length if length is not None else len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        parts = self.path.split("/")       # /v2/<repo>/manifests|blobs/<ref>
        if self.path == "/v2/":
            return self.reply(b"{}", "application/json")
        repo, kind, ref = parts[2], parts[3], parts[4]
        with open(log, "a") as f:
            f.write("%s %s %s\n" % (repo, kind, ref))
        mt = "application/vnd.oci.image.manifest.v1+json"
        if kind == "manifests" and ref == "1":
            return self.reply(image, mt)
        if kind == "manifests" and ref == tag:
            return self.reply(sigs[repo], mt)
        if kind == "blobs" and repo == "stream":
            try:
                self.reply(b"", length=64 << 20)
                for _ in range(64 * 16):
                    self.wfile.write(b"{" * 65536)
            except OSError:
                pass
            return
        if kind == "blobs":
            return self.reply(b"hello")
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_HEAD = do_GET

ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
python3 "$HOSTILE_WORK/signatures.py" "$hs_port" "$hs_log" 2>/dev/null &
HOSTILE_CLEANUPS+=("kill $! ; wait $!")
wait_http "http://127.0.0.1:$hs_port/v2/"
"$PGIMG" -q key generate -o "$HOSTILE_WORK/sig-ci"

# hs_case REPO NAME WANT: the pull of REPO fails in one line holding WANT.
hs_case() {
	local cache="$HOSTILE_WORK/sig-cache-$1" out rc
	out=$(timeout 60 "$PGIMG" --cache-dir "$cache" pull --insecure --retries 0 \
		--trusted-key "$HOSTILE_WORK/sig-ci.pub" "127.0.0.1:$hs_port/$1:1" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" = 1 ] && [[ $out == *"$3"* ]]; then pass "$2: refused"; else fail "$2: refused" "exit $rc: $out"; fi
	echo "# $out"
	one_line "$2" "$out"
	if [ -z "$(ls "$cache/blobs/sha256" 2>/dev/null)" ]; then pass "$2: no blob of the image stored"; else
		fail "$2: no blob of the image stored" "$(ls "$cache/blobs/sha256")"; fi
}
hs_case stream "a signature payload that never ends" "a signature"
hs_case many "a .sig of 1000 layers" "is not made by any of the 1 trusted keys"
hs_many=$(grep -c "^many blobs" "$hs_log")
if [ "$hs_many" -le 64 ]; then pass "a .sig of 1000 layers: at most 64 payloads fetched ($hs_many)"; else
	fail "a .sig of 1000 layers: at most 64 payloads fetched" "fetched $hs_many"; fi
hs_case mismatch "a payload that is not the blob its digest names" "does not match its digest; refused"
hs_case annotation "a signature annotation of 512 KiB" "is not made by any of the 1 trusted keys"
