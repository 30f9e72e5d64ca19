#!/bin/bash
# Build the image of each major (PGIMG_MAJORS: in `make test` 15 and 18,
# every major in tools/majors.sh), load it into the Docker Engine, run the
# official image's contract against it, and check that a second build
# of an unchanged recipe builds nothing, and that two builds of one
# major at once in one cache build it once.
set -u
. "$(dirname "$0")/lib/tap.sh"
have_docker || skip_all "no Docker Engine"

majors=${PGIMG_MAJORS:-15 18}
first=$(echo $majors | awk '{print $1}')
twin="$TEST_OUT/twin"
for m in $majors; do
	out="$TEST_OUT/pg$m.tar"
	# The first major is built twice at once in the same cache, as two
	# users or two CI steps sharing a cache do: one builds PostgreSQL,
	# the other waits for it and takes its layers.
	twin_pid=
	if [ "$m" = "$first" ]; then
		"$PGIMG" --cache-dir "$TEST_CACHE" build "postgres-$m" -o "$twin.tar" --json --timings \
			>"$twin.json" 2>"$twin.err" &
		twin_pid=$!
	fi
	if "$PGIMG" --cache-dir "$TEST_CACHE" build "postgres-$m" -o "$out" --json >"$TEST_OUT/pg$m.json"; then
		pass "build postgres-$m"
	else
		fail "build postgres-$m"; [ -z "$twin_pid" ] || wait "$twin_pid"; continue
	fi
	if [ -n "$twin_pid" ]; then
		ok "a second build of postgres-$m at the same time in the same cache succeeds" wait "$twin_pid"
		ok "both builds of postgres-$m at once write the same bytes" cmp -s "$twin.tar" "$out"
		# Which layers each built: "name:true/false" for postgres.
		built_pg() { python3 -c 'import json,sys; print([l["built"] for l in json.load(open(sys.argv[1]))["layers"] if l["name"] == "postgres"][0])' "$1"; }
		a=$(built_pg "$TEST_OUT/pg$m.json") b=$(built_pg "$twin.json")
		if [ "$a" = False ] && [ "$b" = False ]; then
			pass "# SKIP the cache had postgres-$m already: no build to wait for"
		else
			once() { [ "$a" != "$b" ]; }
			ok "PostgreSQL $m was built once, not by both builds at once (built: $a and $b)" once
			waited() { [ "$b" = True ] || grep -Eq '^postgres +wait for another build +[0-9.]+ +[0-9.]+%$' "$twin.err"; }
			ok "the build that did not build PostgreSQL $m waited for the other" waited
		fi
		rm -f "$twin.tar" "$twin.tar.receipt.json" "$twin.tar.spdx.json"
	fi
	version=$(sed -n 's/.*"image":"pgimg\/postgres:\([^"]*\)".*/\1/p' "$TEST_OUT/pg$m.json")
	# The timings say what ran: a layer built has phases that ran, one
	# taken from the cache only a cached lookup; every time is a number >= 0.
	timings_match() {
		python3 - "$TEST_OUT/pg$m.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = d["timings"]
assert t and all(isinstance(r["seconds"], (int, float)) and r["seconds"] >= 0 for r in t), t
for l in d["layers"]:
    if l["name"] in ("base", "postgres", "entrypoint"):
        mine = [r for r in t if r["step"] == l["name"]]
        # A build that waited for a twin building the same layer took the
        # stored layer: its wait is time spent, not a phase of a build.
        ran = [r for r in mine if not r.get("cached") and r["phase"] != "wait for another build"]
        assert mine and bool(ran) == l["built"], (l["name"], l["built"], mine)
assert any(r["step"] == "image" and r["phase"] == "write tarball" for r in t), t
PY
	}
	ok "--json timings of postgres-$m name the phases of the layers built, not of those cached" timings_match
	ok "receipt beside the image for $m" test -s "$out.receipt.json"
	sbom_pg() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["spdxVersion"] == "SPDX-2.3" and any(p["name"] == "postgresql" and p["versionInfo"] == sys.argv[2] for p in d["packages"])' "$out.spdx.json" "$version"; }
	ok "SPDX SBOM beside the image for $m names PostgreSQL $version" sbom_pg
	ok "docker load postgres-$m" docker load -q -i "$out"
	ok "tag pgimg/postgres:$version" docker image inspect "pgimg/postgres:$version" -f '{{.Id}}'
	ok "tag pgimg/postgres:$m" docker image inspect "pgimg/postgres:$m" -f '{{.Id}}'
	# No User, as the official image: the entrypoint starts as root, hands
	# the data directory to postgres and steps down (run-patterns.sh).
	user=$(docker image inspect "pgimg/postgres:$m" -f '{{.Config.User}}')
	check_user() { [ -z "$user" ]; }
	ok "image sets no User: the entrypoint steps down to postgres ($m)" check_user
	if bash "$ROOT/tests/integration/lib/runtime-contract.sh" "pgimg/postgres:$m" "$m"; then
		pass "runtime contract of postgres-$m"
	else
		fail "runtime contract of postgres-$m"
	fi
done

# Nothing changed: nothing is built, and the image is the same.
m=$(echo $majors | awk '{print $NF}')
if "$PGIMG" --cache-dir "$TEST_CACHE" build "postgres-$m" -o "$TEST_OUT/again.tar" --json --timings \
	>"$TEST_OUT/again.json" 2>"$TEST_OUT/again.err"; then
	built=$(grep -o '"built":true' "$TEST_OUT/again.json" | wc -l)
	check_none() { [ "$built" -eq 0 ]; }
	ok "a second build of postgres-$m builds no layer" check_none
	# --timings: a table on stderr, every layer cached, the image written,
	# and nothing of a build that did not run.
	table() {
		local f="$TEST_OUT/again.err"
		grep -Eq '^step +phase +seconds +share$' "$f" \
			&& grep -Eq '^postgres +layers postgres, postgres-dev +[0-9]+\.[0-9]{2} +[0-9.]+% +cached$' "$f" \
			&& grep -Eq '^base +layer +[0-9]+\.[0-9]{2} +[0-9.]+% +cached$' "$f" \
			&& grep -Eq '^image +write tarball +[0-9]+\.[0-9]{2} +[0-9.]+%$' "$f" \
			&& grep -Eq '^total +[0-9]+\.[0-9]{2} +100\.0%$' "$f" \
			&& ! grep -Eq '^postgres +(configure|make|install)' "$f"
	}
	ok "--timings prints the phases that ran, the cached layers as cached" table
	same() { cmp -s "$TEST_OUT/again.tar" "$TEST_OUT/pg$m.tar" && cmp -s "$TEST_OUT/again.tar.spdx.json" "$TEST_OUT/pg$m.tar.spdx.json"; }
	ok "a second build of postgres-$m writes the same bytes, and the same SBOM" same
else
	fail "second build of postgres-$m"
fi
rm -f "$TEST_OUT/again.tar" "$TEST_OUT/again.tar.receipt.json" "$TEST_OUT/again.tar.spdx.json" "$TEST_OUT/again.err"

# --json stays valid JSON whatever the output path holds.
odd="$TEST_OUT/we\"ird\\name.tar"
json_ok() {
	"$PGIMG" --cache-dir "$TEST_CACHE" build "postgres-$m" -o "$odd" --json |
		python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["output"] == sys.argv[1]' "$odd"
}
ok "--json output is valid JSON for an odd output path" json_ok
rm -f "$odd" "$odd.receipt.json" "$odd.spdx.json"
finish
