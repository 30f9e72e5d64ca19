# 10-local-user.sh - another local user (nobody) against a server of
# pgimg's runtime, which shares the host's network namespace: TCP needs
# the password even from 127.0.0.1 (also on data whose own pg_hba.conf
# trusts 127.0.0.1, as older pgimg versions left it), the socket and the
# data are the caller's alone, and the caller keeps `pgimg psql` and the
# host's psql with the password.  Then the same for the server of `pgimg
# test`, looked at while it runs.  Sourced by hostile.sh.

lu_skip() { TAP_N=$((TAP_N + 1)) TAP_PASS=$((TAP_PASS + 1)); echo "ok $TAP_N # SKIP $1"; }

# lu_psql_other ARGS...: the host's psql as nobody, no ~/.pgpass, no prompt.
lu_psql_other() {
	as_other env -i PATH="$PATH" HOME=/nonexistent LANG=C psql -X -w -At -d postgres "$@" 2>&1
}
# lu_refused NAME ARGS...: nobody's psql ARGS must fail, for want of a
# password over TCP, of permission on the socket (not a server that is gone).
lu_refused() {
	local name=$1 out
	shift
	if out=$(lu_psql_other "$@" -c 'select 1'); then
		fail "$name" "nobody got in: $out"
	elif [[ $out == *"password"* || $out == *"Permission denied"* ]]; then
		pass "$name"
	else
		fail "$name" "refused, but not for a password or a permission: $out"
	fi
}
lu_mode() { stat -c '%a %u' "$1" 2>/dev/null; }
# lu_same NAME WANT GOT
lu_same() { if [ "$3" = "$2" ]; then pass "$1"; else fail "$1" "want: $2" "got: $3"; fi; }

lu_main() {
	local name=pgimg-hostile-lu-$$ pw=secret-$$ port dir out got
	port=$(free_port)
	dir=$TEST_CACHE/run/$name
	HOSTILE_CLEANUPS+=("pg stop $name; rm -rf '$dir'")

	if ! out=$(pg -q run -d --name "$name" --port "$port" -e POSTGRES_PASSWORD="$pw" postgres-18 2>&1); then
		fail "local user: pgimg run -d postgres-18 starts" "$out" "$(tail -n 5 "$dir/log" 2>/dev/null)"
		return
	fi
	lu_refused "local user: TCP as postgres without a password is refused" -h 127.0.0.1 -p "$port" -U postgres
	if out=$(as_other env -i PATH="$PATH" HOME=/nonexistent PGPASSWORD=wrong-$$ psql -X -w -h 127.0.0.1 -p "$port" \
		-U postgres -d postgres -c 'select 1' 2>&1); then
		fail "local user: TCP with a wrong password is refused" "$out"
	else
		pass "local user: TCP with a wrong password is refused"
	fi
	lu_refused "local user: the run's socket refuses nobody" -h "$dir/socket" -p "$port" -U postgres
	if as_other test -x "$dir/socket" || as_other ls "$dir/socket" >/dev/null 2>&1; then
		fail "local user: nobody cannot enter the socket directory"
	else
		pass "local user: nobody cannot enter the socket directory"
	fi
	lu_same "local user: the socket directory is 0700 and the caller's" "700 $(id -u)" "$(lu_mode "$dir/socket")"
	if as_other ls "$dir/data" >/dev/null 2>&1 || as_other cat "$dir/data/18/docker/PG_VERSION" >/dev/null 2>&1; then
		fail "local user: nobody cannot read the data directory"
	else
		pass "local user: nobody cannot read the data directory"
	fi
	got=$(pg psql "$name" -- -At -c 'select 1' 2>&1)
	lu_same "local user: the caller's pgimg psql still works" 1 "$got"
	got=$(PGPASSWORD=$pw psql -X -w -At -h 127.0.0.1 -p "$port" -U postgres -d postgres \
		-c "select rolpassword like 'SCRAM-SHA-256\$%' from pg_authid where rolname = 'postgres'" 2>&1)
	lu_same "local user: the host's psql with the password works, and it is a scram verifier" t "$got"

	# Data of an older pgimg: its pg_hba.conf trusts 127.0.0.1 first, and
	# the socket directory was left open; trust asked for on top.
	pg -q stop "$name" >/dev/null 2>&1
	sed -i '1i host all all 127.0.0.1/32 trust\nlocal all all trust' "$dir/data/18/docker/pg_hba.conf"
	chmod 3777 "$dir/socket"
	chmod 755 "$dir"
	if ! out=$(pg run -d --name "$name" --port "$port" -e POSTGRES_PASSWORD="$pw" \
		-e POSTGRES_HOST_AUTH_METHOD=trust postgres-18 2>&1); then
		fail "local user: a restart on trusting data" "$out" "$(tail -n 5 "$dir/log" 2>/dev/null)"
		return
	fi
	if [[ $out == *"warning: POSTGRES_HOST_AUTH_METHOD=trust"*"127.0.0.1:$port always"* ]]; then
		pass "local user: POSTGRES_HOST_AUTH_METHOD=trust gets a warning"
	else
		fail "local user: POSTGRES_HOST_AUTH_METHOD=trust gets a warning" "$out"
	fi
	lu_refused "local user: data whose pg_hba.conf trusts 127.0.0.1: still refused" \
		-h 127.0.0.1 -p "$port" -U postgres
	lu_refused "local user: ... and its socket too" -h "$dir/socket" -p "$port" -U postgres
	lu_same "local user: the run and socket directories are private again" "700 $(id -u) 700 $(id -u)" \
		"$(lu_mode "$dir") $(lu_mode "$dir/socket")"
	got=$(pg psql "$name" -- -At -c 'select 2' 2>&1)
	lu_same "local user: pgimg psql on the restarted run" 2 "$got"
	pg -q stop "$name" >/dev/null 2>&1
}

