#!/bin/bash
# A build step sees no network, cannot write outside its output, runs
# as root only inside its own user namespace, and leaves no process.
set -u
. "$(dirname "$0")/lib/tap.sh"

root=$(ls -d "$TEST_CACHE"/roots/*/ 2>/dev/null | head -1)
if [ -z "$root" ]; then
	# No build has assembled a root yet: make one with a tiny build.
	"$PGIMG" --cache-dir "$TEST_CACHE" build postgres-18 -o "$TEST_OUT/iso.tar" >/dev/null 2>&1
	rm -f "$TEST_OUT/iso.tar" "$TEST_OUT/iso.tar.receipt.json" "$TEST_OUT/iso.tar.spdx.json"
	root=$(ls -d "$TEST_CACHE"/roots/*/ 2>/dev/null | head -1)
fi
[ -n "$root" ] || skip_all "no build root in $TEST_CACHE"
out=$(mktemp -d)
trap 'rm -rf "$out"; kill $listener 2>/dev/null' EXIT

# A listener on the host's loopback, reachable from the host itself.
port=$((20000 + RANDOM % 20000))
python3 -c "
import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $port)); s.listen(5)
while True:
    c,_=s.accept(); c.close()
" &
listener=$!
# Wait until it listens (a loaded machine starts python3 slowly), 20 s at most.
for _ in $(seq 200); do bash -c "echo > /dev/tcp/127.0.0.1/$port" 2>/dev/null && break; sleep 0.1; done
ok "the host reaches its own listener" bash -c "echo > /dev/tcp/127.0.0.1/$port"

sb() { "$PGIMG" sandbox --root "$root" --bind-rw "$out:/out" -- "$@"; }
no_net() { ! sb bash -c "echo > /dev/tcp/127.0.0.1/$port" 2>/dev/null; }
ok "a build step cannot connect to the host's loopback" no_net
no_dns() { ! sb bash -c 'echo > /dev/tcp/deb.debian.org/80' 2>/dev/null; }
ok "a build step cannot reach the outside network" no_dns
only_lo() { [ "$(sb sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "')" = lo ]; }
ok "only loopback exists inside" only_lo
ro_root() { ! sb sh -c 'echo x > /usr/bin/pgimg-test' 2>/dev/null; }
ok "the build root is read-only" ro_root
rw_out() { sb sh -c 'echo x > /out/f' && [ -f "$out/f" ] && [ "$(stat -c %u "$out/f")" = "$(id -u)" ]; }
ok "the output directory is writable and owned by the caller" rw_out
uid0() { [ "$(sb id -u)" = 0 ]; }
ok "the step runs as root inside its user namespace" uid0
ok "nothing of the caller's environment leaks in" env \
	-i PATH=/usr/bin:/bin SECRET_TOKEN=abc bash -c "! '$PGIMG' sandbox --root '$root' -- env | grep -q SECRET_TOKEN"
no_leftover() {
	sb sh -c 'sleep 300 & echo $! > /out/pid; exit 0'
	sleep 0.5
	! pgrep -f 'sleep 300' >/dev/null
}
ok "no process outlives its step" no_leftover
finish
