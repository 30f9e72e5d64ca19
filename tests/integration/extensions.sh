#!/bin/bash
# Extensions: the default set builds and passes its pgTAP smoke tests in
# a container on each major (PGIMG_MAJORS: 15 and 18, every major in
# tools/majors.sh); editing one recipe rebuilds only its layer;
# bad extension input gives one clear line and keeps the other layers.
set -u
. "$(dirname "$0")/lib/tap.sh"
have_docker || skip_all "no Docker Engine"

majors=${PGIMG_MAJORS:-15 18}
p() { "$PGIMG" --cache-dir "$TEST_CACHE" "$@"; }

for m in $majors; do
	log="$TEST_OUT/smoke-$m.txt"
	if p test "postgres-$m" --set default >"$log" 2>"$log.err"; then
		pass "smoke tests of the default set on $m: $(tail -1 "$log")"
	else
		fail "smoke tests of the default set on $m" "$(tail -1 "$log")" "$(grep -A6 '^not ok' "$log" | head -30)" "$(tail -3 "$log.err")"
	fi
	# Each test asserted something, and pg_cron was among them.
	check_cron() { grep -q '^ok [0-9]* - pg_cron@' "$log"; }
	ok "pg_cron is tested on $m" check_cron
done

m=$(echo $majors | awk '{print $NF}')
# The same smoke tests through the Docker Engine (docker load, docker run).
docker_engine() { p test "postgres-$m" --set default --engine docker >"$TEST_OUT/smoke-docker.txt" 2>&1; }
ok "smoke tests of the default set on $m through the Docker Engine: $(docker_engine; tail -1 "$TEST_OUT/smoke-docker.txt")" test "$(grep -c '^ok' "$TEST_OUT/smoke-docker.txt")" -ge 7 -a "$(grep -c '^not ok' "$TEST_OUT/smoke-docker.txt")" = 0
data=$(data_copy)
outdir=$(mktemp -d)
trap 'rm -rf "$data" "$outdir"' EXIT

# The image's configuration preloads what the set needs.
preload() {
	p build "postgres-$m" --set default -o "$outdir/d.tar" >/dev/null 2>&1 || return 1
	docker load -q -i "$outdir/d.tar" >/dev/null || return 1
	local id; id=$(docker run -d -e POSTGRES_PASSWORD=pw "pgimg/postgres:$m") || return 1
	local i v=
	for i in $(seq 60); do
		v=$(docker exec "$id" psql -U postgres -h 127.0.0.1 -tAc 'show shared_preload_libraries' 2>/dev/null) && break
		sleep 0.5
	done
	docker rm -f "$id" >/dev/null
	[[ "$v" == *pg_cron* ]]
}
ok "shared_preload_libraries has pg_cron in a default image of $m" preload

# Editing one recipe rebuilds its layer and nothing else that compiles.
PGIMG_DATA_DIR="$data" p build "postgres-$m" --set default -o "$outdir/a.tar" --json >"$outdir/a.json" 2>/dev/null
python3 - "$data/extensions/pgvector.json" <<'PY'
import json, sys
p = sys.argv[1]; r = json.load(open(p))
r["make_args"] = r.get("make_args", []) + ["PGIMG_TEST=%d" % __import__("time").time_ns()]   # a new key every run
json.dump(r, open(p, "w"), indent=2)
PY
if PGIMG_DATA_DIR="$data" p build "postgres-$m" --set default -o "$outdir/b.tar" --json >"$outdir/b.json" 2>"$outdir/b.err"; then
	built=$(python3 -c 'import json,sys; print(" ".join(l["name"] for l in json.load(open(sys.argv[1]))["layers"] if l["built"]))' "$outdir/b.json")
	check_one() { [[ "$built" =~ ^pgvector@[^\ ]+\ entrypoint\ sbom$ ]]; }
	ok "editing pgvector's recipe rebuilds only its layer (built: $built)" check_one
else
	fail "rebuild after editing pgvector's recipe" "$(tail -3 "$outdir/b.err")"
fi
cp "$ROOT/extensions/pgvector.json" "$data/extensions/pgvector.json"

