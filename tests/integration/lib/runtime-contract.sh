#!/usr/bin/env bash
# Checks that a PostgreSQL image runs like the official docker-library
# image: the entrypoint's environment variables, init scripts, restarts,
# clean shutdown, the users the server runs as, and the image's own config.
#
#   tests/integration/runtime-contract.sh IMAGE MAJOR
#     IMAGE  an image already loaded into the Docker Engine
#     MAJOR  the PostgreSQL major it holds (13, 15, 17, 18, ...)
#
# Prints TAP, then "runtime-contract: N passed, N failed".  Exits 0 when all
# checks pass, 1 when one fails, 2 on bad usage, 77 when there is no usable
# Docker Engine.  Everything it creates is named pgimg-rc-<pid>-* and is
# removed on exit.  It needs only bash, coreutils and the docker client on
# the host; fixtures are compressed with the image's own tools, and files
# go into containers with "docker cp", so a remote engine works as well.
set -uo pipefail

usage() {
	printf 'usage: %s IMAGE MAJOR\n' "$0" >&2
	printf 'example: %s pgimg/postgres:17 17\n' "$0" >&2
	exit 2
}
[ "$#" -eq 2 ] || usage
image="$1"
major="$2"
case "$major" in '' | *[!0-9]*) usage ;; esac

if ! command -v docker > /dev/null 2>&1; then
	echo "1..0 # SKIP no docker client on PATH"
	exit 77
fi
if ! timeout 30 docker info > /dev/null 2>&1; then
	echo "1..0 # SKIP the Docker Engine does not answer (docker info failed)"
	exit 77
fi
if ! docker image inspect "$image" > /dev/null 2>&1; then
	echo "Bail out! image $image is not loaded into the Docker Engine"
	echo "runtime-contract: 0 passed, 1 failed"
	exit 1
fi

# Waits are bounded: a hung server must fail the run, not stall CI.
ready_timeout_s="${READY_TIMEOUT_S:-120}"
exit_timeout_s="${EXIT_TIMEOUT_S:-60}"
password='pgimg-Test-pw1'

prefix="pgimg-rc-$$"
work="$(mktemp -d)"
containers=()
volumes=()

# "docker rm -v" has been seen to leave a container's anonymous volume
# behind, so the volumes are listed first and removed explicitly as well.
remove_container() {
	local anon
	anon="$(docker inspect -f '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}' "$1" 2> /dev/null)"
	docker rm -f -v "$1" > /dev/null 2>&1
	local v
	for v in $anon; do
		case " ${volumes[*]} " in *" $v "*) continue ;; esac
		docker volume rm -f "$v" > /dev/null 2>&1
	done
}

