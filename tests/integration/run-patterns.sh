#!/bin/bash
# The ways the official image is commonly run, on 18 and on 15 (whose
# volume is PGDATA itself rather than its parent): a tmpfs on the data
# directory, a fresh named volume, a bind mount of a root-owned host
# directory, --user 999 on a directory it owns, --read-only with the
# documented writable mounts, and `postgres` given as the command.  In each
# the server must answer and no postgres process may run as root.  Prints
# TAP and a tally; 77 without Docker.
set -u
. "$(dirname "$0")/lib/tap.sh"
have_docker || skip_all "no Docker Engine"
. "$(dirname "$0")/lib/containers.sh"
trap ct_cleanup EXIT
trap 'exit 130' INT TERM

pw=pgimg-Test-pw1

# ready_and_not_root NAME: the server answers, and it is not root.
ready_and_not_root() {
	ct_wait_ready "$1" && ct_server_not_root "$1" && [ "$(ct_sql "$1" 'SELECT 1')" = 1 ]
}

# HOST_DIR: a directory on the host made by root in a container (the
# test itself may not be root), owned by OWNER.
host_dir() {
	local owner=$1 parent
	parent=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-run-patterns-XXXXXX") || return 1
	chmod 755 "$parent"
	CT_DIRS+=("$parent")
	HOST_DIR=$parent/data
	docker run --rm --user root --entrypoint sh -v "$parent:/p" "$CT_IMAGE" \
		-c "mkdir /p/data && chown $owner /p/data" >/dev/null
}

# PID 1 of the container is the server (the entrypoint exec'd it), as 999.
pid1_is_server() {
	[ "$(docker exec "$CT_PREFIX-$1" sh -c 'sed -n "s/^Name:\t//p; s/^Uid:\t\([0-9]*\).*/\1/p" /proc/1/status')" \
		= "postgres
999" ]
}

finish_one() { docker rm -f -v "$CT_PREFIX-$1" >/dev/null 2>&1; }

majors=${PGIMG_MAJORS:-15 18}
for m in $majors; do
	if ! ct_build "$m"; then
		fail "build and load postgres-$m --set default"; continue
	fi
	pass "build and load postgres-$m --set default"
	if [ "$m" -ge 18 ]; then volume=/var/lib/postgresql pgdata=/var/lib/postgresql/$m/docker
	else volume=/var/lib/postgresql/data pgdata=/var/lib/postgresql/data; fi

	ok "$m: the image sets no User (it starts as root and steps down)" \
		test -z "$(docker image inspect -f '{{.Config.User}}' "$CT_IMAGE")"

	ct_run "tmpfs$m" -e POSTGRES_PASSWORD=$pw --tmpfs "$volume" "$CT_IMAGE"
	ok "$m: --tmpfs $volume: the server answers, not as root" ready_and_not_root "tmpfs$m"
	ok "$m: --tmpfs $volume: PID 1 is the server, uid 999" pid1_is_server "tmpfs$m"
	finish_one "tmpfs$m"

	v="$CT_PREFIX-vol$m"; CT_VOLUMES+=("$v")
	docker volume create "$v" >/dev/null
	ct_run "vol$m" -e POSTGRES_PASSWORD=$pw -v "$v:$volume" "$CT_IMAGE"
	ok "$m: a fresh named volume at $volume: the server answers, not as root" ready_and_not_root "vol$m"
	finish_one "vol$m"

	if host_dir 0:0; then
		ct_run "bind$m" -e POSTGRES_PASSWORD=$pw -v "$HOST_DIR:$volume" "$CT_IMAGE"
		ok "$m: a root-owned host directory bound at $volume: the server answers, not as root" \
			ready_and_not_root "bind$m"
		ok "$m: that directory's PGDATA was handed to uid 999 with mode 700" \
			test "$(docker exec "$CT_PREFIX-bind$m" stat -c '%u %a' "$pgdata")" = "999 700"
		finish_one "bind$m"
	else
		fail "$m: a root-owned host directory" "could not make one"
	fi

	if host_dir 999:999; then
		ct_run "user$m" --user 999 -e POSTGRES_PASSWORD=$pw -v "$HOST_DIR:$volume" "$CT_IMAGE"
		ok "$m: --user 999 on a directory owned by 999: the server answers, not as root" \
			ready_and_not_root "user$m"
		finish_one "user$m"
	else
		fail "$m: a directory owned by 999" "could not make one"
	fi

	v="$CT_PREFIX-ro$m"; CT_VOLUMES+=("$v")
	ct_run "ro$m" --read-only --tmpfs /tmp --tmpfs /run/postgresql -v "$v:$volume" \
		-e POSTGRES_PASSWORD=$pw "$CT_IMAGE"
	ok "$m: --read-only with --tmpfs /tmp, --tmpfs /run/postgresql and a volume: the server answers, not as root" \
		ready_and_not_root "ro$m"
	ok "$m: --read-only: the root file system cannot be written" \
		bash -c "! docker exec '$CT_PREFIX-ro$m' touch /etc/pgimg-test 2>/dev/null"
	finish_one "ro$m"

	ct_run "cmd$m" -e POSTGRES_PASSWORD=$pw "$CT_IMAGE" postgres -c max_connections=42
	ok "$m: started as root with \`postgres -c ...\` as the command: the server answers, not as root" \
		ready_and_not_root "cmd$m"
	ok "$m: ... with the command's settings, as PID 1" \
		bash -c "[ \"\$(docker exec '$CT_PREFIX-cmd$m' psql -XAtq -U postgres -c 'SHOW max_connections')\" = 42 ]"
	ok "$m: ... and PID 1 is the server, uid 999" pid1_is_server "cmd$m"
	finish_one "cmd$m"

	# Without the entrypoint, the server itself refuses root.
	out=$(docker run --rm --entrypoint postgres "$CT_IMAGE" -D /tmp 2>&1); rc=$?
	ok "$m: --entrypoint postgres as root: the server refuses to start (exit $rc)" \
		grep -q '"root" execution of the PostgreSQL server is not permitted' <<<"$out"
	ok "$m: ... with a non-zero exit" test "$rc" -ne 0
done
finish
