#!/bin/bash
# hostile.sh - what a hostile image, a hostile server or another local
# user can try against pgimg, and what pgimg must do: refuse with one
# line, write nothing outside the intended root, let nobody in.
#
# Each file of tests/integration/hostile/*.sh is one area; it is sourced
# here in name order and reports through lib/tap.sh.  Cases that need a
# second local user run as nobody (uid 65534) with setpriv.
set -u
. "$(dirname "$0")/lib/tap.sh"

[ -x "$PGIMG" ] || skip_all "no pgimg binary at $PGIMG (make)"
HOSTILE_DIR=$(cd "$(dirname "$0")/hostile" && pwd)
HOSTILE_WORK=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-hostile-XXXXXX")
chmod 0755 "$HOSTILE_WORK"
HOSTILE_CLEANUPS=()
hostile_cleanup() {
	local c
	for c in "${HOSTILE_CLEANUPS[@]}"; do eval "$c" >/dev/null 2>&1; done
	rm -rf "$HOSTILE_WORK"
}
trap hostile_cleanup EXIT
trap 'exit 1' INT TERM HUP

# pg ARGS: pgimg on the shared test cache.
pg() { "$PGIMG" --cache-dir "$TEST_CACHE" "$@"; }
# as_other CMD...: CMD as another local user (nobody), no extra groups.
as_other() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
# one_line NAME OUT: OUT is exactly one line starting with "pgimg: ".
one_line() {
	local n
	n=$(printf '%s\n' "$2" | grep -c .)
	if [ "$n" -eq 1 ] && [[ $2 == pgimg:* ]]; then pass "$1: one line"; else fail "$1: one line" "got: $2"; fi
}
# no_temps NAME DIR: no .tmp-* file is left below DIR.
no_temps() {
	local t
	t=$(temps_in "$2")
	if [ -z "$t" ]; then pass "$1: nothing half-written in $2"; else fail "$1: nothing half-written" "$t"; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_http URL: until something answers at URL (5 s at most).
wait_http() { for _ in $(seq 50); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }

for f in "$HOSTILE_DIR"/*.sh; do
	[ -e "$f" ] || continue
	echo "# hostile: $(basename "$f" .sh)"
	# shellcheck disable=SC1090
	. "$f"
done
finish