cleanup() {
	local c v
	for c in "${containers[@]}"; do
		remove_container "$c"
	done
	for v in "${volumes[@]}"; do
		docker volume rm -f "$v" > /dev/null 2>&1
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tests=0 passed=0 failed=0

# usage: report STATUS DESCRIPTION [CONTAINER]
# Prints one TAP line; on failure also the last lines of CONTAINER's log.
report() {
	local status="$1" desc="$2" container="${3:-}"
	tests=$((tests + 1))
	if [ "$status" -eq 0 ]; then
		passed=$((passed + 1))
		printf 'ok %d - %s\n' "$tests" "$desc"
	else
		failed=$((failed + 1))
		printf 'not ok %d - %s\n' "$tests" "$desc"
		if [ -n "$container" ]; then
			printf '# last log lines of %s:\n' "$container"
			docker logs --tail 25 "$container" 2>&1 | sed 's/^/#   /'
		fi
	fi
}

# usage: check DESCRIPTION CONTAINER COMMAND...
check() {
	local desc="$1" container="$2"
	shift 2
	"$@"
	report $? "$desc" "$container"
}

diag() { printf '# %s\n' "$*"; }

# usage: create_pg NAME [docker create options...]
# Creates (does not start) a container of the image and registers it for
# cleanup; never call it in $(...), where the registration would be lost.
create_pg() {
	local name="$1"
	shift
	containers+=( "$name" )
	docker create --name "$name" "$@" "$image" > /dev/null
}

# usage: wait_ready CONTAINER
# Polls pg_isready over TCP: the temporary server of the init phase only
# listens on the socket, so TCP readiness means the final server is up.
# -U because a uid without a passwd entry has no default user name.
wait_ready() {
	local container="$1" deadline=$((SECONDS + ready_timeout_s))
	while [ "$SECONDS" -lt "$deadline" ]; do
		if [ "$(docker inspect -f '{{.State.Running}}' "$container" 2> /dev/null)" != true ]; then
			diag "$container is not running"
			return 1
		fi
		if docker exec "$container" pg_isready -q -h 127.0.0.1 -p 5432 -U postgres -d postgres -t 2 > /dev/null 2>&1; then
			return 0
		fi
		sleep 1
	done
	diag "$container not ready after ${ready_timeout_s}s"
	return 1
}

# usage: wait_exit CONTAINER
# Prints the exit code of CONTAINER once it has stopped; fails on timeout.
wait_exit() {
	local container="$1" code
	if ! code="$(timeout "$exit_timeout_s" docker wait "$container" 2> /dev/null)"; then
		diag "$container still running after ${exit_timeout_s}s"
		return 1
	fi
	printf '%s\n' "$code"
}

# usage: sql CONTAINER [psql options...] -c QUERY
# Runs psql inside CONTAINER over the socket; unaligned, tuples only.
sql() {
	local container="$1"
	shift
	docker exec "$container" psql -X -v ON_ERROR_STOP=1 -Atq "$@"
}

# usage: sql_eq EXPECTED CONTAINER [psql options...]
sql_eq() {
	local want="$1" got
	shift
	got="$(sql "$@" 2>&1)"
	[ "$got" = "$want" ] && return 0
	diag "expected '$want', got '$got'"
	return 1
}

# usage: client HOST [psql options...]
# Runs psql in a separate container of the same image, as a client that
# reaches the server over the bridge network (and so matches pg_hba's
# "host all all all" rule rather than initdb's trust for 127.0.0.1).
client() {
	local host="$1"
	shift
	timeout 60 docker run --rm --entrypoint psql -e PGCONNECT_TIMEOUT=10 ${PGPASSWORD:+-e PGPASSWORD} \
		"$image" -X -w -Atq -h "$host" "$@"
}

ip_of() {
	docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"
}

# The log is read whole first: grep -q stopping early would make
# "docker logs" fail with SIGPIPE, and pipefail would report that.
logs_have() {
	local log
	log="$(docker logs "$1" 2>&1)"
	grep -qF -- "$2" <<< "$log"
}

# ---------------------------------------------------------------- image config
if [ "$major" -ge 18 ]; then
	want_pgdata="/var/lib/postgresql/$major/docker"
	want_volume=/var/lib/postgresql
else
	want_pgdata=/var/lib/postgresql/data
	want_volume=/var/lib/postgresql/data
fi

image_config() {
	local got want
	got="$(docker image inspect -f '{{.Config.User}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}|{{.Config.StopSignal}}|{{range $p, $_ := .Config.ExposedPorts}}{{$p}} {{end}}|{{range $v, $_ := .Config.Volumes}}{{$v}} {{end}}' "$image")"
	want="|[\"docker-entrypoint.sh\"]|[\"postgres\"]|SIGINT|5432/tcp |$want_volume "
	[ "$got" = "$want" ] && return 0
	diag "expected $want"
	diag "got      $got"
	return 1
}
check "image config: no user (starts as root, steps down), entrypoint, cmd, SIGINT, 5432/tcp, VOLUME $want_volume" "" image_config

image_env() {
	local env
	env="$(docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$image")"
	local want
	for want in "PG_MAJOR=$major" "PGDATA=$want_pgdata" "LANG=C.UTF-8" \
		"PATH=/usr/lib/postgresql/$major/bin:"; do
		if ! grep -q "^$want" <<< "$env"; then
			diag "no $want in the image's Env"
			return 1
		fi
	done
	grep -q '^PG_VERSION=' <<< "$env" || { diag "no PG_VERSION in the image's Env"; return 1; }
}
check "image env: PG_MAJOR=$major, PG_VERSION, PGDATA=$want_pgdata, LANG=C.UTF-8, PATH" "" image_env