# Several versions side by side, and the update between consecutive ones.
both() {
	p test "postgres-$m" --with pgtap@1.3.3,pg_partman@5.2.4,pg_partman@5.5.0 >"$outdir/both.txt" 2>"$outdir/both.err" &&
		grep -q '^ok [0-9]* - pgtap 1.3.3 -> 1.3.4: ALTER EXTENSION pgtap UPDATE' "$outdir/both.txt" &&
		grep -q '^ok [0-9]* - pg_partman 5.2.4 -> 5.5.0: ALTER EXTENSION pg_partman UPDATE' "$outdir/both.txt"
}
if both; then pass "two versions of pgTAP and of pg_partman side by side, updated in place"; else fail "versions side by side" "$(grep -A4 '^not ok' "$outdir/both.txt" | head -12)" "$(tail -2 "$outdir/both.err")"; fi

# Two versions of a C extension side by side (semver: Debian 12's 0.32.0
# below 0.40.0 built from source, on 15): each keeps its own module, and
# the update moves the functions to the new one, as a user sees it.
if [[ " $majors " == *" 15 "* ]]; then
	side_test() {
		p test postgres-15 --with semver@0.32.0,semver@0.40.0 >"$outdir/side.txt" 2>"$outdir/side.err" &&
			grep -qF 'semver 0.32.0 -> 0.40.0: ALTER EXTENSION semver UPDATE (C functions: $libdir/semver-0.32.0 -> $libdir/semver-0.40.0)' "$outdir/side.txt"
	}
	if side_test; then pass "semver 0.32.0 and 0.40.0 side by side: the update moves its C functions to the new module"; else fail "semver side by side" "$(grep -A8 '^not ok' "$outdir/side.txt" | head -12)" "$(tail -2 "$outdir/side.err")"; fi
	side_user() {
		p build postgres-15 --with semver@0.32.0,semver@0.40.0 -o "$outdir/side.tar" >/dev/null 2>&1 || return 1
		docker load -q -i "$outdir/side.tar" >/dev/null || return 1
		# By its ID: the tag may be loaded again by a run beside this one.
		local image; image=sha256:$(tar -xOf "$outdir/side.tar" manifest.json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["Config"].split("/")[-1])')
		local id i q
		id=$(docker run -d -e POSTGRES_PASSWORD=pw "$image") || return 1
		q() { docker exec "$id" psql -U postgres -h 127.0.0.1 -XtAq -v ON_ERROR_STOP=1 -c "$1"; }
		local probin="SELECT string_agg(DISTINCT probin, ' ') FROM pg_proc WHERE probin LIKE '%semver%'"
		local loaded="SELECT count(*) > 0 FROM regexp_split_to_table(pg_read_file('/proc/self/maps', 0, 16777216), E'\n') m WHERE m LIKE '%/semver-'"
		for i in $(seq 60); do q 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.5; done
		{
			docker exec "$id" sh -c 'cd /usr/lib/postgresql/15/lib && ls -l semver*' &&
				q "CREATE EXTENSION semver VERSION '0.32.0'" &&
				q "SELECT '1.2.3'::semver < '1.10.0'::semver; $loaded || '0.32.0.so'; $probin" &&
				q "ALTER EXTENSION semver UPDATE" &&
				q "SELECT extversion FROM pg_extension WHERE extname = 'semver'" &&
				q "SELECT '1.2.3'::semver < '1.10.0'::semver; $loaded || '0.40.0.so'; $loaded || '0.32.0.so'; $probin"
		} >"$outdir/side-user.txt" 2>&1
		docker rm -f "$id" >/dev/null
		# ls; then in sessions of their own: a comparison, the old module
		# loaded, the old probin; the new version; a comparison, the new
		# module loaded, the old one not, the new probin
		tr '\n' ' ' <"$outdir/side-user.txt" | grep -qE 'semver-0\.32\.0\.so.*semver-0\.40\.0\.so.*semver\.so -> semver-0\.40\.0\.so t t \$libdir/semver-0\.32\.0 0\.40\.0 t t f \$libdir/semver-0\.40\.0 $'
	}
	if side_user; then pass "in the image, semver.so links to semver-0.40.0.so; 0.32.0 runs semver-0.32.0.so until ALTER EXTENSION UPDATE"; else fail "semver side by side in a container" "$(tail -8 "$outdir/side-user.txt")"; fi
