#!/bin/bash
# extension-images.sh - `pgimg build extension`: extension images that
# a plain postgres-18 image (built without extensions) loads through
# extension_control_path and dynamic_library_path, as CloudNativePG's
# image volumes do.  Each image is loaded into the Docker Engine, its
# files copied out of a container of it into a volume (this Docker
# Engine has no image mounts), mounted read-only at /extensions/NAME,
# and the extension's smoke test passes there (pgTAP comes the same
# way).  Also: the same digest twice, the refusal before 18, the labels
# and the user, a push to and pull from a registry.  Prints TAP.
set -u
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/servers.sh"
. "$(dirname "$0")/lib/extimg.sh"
have_docker || skip_all "no Docker Engine"

p() { "$PGIMG" --cache-dir "$TEST_CACHE" "$@"; }
exts="pgtap pgvector hypopg plpgsql_check"
tag=$$
work=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-extimg-XXXXXX")
server=pgimg-it-extimg-$tag
reg_pid=
cleanup() {
	docker rm -f "$server" >/dev/null 2>&1
	for e in $exts; do
		docker volume rm -f "pgimg-it-extimg-$e-$tag" >/dev/null 2>&1
	done
	[ -n "$(cat "$work/images" 2>/dev/null)" ] && docker rmi -f $(cat "$work/images") >/dev/null 2>&1
	[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null
	[ -s "$work/old-tags" ] && while read -r t id; do docker tag "$id" "$t" >/dev/null 2>&1; done <"$work/old-tags"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

json_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# ---- PostgreSQL 18 without any extension. ----
# Its tags (pgimg/postgres:18.6, :18) may name another test's image: put
# them back afterwards.
for t in pgimg/postgres:18 pgimg/postgres:18.6; do
	id=$(docker image inspect -f '{{.Id}}' "$t" 2>/dev/null) && echo "$t $id" >>"$work/old-tags"
done
if ! out=$(p build postgres-18 -o "$work/pg.tar" 2>&1) || ! loaded=$(docker load -i "$work/pg.tar" 2>&1); then
	fail "postgres-18 builds and loads" "$out" "${loaded:-}"
	finish
fi
pg_image=$(sed -n 's/^Loaded image: //p' <<<"$loaded" | head -1)
pass "postgres-18 without extensions builds and loads ($pg_image)"
no_vector() { ! docker run --rm --entrypoint ls "$pg_image" /usr/lib/postgresql/18/lib/vector.so >/dev/null 2>&1; }
ok "the postgres-18 image holds no pgvector of its own" no_vector

# ---- One image an extension, its content in a volume. ----
control_path='$system' lib_path='$libdir' mounts=()
for e in $exts; do
	vol=pgimg-it-extimg-$e-$tag
	if ! out=$(p build extension "$e" --major 18 --json -o "$work/$e.tar" 2>"$work/$e.err"); then
		fail "extension image of $e builds" "$(tail -3 "$work/$e.err")"
		continue
	fi
	echo "$out" > "$work/$e.json"
	image=$(json_field "$work/$e.json" image)
	echo "$image ${image%-*}" >> "$work/images"  # its two tags
	if ! docker load -q -i "$work/$e.tar" >/dev/null 2>&1; then
		fail "extension image of $e loads into the Docker Engine"
		continue
	fi
	pass "extension image of $e builds and loads ($image)"
	copy_out() { extimg_fill "$image" "$vol" "$pg_image"; }
	ok "$e's files are copied from its image into a volume" copy_out
	mounts+=(-v "$vol:/extensions/$e:ro")
	control_path="$control_path:/extensions/$e/share"
	lib_path="$lib_path:/extensions/$e/lib"
done

# ---- The server with every volume mounted read-only. ----
started() {
	docker run -d --name "$server" -e POSTGRES_PASSWORD=pw "${mounts[@]}" "$pg_image" postgres \
		-c "extension_control_path=$control_path" -c "dynamic_library_path=$lib_path" >/dev/null \
		&& extimg_wait "$server"
}
ok "postgres-18 starts with extension_control_path and dynamic_library_path on the volumes" started

for e in pgvector hypopg plpgsql_check; do
	if msg=$(extimg_smoke "$server" "$ROOT/tests/smoke/$e.sql" 2>&1); then
		pass "CREATE EXTENSION and the smoke test of $e pass from its image"
	else
		fail "CREATE EXTENSION and the smoke test of $e pass from its image" "$msg"
	fi
done

# The module comes from the volume: without it on dynamic_library_path,
# the same CREATE EXTENSION cannot find it.
needs_volume() {
	local out
	out=$(docker exec "$server" psql -U postgres -X -q -d postgres -c "set dynamic_library_path = '\$libdir'" \
		-c 'create extension vector' 2>&1)
	grep -q 'could not access file "vector"' <<<"$out"
}
ok "without the volume on dynamic_library_path, vector's module is not found" needs_volume

# ---- Reproducible, labelled, not root. ----
again() {
	p build extension pgvector --major 18 --json -o "$work/again.tar" >"$work/again.json" 2>/dev/null || return 1
	[ "$(json_field "$work/again.json" manifest)" = "$(json_field "$work/pgvector.json" manifest)" ] \
		&& cmp -s "$work/again.tar" "$work/pgvector.tar"
}
ok "building the pgvector image twice gives the same digest and bytes" again
# An output plugin: no control file, nothing to rewrite, twice.
plugin_twice() {
	p build extension wal2json --json -o "$work/w1.tar" >"$work/w1.json" 2>/dev/null \
		&& p build extension wal2json --json -o "$work/w2.tar" >"$work/w2.json" 2>/dev/null \
		&& cmp -s "$work/w1.tar" "$work/w2.tar" && [ "$(json_field "$work/w2.json" built)" = False ]
}
ok "wal2json (an output plugin, no control file) builds twice, the second time from the cache" plugin_twice
cached() { [ "$(json_field "$work/again.json" built)" = False ]; }
ok "the second build takes its layer from the cache" cached
# What an extension image does not hold is not made: no runtime base,
# entrypoint or SBOM among the phases, and its own layer cached.
only_what_it_needs() {
	p build extension pgvector --major 18 --timings -o "$work/again.tar" 2>"$work/timings.err" >/dev/null \
		&& grep -Eq '^extension image +layer +[0-9.]+ +[0-9.]+% +cached$' "$work/timings.err" \
		&& grep -Eq '^postgres +layers postgres, postgres-dev .* cached$' "$work/timings.err" \
		&& ! grep -Eq '^(base|entrypoint|sbom) ' "$work/timings.err"
}
ok "build extension --timings: its own layer cached, and no base, entrypoint or SBOM made" only_what_it_needs
vimage=$(json_field "$work/pgvector.json" image 2>/dev/null)
label() { docker image inspect -f "{{index .Config.Labels \"$1\"}}" "$vimage"; }
labels() {
	[ "$(label io.cloudnativepg.image.base.pgmajor)" = 18 ] && [ "$(label io.cloudnativepg.image.base.os)" = trixie ] \
		&& [ "$(label org.opencontainers.image.version)" = "$(label io.cloudnativepg.image.sql.version)" ] \
		&& [ -n "$(label org.opencontainers.image.licenses)" ] && [ -n "$(label org.opencontainers.image.source)" ] \
		&& [ -n "$(label org.opencontainers.image.created)" ] && [ "$(label org.opencontainers.image.base.name)" = scratch ]
}
ok "the pgvector image carries the OCI and CloudNativePG labels" labels
user() { [ "$(docker image inspect -f '{{.Config.User}}' "$vimage")" = 65532:65532 ]; }
ok "the pgvector image runs as user 65532" user
license() { docker run --rm -v "pgimg-it-extimg-pgvector-$tag:/x" --entrypoint sh "$pg_image" -c 'ls /x/licenses/*/* >/dev/null'; }
ok "the pgvector image holds its license" license

# ---- Before 18: refused in one line, nothing written. ----
refused() {
	local out rc
	out=$(p build extension pgvector --major 17 -o "$work/17.tar" 2>&1); rc=$?
	[ "$rc" -ne 0 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q extension_control_path <<<"$out" && [ ! -e "$work/17.tar" ]
}
ok "--major 17 is refused in one line naming extension_control_path, nothing written" refused

# ---- Not a server: `pgimg run` says so. ----
not_a_server() {
	local out
	out=$(p run "$work/pgvector.tar" --name "pgimg-it-extimg-run-$tag" 2>&1) && return 1
	grep -q 'holds no PostgreSQL server (an extension image?' <<<"$out"
}
ok "pgimg run on an extension image says it holds no server" not_a_server

# ---- Published like any image. ----
if command -v docker-registry >/dev/null && mkdir -p "$work/reg" && start_plain_registry "$work/reg"; then
	ref=127.0.0.1:$reg_port/pgimg/pgvector:18
	roundtrip() {
		p push "$work/pgvector.tar" "$ref" --insecure >/dev/null 2>&1 || return 1
		p pull "$ref" --insecure -o "$work/pulled.tar" >/dev/null 2>&1 || return 1
		[ "$(image_digest "$work/pulled.tar")" = "$(json_field "$work/pgvector.json" manifest)" ]
	}
	ok "the pgvector image pushes to a registry and pulls back with its digest" roundtrip
else
	echo "# no docker-registry: push not checked"
fi
finish
