# 60-numbers.sh - numbers pgimg reads from files it does not fully
# control: an image's PG_MAJOR (the image's author chooses it) and the
# pid and exit files of a detached run.  "18x" is not 18, "4x" is not
# pid 4: each is refused with one line, and no process is signalled on
# the strength of a garbled pid file.
# Sourced by hostile.sh (pass/fail, one_line, $HOSTILE_WORK, $PGIMG).

NUM_WORK=$HOSTILE_WORK/numbers
NUM_CACHE=$NUM_WORK/cache
mkdir -p "$NUM_WORK" "$NUM_CACHE"
num_pg() { "$PGIMG" --cache-dir "$NUM_CACHE" "$@"; }

# num_image MAJOR OUT: an OCI layout of one tiny layer whose config says
# PG_MAJOR=MAJOR and PG_VERSION=18.1.
num_image() {
	python3 - "$1" "$2" <<'EOF'
import hashlib, io, json, os, sys, tarfile
major, out = sys.argv[1:3]
def sha(b): return hashlib.sha256(b).hexdigest()
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
    ti = tarfile.TarInfo("hello.txt"); ti.size = 5; ti.mtime = 0
    t.addfile(ti, io.BytesIO(b"good\n"))
layer = buf.getvalue()
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "config": {"Env": ["PATH=/usr/bin", "PG_MAJOR=" + major, "PG_VERSION=18.1"],
                                "Entrypoint": ["/hello.txt"]},
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(layer)]}}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": "sha256:" + sha(config), "size": len(config)},
                       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                   "digest": "sha256:" + sha(layer), "size": len(layer)}]}).encode()
index = json.dumps({"schemaVersion": 2, "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json",
     "digest": "sha256:" + sha(manifest), "size": len(manifest)}]}).encode()
for name, data in [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index),
                   ("blobs/sha256/" + sha(config), config), ("blobs/sha256/" + sha(manifest), manifest),
                   ("blobs/sha256/" + sha(layer), layer)]:
    p = os.path.join(out, name); os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, "wb").write(data)
EOF
}

for major in 18x "" 99999999999999999999; do
	img=$NUM_WORK/major-${major:-empty}
	num_image "$major" "$img"
	out=$(num_pg migration-test "$img" "$img" pg_dumpall 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 0 ] && [[ $out == *"PG_MAJOR is not a major version"* ]]; then
		pass "migration-test: PG_MAJOR=\`$major\` is refused"
	else
		fail "migration-test: PG_MAJOR=\`$major\` is refused" "rc $rc: $out"
	fi
	one_line "migration-test: PG_MAJOR=\`$major\`" "$out"
done

# A detached run's files, as `pgimg run -d` leaves them, by hand.
num_run_dir() { mkdir -p -m 0700 "$NUM_CACHE/run/$1"; printf '%s' "$2" > "$NUM_CACHE/run/$1/pid"; }

# A pid file that says "PIDx": no longer read as PID, so the process
# there is not stopped.
sleep 300 &
num_sleeper=$!
HOSTILE_CLEANUPS+=("kill $num_sleeper")
num_run_dir garbled-pid "${num_sleeper}x"
out=$(timeout 20 "$PGIMG" --cache-dir "$NUM_CACHE" stop garbled-pid 2>&1)
rc=$?
if kill -0 "$num_sleeper" 2>/dev/null; then
	pass "stop: a garbled pid file signals nobody"
else
	fail "stop: a garbled pid file signals nobody" "pid $num_sleeper was killed: $out"
fi
if [ $rc -eq 1 ] && [[ $out == *"garbled-pid: not running"* ]]; then
	pass "stop: a garbled pid file is no run"
else
	fail "stop: a garbled pid file is no run" "rc $rc: $out"
fi
one_line "stop: garbled pid file" "$out"
kill "$num_sleeper" 2>/dev/null
wait "$num_sleeper" 2>/dev/null

# An exit file that says "3x": not status 3, but one line saying so.
sleep 300 &
num_sleeper=$!
HOSTILE_CLEANUPS+=("kill $num_sleeper")
num_run_dir garbled-exit "$num_sleeper
"
printf '3x\n' > "$NUM_CACHE/run/garbled-exit/exit"
out=$(timeout 20 "$PGIMG" --cache-dir "$NUM_CACHE" stop garbled-exit 2>&1)
rc=$?
if [ $rc -eq 1 ] && [[ $out == *"holds no exit status"* ]]; then
	pass "stop: a garbled exit file is an error, not a status"
else
	fail "stop: a garbled exit file is an error, not a status" "rc $rc: $out"
fi
one_line "stop: garbled exit file" "$out"
wait "$num_sleeper" 2>/dev/null