# ------------------------------------------------ (a) no password, no database
no_password() {
	local c code
	c="$prefix-nopw"
	create_pg "$c" || return 1
	docker start "$c" > /dev/null || return 1
	code="$(wait_exit "$c")" || return 1
	if [ "$code" = 0 ]; then
		diag "exited 0"
		return 1
	fi
	logs_have "$c" 'Error: Database is uninitialized and superuser password is not specified.' \
		&& logs_have "$c" 'You must specify POSTGRES_PASSWORD to a non-empty value for the'
}
check "(a) without POSTGRES_PASSWORD it exits non-zero with the official message" "$prefix-nopw" no_password

# ---------------------------------------------- fixtures for initdb scripts (e)
mkdir -p "$work/initdb" "$work/secrets"
cat > "$work/initdb/10-exec.sh" <<-'EOF'
	#!/bin/bash
	set -e
	psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
		-c 'CREATE TABLE from_sh_exec (id int)'
EOF
chmod 0755 "$work/initdb/10-exec.sh"
cat > "$work/initdb/11-sourced.sh" <<-'EOF'
	# sourced: the entrypoint's functions are at hand
	docker_process_sql -c 'CREATE TABLE from_sh_sourced (id int)'
EOF
chmod 0644 "$work/initdb/11-sourced.sh"
printf 'CREATE TABLE from_sql (id int);\n' > "$work/initdb/20-plain.sql"
printf '%s\n' 'ignored' > "$work/initdb/90-ignored.txt"

