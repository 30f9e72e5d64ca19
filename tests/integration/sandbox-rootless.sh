#!/bin/sh
# sandbox-rootless.sh - `pgimg sandbox` as an unprivileged user: root
# inside, read-only root, writable binds, and no way out to the host's
# network.  Run as root, it switches to the user `pgimg-test` (created
# for the run if missing, else `nobody`); run as anyone else, it runs as
# that user.  Prints TAP; exits 77 when it cannot run here.
#
#   PGIMG=./pgimg tests/integration/sandbox-rootless.sh
set -u

PGIMG=${PGIMG:-./pgimg}
TEST_USER=${PGIMG_TEST_USER:-pgimg-test}

skip () {
	echo "1..0 # SKIP $*"
	echo "sandbox-rootless: skipped: $*" >&2
	exit 77
}

[ -x "$PGIMG" ] || skip "no pgimg binary at $PGIMG (make pgimg, or set PGIMG)"
command -v bash >/dev/null || skip "bash is needed for /dev/tcp"
command -v python3 >/dev/null || skip "python3 is needed for the host-side TCP listener"

tmp=$(mktemp -d /tmp/pgimg-rootless-XXXXXX) || exit 1
chmod 755 "$tmp"
listener=
made_user=
cleanup () {
	[ -n "$listener" ] && kill "$listener" 2>/dev/null
	rm -rf "$tmp"
	[ -n "$made_user" ] && userdel "$TEST_USER" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# The user the sandbox runs as, and how to run a command as that user.
if [ "$(id -u)" -eq 0 ]; then
	if ! id "$TEST_USER" >/dev/null 2>&1; then
		if useradd --system --no-create-home --shell /usr/sbin/nologin "$TEST_USER" 2>/dev/null; then
			made_user=1
		else
			TEST_USER=nobody
		fi
	fi
	uid=$(id -u "$TEST_USER")
	gid=$(id -g "$TEST_USER")
	if command -v setpriv >/dev/null; then
		as_user () { setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"; }
	else
		as_user () { su -s /bin/sh "$TEST_USER" -c '"$0" "$@"' -- "$@"; }
	fi
else
	uid=$(id -u)
	gid=$(id -g)
	as_user () { "$@"; }
fi
[ "$uid" -ne 0 ] || skip "needs an unprivileged user to run as"

# A copy of the binary and a root the user owns, whatever the checkout's modes.
cp "$PGIMG" "$tmp/pgimg" && chmod 755 "$tmp/pgimg" || exit 1
pg=$tmp/pgimg
root=$tmp/root
out=$tmp/out
mkdir "$root" "$out" "$root/proc" "$root/dev" "$root/tmp" || exit 1
for l in bin lib lib64 sbin; do ln -s "usr/$l" "$root/$l"; done
chown -R "$uid:$gid" "$root" "$out" || exit 1

sandbox () {
	as_user "$pg" sandbox --root "$root" --bind /usr:/usr --bind-rw "$out:/out" -- "$@"
}

if ! probe=$(sandbox true 2>&1); then
	case $probe in
	*"namespaces are unavailable"* | *"cannot create mount, pid"*) skip "${probe#pgimg: }" ;;
	esac
fi

n=0 pass=0 fail=0
check () {
	n=$((n + 1))
	desc=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
		echo "ok $n - $desc"
	else
		fail=$((fail + 1))
		echo "not ok $n - $desc"
	fi
}
equals () { [ "$1" = "$2" ] || { echo "# got '$1', want '$2'"; return 1; }; }
fails () { ! "$@"; }

check "uid 0 inside" equals "$(sandbox id -u 2>&1)" 0
check "the caller is root's only uid" equals "$(sandbox cat /proc/self/uid_map 2>&1 | tr -s ' ' | sed 's/^ //')" "0 $uid 1"
check "the root is read-only" fails sandbox sh -c 'echo > /x' 2>/dev/null
check "a read-only bind is read-only" fails sandbox sh -c 'echo > /usr/pgimg-rootless-x' 2>/dev/null
check "a writable bind is writable" sandbox sh -c 'echo step > /out/f'
check "its files belong to the caller on the host" \
	equals "$(stat -c '%u:%g %s' "$out/f" 2>&1)" "$uid:$gid 5"
check "the root on disk is left as it was" fails test -e "$root/usr"
check "the command's status is pgimg's" equals "$(sandbox sh -c 'exit 7'; echo $?)" 7
check "only loopback exists" \
	equals "$(sandbox sh -c "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '" 2>&1)" lo

# A listener on the host's loopback: reachable from the host, not from
# inside, where 127.0.0.1 is the sandbox's own.
python3 -c '
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
while True:
    s.accept()[0].close()
' "$tmp/port" &
listener=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
port=$(cat "$tmp/port" 2>/dev/null)
check "the host listener is reachable from the host" \
	as_user bash -c "echo > /dev/tcp/127.0.0.1/$port" 2>/dev/null
check "the host listener is unreachable from inside" \
	fails sandbox bash -c "echo > /dev/tcp/127.0.0.1/$port" 2>/dev/null

check "a missing root is named in the error" equals \
	"$(as_user "$pg" sandbox --root "$tmp/none" -- true 2>&1)" \
	"pgimg: sandbox: root $tmp/none: No such file or directory"

echo "1..$n"
echo "sandbox-rootless: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
