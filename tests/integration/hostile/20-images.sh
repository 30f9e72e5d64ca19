# 20-images.sh - hostile images: blobs that do not match their digests,
# blobs that are links to host files, layers whose diff_id the config
# lies about, and a tarball whose pax header would make a hand-written
# tar reader loop.  Each is refused with one line, nothing of a host file
# is echoed, and no root is left in <cache>/rootfs.
# Sourced by hostile.sh (pass/fail, one_line, $HOSTILE_WORK, $PGIMG).

IMG_WORK=$HOSTILE_WORK/images
IMG_CACHE=$IMG_WORK/cache
IMG_SECRET=$IMG_WORK/secret.txt
IMG_WORD=hostile-secret-5e2f9a
mkdir -p "$IMG_WORK" "$IMG_CACHE"
printf '%s\n' "$IMG_WORD" > "$IMG_SECRET"

# img_make MODE FORMAT OUT: an image whose one layer holds /hello.txt.
#   MODE: good | digest (the layer blob is not what its digest names,
#   same size) | symlink (the layer blob is a symbolic link to the
#   secret) | hardlink (a tar hard link to the secret's path) | diffid
#   (the config claims another diff_id)
#   FORMAT: tar | dir
img_make() {
	python3 - "$1" "$2" "$3" "$IMG_SECRET" <<'EOF'
import hashlib, io, json, os, sys, tarfile
mode, fmt, out, secret = sys.argv[1:5]

def sha(b): return hashlib.sha256(b).hexdigest()

def layer(content):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        ti = tarfile.TarInfo("hello.txt"); ti.size = len(content); ti.mtime = 0
        t.addfile(ti, io.BytesIO(content))
    return buf.getvalue()

good = layer(b"good\n")
bad = layer(b"evil\n")                       # same size, other bytes
diff_id = "sha256:" + sha(good)
if mode == "diffid":
    diff_id = "sha256:" + sha(b"something else")
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "config": {"Env": ["PATH=/usr/bin"], "Entrypoint": ["/hello.txt"]},
                     "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": "sha256:" + sha(config), "size": len(config)},
                       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                   "digest": "sha256:" + sha(good), "size": len(good)}]}).encode()
index = json.dumps({"schemaVersion": 2, "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json",
     "digest": "sha256:" + sha(manifest), "size": len(manifest)}]}).encode()

files = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index),
         ("blobs/sha256/" + sha(config), config), ("blobs/sha256/" + sha(manifest), manifest)]
layer_name = "blobs/sha256/" + sha(good)
layer_bytes = bad if mode == "digest" else good

if fmt == "dir":
    for name, data in files + ([] if mode in ("symlink", "hardlink") else [(layer_name, layer_bytes)]):
        p = os.path.join(out, name); os.makedirs(os.path.dirname(p), exist_ok=True)
        open(p, "wb").write(data)
    if mode in ("symlink", "hardlink"):
        os.symlink(secret, os.path.join(out, layer_name))
else:
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files:
            ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
        ti = tarfile.TarInfo(layer_name)
        if mode == "symlink":
            ti.type = tarfile.SYMTYPE; ti.linkname = secret; t.addfile(ti)
        elif mode == "hardlink":
            ti.type = tarfile.LNKTYPE; ti.linkname = secret.lstrip("/"); t.addfile(ti)
        else:
            ti.size = len(layer_bytes); t.addfile(ti, io.BytesIO(layer_bytes))
EOF
}

# img_roots: the entries of <cache>/rootfs (sorted), for before/after.
img_roots() { ls -A "$IMG_CACHE/rootfs" 2>/dev/null | sort; }

