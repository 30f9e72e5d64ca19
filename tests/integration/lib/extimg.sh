# Sourced by tests/integration/extension-images.sh and tools/matrix-images.sh:
# an extension image's files in a Docker volume, a server started on such
# volumes, and a smoke file run in it.
#   extimg_fill IMAGE VOLUME PG_IMAGE   the image's /lib, /share, /system and
#                                       /licenses into VOLUME (created)
#   extimg_wait SERVER                  until the server in container SERVER answers
#   extimg_smoke SERVER FILE            FILE (tests/smoke/*.sql) passes in SERVER;
#                                       on failure, why on stdout
# Neither image has a shell: a created (never started) container of each
# image, docker cp moving tar streams from one to the other.
extimg_fill() {
	local image=$1 vol=$2 pg_image=$3 from to d rc=0
	from=$(docker create "$image" none) || return 1
	to=$(docker create -v "$vol:/x" "$pg_image") || { docker rm -f "$from" >/dev/null; return 1; }
	for d in lib share system licenses; do
		docker cp "$from:/$d" - | docker cp - "$to:/x/" || { rc=1; break; }
	done
	docker rm -f "$from" "$to" >/dev/null
	return $rc
}

extimg_wait() {
	local i
	for i in $(seq 120); do
		docker exec "$1" psql -U postgres -h 127.0.0.1 -tAc 'select 1' >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	docker logs "$1" 2>&1 | tail -3
	return 1
}

# The rules of tests/smoke/README.md: TAP, no `not ok`, as many `ok` as
# planned, in a fresh database `smoke` (or `postgres` when the file says so).
extimg_smoke() {
	local server=$1 file=$2 db=smoke out plan n
	head -1 "$file" | grep -q 'pgimg-smoke: database=postgres' && db=postgres
	if [ "$db" = smoke ]; then
		docker exec "$server" psql -U postgres -X -q -c 'drop database if exists smoke' -c 'create database smoke' >/dev/null 2>&1
	fi
	out=$(docker exec "$server" psql -U postgres -X -q -d "$db" -c 'create extension if not exists pgtap' 2>&1) \
		|| { echo "pgtap: $(tail -1 <<<"$out")"; return 1; }
	out=$(docker exec -i "$server" psql -U postgres -X -q -v ON_ERROR_STOP=1 -d "$db" -f - <"$file" 2>&1) \
		|| { echo "$(grep -m1 ERROR <<<"$out" || tail -1 <<<"$out")"; return 1; }
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' <<<"$out")
	n=$(grep -c '^ok ' <<<"$out")
	if grep -q '^not ok' <<<"$out"; then
		grep -m1 '^not ok' <<<"$out"
		return 1
	fi
	if [ -z "$plan" ] || [ "$n" != "$plan" ]; then
		echo "$n of ${plan:-no plan} passed"
		return 1
	fi
}