# The server of `pgimg test`: find its socket while it runs, then try it
# as nobody, over TCP and over the socket.
lu_test_engine() {
	local pid sock='' work port i out=$HOSTILE_WORK/lu-test.out got
	"$PGIMG" --cache-dir "$TEST_CACHE" -q test postgres-18 --engine pgimg >"$out" 2>&1 &
	pid=$!
	for ((i = 0; i < 1200; i++)); do
		sock=$(find "$TEST_CACHE/work" -maxdepth 3 -path "*/.tmp-$pid-test-*/socket/.s.PGSQL.*" \
			! -name '*.lock' ! -name '.s.PGSQL.5432' 2>/dev/null | head -n 1) # 5432: initdb's server
		[ -z "$sock" ] && kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$sock" ]; then
		wait "$pid"
		fail "local user: the server of pgimg test was seen" "$(tail -n 5 "$out")"
		return
	fi
	port=${sock##*.}
	work=${sock%/socket/*}
	# The engine makes the socket directory 0700 again once the server
	# is ready (the entrypoint sets it to 03775): wait for that, so that
	# the tries below meet a server that is up, not starting.
	for ((i = 0; i < 600; i++)); do
		[ "$(stat -c %a "${sock%/*}" 2>/dev/null)" = 700 ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	# The caller itself gets in, first: the smoke tests may end soon, and
	# the refusals below name their reason, which only a live server gives.
	got=$(env -u PGPASSWORD psql -X -w -At -h "${sock%/*}" -p "$port" -U postgres -d postgres -c 'select 3' 2>&1)
	lu_same "local user: the caller gets into pgimg test's server" 3 "$got"
	lu_refused "local user: pgimg test's server refuses nobody over TCP" -h 127.0.0.1 -p "$port" -U postgres
	lu_refused "local user: pgimg test's server refuses nobody on its socket" -h "${sock%/*}" -p "$port" -U postgres
	lu_same "local user: pgimg test's work and socket directories are private" "700 $(id -u) 700 $(id -u)" \
		"$(lu_mode "$work") $(lu_mode "${sock%/*}")"
	if wait "$pid"; then pass "local user: pgimg test --engine pgimg passes"; else fail "local user: pgimg test --engine pgimg passes" "$(tail -n 5 "$out")"; fi
}

if ! command -v psql >/dev/null; then
	lu_skip "local user: the host's psql is needed (apt-get install postgresql-client)"
elif ! lu_probe=$("$PGIMG" sandbox --root / -- true 2>&1) \
	&& [[ $lu_probe == *"namespaces are unavailable"* || $lu_probe == *"cannot create mount, pid"* ]]; then
	lu_skip "local user: ${lu_probe#pgimg: }"
else
	lu_main
	lu_test_engine
fi