# usage: compress_in_image TOOL OUT < INPUT
compress_in_image() {
	timeout 60 docker run --rm -i --entrypoint "$1" "$image" -c > "$2"
}
fixtures_ok=0
printf 'CREATE TABLE from_sql_gz (id int);\n' | compress_in_image gzip "$work/initdb/30-gz.sql.gz" || fixtures_ok=1
printf 'CREATE TABLE from_sql_xz (id int);\n' | compress_in_image xz "$work/initdb/40-xz.sql.xz" || fixtures_ok=1
printf 'CREATE TABLE from_sql_zst (id int);\n' | compress_in_image zstd "$work/initdb/50-zst.sql.zst" || fixtures_ok=1
chmod 0644 "$work"/initdb/*.sql*
report "$fixtures_ok" "the image's gzip, xz and zstd compress the .sql.gz/.xz/.zst fixtures"

# ------------------------------------------------- main container: (b)-(f), (i)-(k)
volumes+=( "$prefix-main" )
docker volume create "$prefix-main" > /dev/null
main="$prefix-main"
create_pg "$main" -e POSTGRES_PASSWORD="$password" -v "$prefix-main:$want_volume"
docker cp "$work/initdb/." "$main:/docker-entrypoint-initdb.d/" > /dev/null
docker start "$main" > /dev/null
check "(b) with POSTGRES_PASSWORD the server becomes ready (pg_isready, ${ready_timeout_s}s at most)" "$main" wait_ready "$main"

version_is_major() {
	local v
	v="$(sql "$main" -U postgres -c 'SELECT version()')" || return 1
	diag "$v"
	[[ "$v" == "PostgreSQL $major."* ]]
}
check "(b) SELECT version() as postgres reports PostgreSQL $major" "$main" version_is_major

# /proc/1 is the container's first process: if the entrypoint exec'd the
# server, PID 1 is postgres itself and signals reach it directly.
server_runs_as_999() {
	local container="$1" status
	status="$(docker exec "$container" cat /proc/1/status)" || return 1
	grep -q $'^Name:\tpostgres$' <<< "$status" || { diag "PID 1 is not postgres: $(grep '^Name' <<< "$status")"; return 1; }
	grep -q $'^Uid:\t999\t999\t999\t999$' <<< "$status" || { diag "$(grep '^Uid' <<< "$status")"; return 1; }
}
check "(c) PID 1 is the postgres server, running as uid 999 (not root)" "$main" server_runs_as_999 "$main"

for t in from_sh_exec:'.sh (executable, run)' from_sh_sourced:'.sh (not executable, sourced)' \
	from_sql:.sql from_sql_gz:.sql.gz from_sql_xz:.sql.xz from_sql_zst:.sql.zst; do
	check "(e) initdb script $(printf '%s' "${t#*:}") ran: table ${t%%:*} exists" "$main" \
		sql_eq 1 "$main" -U postgres -c "SELECT count(*) FROM pg_tables WHERE tablename = '${t%%:*}'"
done
check "(e) other files in /docker-entrypoint-initdb.d are ignored, and the log says so" "$main" \
	logs_have "$main" 'ignoring /docker-entrypoint-initdb.d/90-ignored.txt'

if [ "$major" -ge 14 ]; then want_auth=scram-sha-256; else want_auth=md5; fi
check "(f) pg_hba.conf ends with \"host all all all $want_auth\"" "$main" \
	sql_eq "host all all all $want_auth" "$main" -U postgres -c \
	"SELECT type || ' ' || array_to_string(database, ',') || ' ' || array_to_string(user_name, ',') || ' ' || address || ' ' || auth_method FROM pg_hba_file_rules WHERE address = 'all' ORDER BY line_number DESC LIMIT 1"
check "(f) the server listens on all addresses (listen_addresses = '*')" "$main" \
	sql_eq '*' "$main" -U postgres -c 'SHOW listen_addresses'

main_ip="$(ip_of "$main")"
tcp_right_password() {
	local got
	got="$(PGPASSWORD="$password" client "$main_ip" -U postgres -d postgres -c 'SELECT 42' 2>&1)"
	[ "$got" = 42 ] || { diag "$got"; return 1; }
}
check "(f) password login over TCP from another container works" "$main" tcp_right_password
tcp_wrong_password() {
	local got
	if got="$(PGPASSWORD='not-the-password' client "$main_ip" -U postgres -d postgres -c 'SELECT 42' 2>&1)"; then
		diag "wrong password accepted"
		return 1
	fi
	grep -q 'password authentication failed' <<< "$got" || { diag "$got"; return 1; }
}
check "(f) a wrong password over TCP is refused" "$main" tcp_wrong_password

check "(k) the server's data_directory is $want_pgdata" "$main" \
	sql_eq "$want_pgdata" "$main" -U postgres -c 'SHOW data_directory'

sql "$main" -U postgres -c 'CREATE TABLE kept (v text); INSERT INTO kept VALUES ($$before restart$$)' > /dev/null

# (j) docker stop sends the image's STOPSIGNAL (SIGINT: fast shutdown).
clean_stop() {
	local code
	timeout "$((exit_timeout_s + 15))" docker stop -t "$exit_timeout_s" "$main" > /dev/null || return 1
	code="$(docker inspect -f '{{.State.ExitCode}}' "$main")"
	[ "$code" = 0 ] || { diag "exit code $code"; return 1; }
	logs_have "$main" 'received fast shutdown request' && logs_have "$main" 'database system is shut down'
}
check "(j) docker stop: fast shutdown (SIGINT) and exit code 0" "$main" clean_stop

docker start "$main" > /dev/null
check "(i) the same container starts again on its volume" "$main" wait_ready "$main"
check "(i) the second start skips initialization (the log says so)" "$main" \
	logs_have "$main" 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
check "(i) data written before the restart is still there" "$main" \
	sql_eq 'before restart' "$main" -U postgres -c 'SELECT v FROM kept'
no_crash_recovery() {
	local bad
	bad="$(docker logs "$main" 2>&1 | grep -E 'not properly shut down|crash recovery|automatic recovery in progress')"
	[ -z "$bad" ] || { diag "$bad"; return 1; }
}
check "(j) the start after docker stop did no crash recovery" "$main" no_crash_recovery
init_ran_once() {
	local n
	n="$(docker logs "$main" 2>&1 | grep -c 'PostgreSQL init process complete')"
	[ "$n" = 1 ] || { diag "init ran $n times"; return 1; }
}
check "(i) initialization ran exactly once over both starts" "$main" init_ran_once
docker stop -t "$exit_timeout_s" "$main" > /dev/null 2>&1

reuse_volume() {
	local c
	c="$prefix-reuse"
	create_pg "$c" -v "$prefix-main:$want_volume" || return 1
	docker start "$c" > /dev/null || return 1
	wait_ready "$c" || return 1
	logs_have "$c" 'Skipping initialization' || return 1
	sql_eq 'before restart' "$c" -U postgres -c 'SELECT v FROM kept'
}
check "(i) a new container on the same volume needs no password, skips init and keeps data" \
	"$prefix-reuse" reuse_volume
remove_container "$prefix-reuse"

# docker-ensure-initdb.sh initializes and exits; docker-enforce-initdb.sh
# refuses a volume that is already initialized.
ensure_initdb() {
	local c="$prefix-ensure" v="$prefix-ensure" code
	volumes+=( "$v" )
	docker volume create "$v" > /dev/null || return 1
	create_pg "$c" --entrypoint docker-ensure-initdb.sh -e POSTGRES_PASSWORD="$password" \
		-v "$v:$want_volume" || return 1
	docker start "$c" > /dev/null || return 1
	code="$(wait_exit "$c")" || return 1
	[ "$code" = 0 ] || { diag "ensure exited $code"; return 1; }
	docker start "$c" > /dev/null || return 1
	code="$(wait_exit "$c")" || return 1
	[ "$code" = 0 ] || { diag "ensure on initialized data exited $code"; return 1; }
	logs_have "$c" 'docker-ensure-initdb.sh: note: database already initialized' || return 1
	c="$prefix-enforce"
	create_pg "$c" --entrypoint docker-enforce-initdb.sh -v "$v:$want_volume" || return 1
	docker start "$c" > /dev/null || return 1
	code="$(wait_exit "$c")" || return 1
	[ "$code" = 1 ] || { diag "enforce on initialized data exited $code"; return 1; }
	logs_have "$c" "docker-enforce-initdb.sh: error: (unexpected) database found in '$want_pgdata'!"
}
check "docker-ensure-initdb.sh initializes once; docker-enforce-initdb.sh refuses initialized data" \
	"$prefix-ensure" ensure_initdb

# ------------------------------------------- (d) user and database, (h) _FILE
printf '%s\n' "$password-from-file" > "$work/secrets/postgres-password"
chmod 0644 "$work/secrets/postgres-password"
named="$prefix-named"
walsrc="$(dirname "$want_pgdata")/wal"
create_pg "$named" -e POSTGRES_USER=app -e POSTGRES_DB=appdb \
	-e POSTGRES_PASSWORD_FILE=/run/secrets/postgres-password \
	-e POSTGRES_INITDB_ARGS='--wal-segsize=32' -e POSTGRES_INITDB_WALDIR="$walsrc"
# The file variant reads the whole file and drops the trailing newline,
# as "$(< file)" does.
docker cp "$work/secrets" "$named:/run/" > /dev/null
docker start "$named" > /dev/null
check "(d) with POSTGRES_USER=app, POSTGRES_DB=appdb the server becomes ready" "$named" wait_ready "$named"
check "(d) role app exists and is a superuser" "$named" \
	sql_eq t "$named" -U app -d appdb -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'app'"
check "(d) database appdb exists: app connects to it" "$named" \
	sql_eq 'appdb|app' "$named" -U app -d appdb -c 'SELECT current_database(), current_user'
named_ip="$(ip_of "$named")"
file_password() {
	local got
	got="$(PGPASSWORD="$password-from-file" client "$named_ip" -U app -d appdb -c 'SELECT current_user' 2>&1)"
	[ "$got" = app ] || { diag "$got"; return 1; }
}
check "(h) POSTGRES_PASSWORD_FILE sets the password (TCP login as app to appdb)" "$named" file_password
check "POSTGRES_INITDB_ARGS reach initdb (--wal-segsize=32)" "$named" \
	sql_eq 32MB "$named" -U app -d appdb -c 'SHOW wal_segment_size'
waldir_used() {
	local got
	got="$(docker exec "$named" readlink "$want_pgdata/pg_wal")" || return 1
	[ "$got" = "$walsrc" ] || { diag "pg_wal -> $got"; return 1; }
}
check "POSTGRES_INITDB_WALDIR: pg_wal is a link to $walsrc" "$named" waldir_used
remove_container "$named"

both_password_vars() {
	local c code
	c="$prefix-bothpw"
	create_pg "$c" -e POSTGRES_PASSWORD=x -e POSTGRES_PASSWORD_FILE=/run/secrets/postgres-password || return 1
	docker start "$c" > /dev/null || return 1
	code="$(wait_exit "$c")" || return 1
	[ "$code" != 0 ] && logs_have "$c" 'error: both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set (but are exclusive)'
}
check "(h) POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE together are refused" "$prefix-bothpw" both_password_vars

# --------------------------------------------------------------- (g) trust
trust="$prefix-trust"
create_pg "$trust" -e POSTGRES_HOST_AUTH_METHOD=trust
docker start "$trust" > /dev/null
check "(g) POSTGRES_HOST_AUTH_METHOD=trust starts without a password" "$trust" wait_ready "$trust"
check "(g) the trust warning is printed" "$trust" \
	logs_have "$trust" 'WARNING: POSTGRES_HOST_AUTH_METHOD has been set to "trust".'
trust_login() {
	local got
	got="$(client "$(ip_of "$trust")" -U postgres -d postgres -w -c 'SELECT 7' 2>&1)"
	[ "$got" = 7 ] || { diag "$got"; return 1; }
}
check "(g) TCP login without a password works" "$trust" trust_login
remove_container "$trust"

# -------------------------------------------------------------- (l) as root
# A tmpfs is owned by root, so the entrypoint has to hand it to postgres
# before stepping down.
if [ "$major" -ge 18 ]; then root_mount=/var/lib/postgresql; else root_mount=/var/lib/postgresql/data; fi
asroot="$prefix-root"
create_pg "$asroot" --user root -e POSTGRES_PASSWORD="$password" --tmpfs "$root_mount"
docker start "$asroot" > /dev/null
check "(l) --user root on a root-owned data mount becomes ready" "$asroot" wait_ready "$asroot"
check "(l) --user root: the server still runs as uid 999" "$asroot" server_runs_as_999 "$asroot"
pgdata_owner() {
	local got
	got="$(docker exec "$asroot" stat -c '%u %a' "$want_pgdata")" || return 1
	[ "$got" = '999 700' ] || { diag "PGDATA owner and mode: $got"; return 1; }
}
check "(l) --user root: PGDATA was handed to uid 999 with mode 700" "$asroot" pgdata_owner
remove_container "$asroot"

# ------------------------------------------------------ (m) arbitrary uid
# There is no nss_wrapper in the image: an unknown uid must be told what to
# do rather than fail inside initdb.
unknown_uid() {
	local c code
	c="$prefix-uid"
	create_pg "$c" --user 1234:1234 -e POSTGRES_PASSWORD="$password" || return 1
	docker start "$c" > /dev/null || return 1
	code="$(wait_exit "$c")" || return 1
	[ "$code" != 0 ] || { diag "exited 0"; return 1; }
	logs_have "$c" 'Error: ' && logs_have "$c" '1234' || return 1
	if logs_have "$c" 'initdb: error'; then
		diag "initdb ran and failed instead of a clear message first"
		return 1
	fi
}
check "(m) --user 1234:1234 stops with a clear message, before initdb" "$prefix-uid" unknown_uid

# Once the data exists and belongs to it, any uid can run the server: only
# initdb needs a passwd entry.
own_data_uid() {
	local c="$prefix-uid-init" v="$prefix-uid"
	volumes+=( "$v" )
	docker volume create "$v" > /dev/null || return 1
	create_pg "$c" -e POSTGRES_PASSWORD="$password" -v "$v:$want_volume" || return 1
	docker start "$c" > /dev/null && wait_ready "$c" || return 1
	docker stop -t "$exit_timeout_s" "$c" > /dev/null || return 1
	timeout 60 docker run --rm --user root --entrypoint chown -v "$v:$want_volume" "$image" \
		-R 1234:1234 "$want_pgdata" || return 1
	c="$prefix-uid-run"
	create_pg "$c" --user 1234:1234 -v "$v:$want_volume" || return 1
	docker start "$c" > /dev/null && wait_ready "$c" || return 1
	grep -q $'^Uid:\t1234\t' <<< "$(docker exec "$c" cat /proc/1/status)" || return 1
	sql_eq 1 "$c" -U postgres -c 'SELECT 1'
}
check "(m) --user 1234:1234 runs a database that it owns" "$prefix-uid-run" own_data_uid

if [ "$major" -ge 18 ]; then
	old_mount() {
		local c="$prefix-oldmount" code
		create_pg "$c" -e POSTGRES_PASSWORD="$password" -v /var/lib/postgresql/data || return 1
		docker start "$c" > /dev/null || return 1
		code="$(wait_exit "$c")" || return 1
		[ "$code" != 0 ] || { diag "exited 0"; return 1; }
		logs_have "$c" 'Error: in 18+, these Docker images are configured to store database data in a' \
			&& logs_have "$c" '/var/lib/postgresql/data (unused mount/volume)'
	}
	check "(k) 18+: a volume at the old /var/lib/postgresql/data is refused, as upstream does" \
		"$prefix-oldmount" old_mount
fi

echo "1..$tests"
echo "runtime-contract: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