else
	pass "semver side by side # SKIP 15 is not among PGIMG_MAJORS"
fi

# expect NAME STATUS REGEX CMD...: exit status and the last pgimg: line.
expect() {
	local name=$1 want=$2 re=$3; shift 3
	local errf=$outdir/stderr rc last
	"$@" >"$outdir/stdout" 2>"$errf"
	rc=$?
	last=$(grep '^pgimg: ' "$errf" | tail -1)
	if [ "$rc" -eq "$want" ] && [[ "$last" =~ $re ]]; then
		pass "$name"
	else
		fail "$name" "exit $rc (want $want)" "stderr: $(tail -3 "$errf")"
	fi
}
export PGIMG_DATA_DIR="$data"
expect "an unknown extension is named" 1 'unknown extension `nosuch`' p build "postgres-$m" --with nosuch
expect "an unpinned version names extension, version and major" 1 "extension \`pgvector\`: version 9.9.9 is not pinned \(for PostgreSQL $m\)" p build "postgres-$m" --with pgvector@9.9.9
expect "an unsupported major is a clear message" 1 'extension `pg_uuidv7.*` does not support PostgreSQL 13' p build postgres-13 --with pg_uuidv7

# A missing runtime library is caught when the layer is made.
python3 - "$data/extensions/pg_cron.json" <<'PY'
import json, sys
p = sys.argv[1]; r = json.load(open(p))
r["runtime_packages"] = []
r["summary"] += " (without libpq)"
r["make_args"] = ["X=1"]    # a new layer key: not the cached one
json.dump(r, open(p, "w"), indent=2)
PY
expect "a library missing from the image names file and library" 1 'pg_cron.so. needs .libpq.so.5., which is not in the image' p build "postgres-$m" --with pg_cron -o "$outdir/x.tar"
cp "$ROOT/extensions/pg_cron.json" "$data/extensions/pg_cron.json"

# A smoke test with a syntax error fails alone; the others still run.
printf 'SELECT plan(1);\nSELEC 1;\n' > "$data/tests/smoke/hypopg.sql"
expect "a broken smoke test fails the run" 1 'smoke tests failed' p test "postgres-$m" --with hypopg,wal2json
tally() { grep -q '^not ok [0-9]* - hypopg' "$outdir/stdout" && grep -q '^ok [0-9]* - wal2json' "$outdir/stdout" && grep -q ': 2 passed, 1 failed' "$outdir/stdout"; }
ok "the other smoke tests still pass and are counted" tally
cp "$ROOT/tests/smoke/hypopg.sql" "$data/tests/smoke/hypopg.sql"

# A failing build names extension, version and major; the layers built
# before it stay in the cache, and nothing half-written is left.
python3 - "$data/extensions/prefix.json" <<'PY'
import json, sys
p = sys.argv[1]; r = json.load(open(p))
r["make_args"] = ["CFLAGS=-include /nonexistent.h"]
json.dump(r, open(p, "w"), indent=2)
PY
expect "a failed extension build names it" 1 "extension \`prefix@[0-9.]*\` for PostgreSQL $m: build prefix" p build "postgres-$m" --with hypopg,prefix -o "$outdir/x.tar"
no_image() { [ ! -e "$outdir/x.tar" ]; }
ok "a failed build writes no image" no_image
kept() { p build "postgres-$m" --with hypopg -o "$outdir/h.tar" --json 2>/dev/null | grep -q '"name":"hypopg@[^"]*","digest":"[^"]*","diffID":"[^"]*","size":[0-9]*,"built":false'; }
ok "the other extension's layer was kept" kept
# Leftovers of pgimg processes that are gone (a run beside this one may
# still be working in the same cache).
no_temps() {
	local t pid
	for t in $(temps_in "$TEST_CACHE/work"); do
		pid=$(basename "$t" | cut -d- -f2)
		[ -d "/proc/$pid" ] || return 1
	done
}
ok "no temporary file is left in the cache" no_temps
cp "$ROOT/extensions/prefix.json" "$data/extensions/prefix.json"
finish