# img_refused NAME IMAGE WANT [CMD...]: `pgimg run IMAGE` (or pgimg CMD,
# which names the image itself) fails with one line saying WANT, without
# the secret word and without a new root.
img_refused() {
	local name=$1 image=$2 want=$3 before out rc
	shift 3
	[ $# -gt 0 ] || set -- run --name "img-$RANDOM" -e POSTGRES_PASSWORD=x -p "$(free_port)" "$image"
	before=$(img_roots)
	out=$(timeout 120 "$PGIMG" --cache-dir "$IMG_CACHE" "$@" 2>&1 </dev/null)
	rc=$?
	if [ "$rc" -ne 0 ]; then pass "$name: refused"; else fail "$name: refused" "exit 0: $out"; fi
	one_line "$name" "$out"
	if [[ $out == *"$want"* ]]; then pass "$name: says $want"; else fail "$name: says $want" "got: $out"; fi
	if [[ $out != *"$IMG_WORD"* ]]; then pass "$name: no host file in the message"; else fail "$name: no host file in the message" "got: $out"; fi
	if [ "$(img_roots)" = "$before" ]; then pass "$name: no new root in the cache"; else fail "$name: no new root in the cache" "$(img_roots)"; fi
}

img_make digest tar "$IMG_WORK/digest.tar"
img_refused "layer digest mismatch (tarball)" "$IMG_WORK/digest.tar" "arrived with digest sha256:"
img_make digest dir "$IMG_WORK/digest-dir"
img_refused "layer digest mismatch (layout)" "$IMG_WORK/digest-dir" "arrived with digest sha256:"

img_make symlink tar "$IMG_WORK/symlink.tar"
img_refused "layer blob is a symlink to a host file (tarball)" "$IMG_WORK/symlink.tar" "is a symbolic link, not a file; refused"
img_make symlink dir "$IMG_WORK/symlink-dir"
img_refused "layer blob is a symlink to a host file (layout)" "$IMG_WORK/symlink-dir" "is a symbolic link, not a file; refused"
img_make hardlink tar "$IMG_WORK/hardlink.tar"
img_refused "layer blob is a hard link (tarball)" "$IMG_WORK/hardlink.tar" "is a hard link, not a file; refused"

img_make diffid tar "$IMG_WORK/diffid.tar"
img_refused "layer diff_id mismatch" "$IMG_WORK/diffid.tar" "not the diff_id"

# migration-test reads both images the same way.
img_refused "migration-test: layer digest mismatch" "$IMG_WORK/digest.tar" "arrived with digest sha256:" \
	migration-test "$IMG_WORK/digest.tar" "$IMG_WORK/digest.tar" restart
img_refused "migration-test: layer blob is a symlink (layout)" "$IMG_WORK/symlink-dir" "is a symbolic link, not a file; refused" \
	migration-test "$IMG_WORK/symlink-dir" "$IMG_WORK/symlink-dir" restart
img_refused "migration-test: layer diff_id mismatch" "$IMG_WORK/diffid.tar" "not the diff_id" \
	migration-test "$IMG_WORK/diffid.tar" "$IMG_WORK/diffid.tar" restart

no_temps "hostile images" "$IMG_CACHE"

# A 10 KiB tarball whose pax header holds a record of length -2: push
# must fail at once with one line (it once spun for ever).
python3 - "$IMG_WORK/pax.tar" <<'EOF'
import sys
# "6 a=2 " is a record of 6 bytes; "-2 x=y" then sends a reader that
# adds lengths without checking them back to "2 " and round again.
rec = b"6 a=2 -2 x=y\n"
h = bytearray(512)
def put(off, s): h[off:off + len(s)] = s
put(0, b"PaxHeaders/x"); put(100, b"0000644\0"); put(108, b"0000000\0"); put(116, b"0000000\0")
put(124, b"%011o\0" % len(rec)); put(136, b"00000000000\0"); put(156, b"x")
put(257, b"ustar\0"); put(263, b"00"); put(148, b" " * 8)
put(148, b"%06o\0 " % sum(h))
data = bytes(h) + rec + bytes(512 - len(rec))
open(sys.argv[1], "wb").write(data + bytes(10240 - len(data)))
EOF
img_start=$(date +%s)
img_out=$(timeout 30 "$PGIMG" --cache-dir "$IMG_CACHE" push "$IMG_WORK/pax.tar" 127.0.0.1:1/x:y 2>&1 </dev/null)
img_rc=$?
img_secs=$(($(date +%s) - img_start))
if [ "$img_rc" -ne 0 ] && [ "$img_rc" -ne 124 ]; then pass "pax -2 tarball: push fails"; else fail "pax -2 tarball: push fails" "exit $img_rc: $img_out"; fi
if [ "$img_secs" -lt 10 ]; then pass "pax -2 tarball: fails fast (${img_secs}s)"; else fail "pax -2 tarball: fails fast" "${img_secs}s"; fi
one_line "pax -2 tarball" "$img_out"
