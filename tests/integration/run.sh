#!/bin/bash
# run.sh - pgimg's own runtime: `pgimg run -d` on 127.0.0.1 with a
# password, data kept across a stop and a second start (initdb runs
# once), a server that is not root, the image's own error without a
# password, a clean shutdown, `pgimg psql`, the caller's own psql on the
# run's socket without a password, and `pgimg test --engine pgimg`.
# Needs the host's psql for the TCP checks.  Prints TAP.  What other
# users cannot do: hostile/10-local-user.sh.
set -u
. "$(dirname "$0")/lib/tap.sh"

[ -x "$PGIMG" ] || skip_all "no pgimg binary at $PGIMG (make)"
command -v psql >/dev/null || skip_all "the host's psql is needed (apt-get install postgresql-client)"
command -v python3 >/dev/null || skip_all "python3 is needed to find a free port"
probe=$("$PGIMG" sandbox --root / -- true 2>&1) || case $probe in
	*"namespaces are unavailable"* | *"cannot create mount, pid"*) skip_all "${probe#pgimg: }" ;;
esac

pg() { "$PGIMG" --cache-dir "$TEST_CACHE" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

name=pgimg-it-run-$$
nopw=pgimg-it-nopw-$$
run_dir=$TEST_CACHE/run/$name
port=$(free_port)
cleanup() {
	pg stop "$name" >/dev/null 2>&1
	rm -rf "$run_dir" "$TEST_CACHE/run/$nopw"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

q() { PGPASSWORD=secret-$$ psql -X -q -At -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "$1" 2>&1; }

# ---- First start: initdb, then a table over TCP from the host. ----
if out=$(pg run -d --name "$name" --port "$port" -e POSTGRES_PASSWORD=secret-$$ postgres-18 2>&1); then
	pass "run -d returns once the server is ready"
else
	fail "run -d returns once the server is ready" "$out"
	finish
fi
check_q() {
	local name=$1 want=$2 got
	got=$(q "$3")
	if [ "$got" = "$want" ]; then pass "$name"; else fail "$name" "want: $want" "got: $got"; fi
}
check_q "the host's psql connects to 127.0.0.1:$port with the password" 1 "select 1"
q "create table kept (v text); insert into kept values ('still here')" >/dev/null
check_q "a table is created" 1 "select count(*) from kept"
log=$run_dir/log
check_q "the server runs as postgres inside" postgres "select current_user"

# The postmaster: the caller's uid outside, 999 inside.
pid=$(head -n 1 "$run_dir/data/18/docker/postmaster.pid" 2>/dev/null)
host_pid=
for p in $(pgrep -x postgres); do
	nspid=$(awk '/^NSpid:/ { print $NF }' "/proc/$p/status" 2>/dev/null)
	if [ "$nspid" = "$pid" ] && tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -- "-c port=$port "; then host_pid=$p; fi
done
if [ -n "$host_pid" ] && [ "$(awk '/^Uid:/ { print $2 }' "/proc/$host_pid/status")" = "$(id -u)" ] \
	&& [ "$(awk '{ print $1; exit }' "/proc/$host_pid/uid_map")" = 999 ]; then
	pass "the postmaster is uid $(id -u) outside and 999 inside"
else
	fail "the postmaster is uid $(id -u) outside and 999 inside" "pid inside: $pid, on the host: ${host_pid:-not found}"
fi
owner=$(stat -c %u "$run_dir/data/18/docker/PG_VERSION" 2>/dev/null)
if [ "$owner" = "$(id -u)" ]; then pass "the data files belong to the caller"; else fail "the data files belong to the caller" "owner: $owner"; fi

out=$(pg psql "$name" -- -At -c 'select 1' 2>&1)
if [ "$out" = 1 ]; then pass "pgimg psql runs the image's psql over the socket"; else fail "pgimg psql runs the image's psql over the socket" "$out"; fi
out=$(echo 'select 40 + 2' | pg psql "$name" -- -At 2>&1)
if [ "$out" = 42 ]; then pass "pgimg psql reads its stdin"; else fail "pgimg psql reads its stdin" "$out"; fi
out=$(env -u PGPASSWORD psql -X -w -At -h "$run_dir/socket" -p "$port" -U postgres -d postgres -c 'select 5' 2>&1)
if [ "$out" = 5 ]; then pass "the host's psql on the run's socket needs no password"; else fail "the host's psql on the run's socket needs no password" "$out"; fi

out=$(pg run -d --name "$name" --port "$port" -e POSTGRES_PASSWORD=x postgres-18 2>&1)
if [ $? -ne 0 ] && [[ $out == *"is running already"* ]]; then pass "a second run of the same name is refused"; else fail "a second run of the same name is refused" "$out"; fi

# ---- Stop: a clean shutdown. ----
if out=$(pg stop "$name" 2>&1); then pass "stop exits 0"; else fail "stop exits 0" "$out"; fi
if grep -q "database system is shut down" "$log"; then pass "the server shut down cleanly"; else fail "the server shut down cleanly" "$(tail -n 3 "$log")"; fi
if ! pgrep -f -- "-c port=$port" >/dev/null; then pass "no process is left"; else fail "no process is left"; fi

# ---- Second start on the same data. ----
if out=$(pg run -d --name "$name" --port "$port" -e POSTGRES_PASSWORD=secret-$$ postgres-18 2>&1); then
	pass "a second start on the same data"
	check_q "the row is still there" "still here" "select v from kept"
	n=$(grep -c "PostgreSQL init process complete" "$log")
	if [ "$n" = 1 ] && grep -q "Skipping initialization" "$log"; then pass "initdb ran only once"; else fail "initdb ran only once" "init count: $n"; fi
	pg stop "$name" >/dev/null 2>&1
else
	fail "a second start on the same data" "$out"
fi

# ---- An image tarball, as `pgimg build` writes it. ----
tar=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-run-tar-XXXXXX")
tarname=pgimg-it-tar-$$
if pg -q build postgres-18 -o "$tar/$tarname.tar" \
	&& pg run -d --port "$(free_port)" -e POSTGRES_HOST_AUTH_METHOD=trust "$tar/$tarname.tar" >/dev/null 2>&1 \
	&& [ "$(pg psql "$tarname" -- -At -c 'select 7' 2>&1)" = 7 ] && pg -q stop "$tarname"; then
	pass "an image tarball runs under the name of its file"
else
	fail "an image tarball runs under the name of its file" "$(tail -n 5 "$TEST_CACHE/run/$tarname/log" 2>/dev/null)"
	pg stop "$tarname" >/dev/null 2>&1
fi
rm -rf "$tar" "$TEST_CACHE/run/$tarname"

# ---- No password: the image's own error. ----
out=$(pg run -d --name "$nopw" --port "$(free_port)" postgres-18 2>&1)
rc=$?
if [ $rc -ne 0 ] && [[ $out == *"superuser password is not specified"* ]]; then
	pass "a missing POSTGRES_PASSWORD fails with the image's message (exit $rc)"
else
	fail "a missing POSTGRES_PASSWORD fails with the image's message" "exit $rc" "$out"
fi

out=$(pg run --port 0 postgres-18 2>&1)
if [ $? -eq 2 ] && [[ $out == *"--port takes a port number"* ]]; then pass "a bad port is a usage error"; else fail "a bad port is a usage error" "$out"; fi

# ---- As an unprivileged user, from a tarball (no build, a cache of its own). ----
if [ "$(id -u)" -eq 0 ]; then
	user=${PGIMG_TEST_USER:-pgimg-test}
	made_user=
	if ! id "$user" >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin "$user" 2>/dev/null && made_user=1
	fi
	utmp=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-run-user-XXXXXX")
	chmod 755 "$utmp"
	uport=$(free_port)
	if id "$user" >/dev/null 2>&1 && pg -q build postgres-18 -o "$utmp/pg18.tar" && cp "$PGIMG" "$utmp/pgimg" \
		&& mkdir "$utmp/cache" && chown -R "$user:" "$utmp"; then
		as_user() { setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --clear-groups -- env HOME="$utmp" "$@"; }
		if out=$(as_user "$utmp/pgimg" --cache-dir "$utmp/cache" run -d --name u --port "$uport" \
			-e POSTGRES_PASSWORD=secret-$$ "$utmp/pg18.tar" 2>&1) \
			&& [ "$(PGPASSWORD=secret-$$ psql -X -At -h 127.0.0.1 -p "$uport" -U postgres -c 'select 3' 2>&1)" = 3 ]; then
			pass "an unprivileged user runs the image (uid $(id -u "$user"))"
		else
			fail "an unprivileged user runs the image" "$out" "$(tail -n 5 "$utmp/cache/run/u/log" 2>/dev/null)"
		fi
		out=$(as_user env -u PGPASSWORD psql -X -w -At -h "$utmp/cache/run/u/socket" -p "$uport" -U postgres -d postgres \
			-c 'select 4' 2>&1)
		mode=$(stat -c '%a %u' "$utmp/cache/run/u/socket" 2>/dev/null)
		if [ "$out" = 4 ] && [ "$mode" = "700 $(id -u "$user")" ]; then
			pass "that user's own socket (mode 0700) lets it in without a password"
		else
			fail "that user's own socket (mode 0700) lets it in without a password" "mode: $mode" "$out"
		fi
		owner=$(stat -c %u "$utmp/cache/run/u/data/18/docker/PG_VERSION" 2>/dev/null)
		if [ "$owner" = "$(id -u "$user")" ]; then pass "its data belongs to that user"; else fail "its data belongs to that user" "owner: $owner"; fi
		if as_user "$utmp/pgimg" -q --cache-dir "$utmp/cache" stop u && grep -q "database system is shut down" "$utmp/cache/run/u/log"; then
			pass "the unprivileged server stops cleanly"
		else
			fail "the unprivileged server stops cleanly"
		fi
	else
		fail "an unprivileged user runs the image" "could not set up user $user"
	fi
	rm -rf "$utmp"
	[ -n "$made_user" ] && userdel "$user" 2>/dev/null
fi

# ---- The smoke tests in this runtime. ----
if [ -f "$ROOT/extensions/pgtap.json" ] && [ -f "$ROOT/extensions/hypopg.json" ]; then
	if out=$(pg test postgres-18 --engine pgimg --with hypopg 2>&1); then
		pass "pgimg test --engine pgimg --with hypopg"
	else
		fail "pgimg test --engine pgimg --with hypopg" "$(tail -n 15 <<<"$out")"
	fi
else
	echo "ok $((TAP_N + 1)) # SKIP pgimg test: no extensions/pgtap.json or hypopg.json in this tree"
	TAP_N=$((TAP_N + 1)) TAP_PASS=$((TAP_PASS + 1))
fi

finish
