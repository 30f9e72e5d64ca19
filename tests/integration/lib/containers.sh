# Sourced by integration tests (after tap.sh) that start the images they
# build in the Docker Engine.  Everything is named $CT_PREFIX-* and
# removed by ct_cleanup, which the test traps on EXIT.
#   ct_build MAJOR                  build postgres-MAJOR --set default into
#                                   $TEST_OUT and load it; sets CT_IMAGE
#                                   to the image ID (not a tag, which
#                                   another build may move meanwhile)
#   ct_run NAME DOCKER-RUN-ARGS...  docker run -d --name $CT_PREFIX-NAME
#   ct_wait_ready NAME              the final server answers on TCP
#   ct_sql NAME SQL                 one value, from psql as postgres
#   ct_server_not_root NAME         postgres processes run, none as root
CT_PREFIX="pgimg-$TAP_NAME-$$"
CT_CONTAINERS=() CT_VOLUMES=() CT_DIRS=()
CT_READY_TIMEOUT_S=${READY_TIMEOUT_S:-120}

ct_cleanup() {
	local c v d
	for c in "${CT_CONTAINERS[@]}"; do docker rm -f -v "$c" >/dev/null 2>&1; done
	for v in "${CT_VOLUMES[@]}"; do docker volume rm -f "$v" >/dev/null 2>&1; done
	# Bind-mounted directories hold files of uid 999: remove them as root
	# inside a container when this user cannot.
	for d in "${CT_DIRS[@]}"; do
		rm -rf "$d" 2>/dev/null || docker run --rm --user root --entrypoint sh -v "$d:/d" \
			"$CT_IMAGE" -c 'rm -rf /d/* /d/.[!.]*' >/dev/null 2>&1; rm -rf "$d" 2>/dev/null
	done
}

ct_build() {
	local m=$1 out="$TEST_OUT/$TAP_NAME-pg$1.tar" config
	"$PGIMG" -q --cache-dir "$TEST_CACHE" build "postgres-$m" --set default -o "$out" || return 1
	docker load -q -i "$out" >/dev/null || return 1
	# The image ID is the digest of its config, named in the tarball.
	config=$(tar -xOf "$out" manifest.json | sed -n 's/.*"Config":"blobs\/sha256\/\([0-9a-f]*\)".*/\1/p')
	[ -n "$config" ] || return 1
	CT_IMAGE="sha256:$config"
}

ct_run() {
	local name="$CT_PREFIX-$1"; shift
	CT_CONTAINERS+=("$name")
	docker run -d --name "$name" "$@" >/dev/null
}

# pg_isready over TCP: the temporary server of the first start listens on
# its socket only, so an answer on TCP is the final server.
ct_wait_ready() {
	local c="$CT_PREFIX-$1" deadline=$((SECONDS + CT_READY_TIMEOUT_S))
	while [ "$SECONDS" -lt "$deadline" ]; do
		[ "$(docker inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ] || break
		docker exec "$c" pg_isready -q -h 127.0.0.1 -p 5432 -U postgres -d postgres -t 2 \
			>/dev/null 2>&1 && return 0
		sleep 1
	done
	docker logs --tail 10 "$c" 2>&1 | sed 's/^/#   /'
	return 1
}

ct_sql() {
	docker exec "$CT_PREFIX-$1" psql -X -A -t -q -v ON_ERROR_STOP=1 -U postgres -d postgres -c "$2" 2>&1
}

# The uids of the container's postgres processes, as the host sees them
# (docker top), one a line; the server's children are named postgres too.
ct_postgres_uids() {
	docker top "$CT_PREFIX-$1" -eo pid,uid,comm 2>/dev/null | awk '$3 == "postgres" { print $2 }'
}

# At least one postgres process, and none of them root.
ct_server_not_root() {
	local uids
	uids=$(ct_postgres_uids "$1")
	[ -n "$uids" ] || { echo "#   no postgres process in $1"; return 1; }
	if grep -qx 0 <<<"$uids"; then
		echo "#   a postgres process of $1 runs as root:"
		docker top "$CT_PREFIX-$1" -eo uid,pid,args | sed 's/^/#   /'
		return 1
	fi
}
