#!/bin/bash
# Build the image of every major, load it into the Docker Engine, run the
# official image's contract against it, and check that a second build
# of an unchanged recipe builds nothing.
set -u
. "$(dirname "$0")/lib/tap.sh"
have_docker || skip_all "no Docker Engine"

majors=${PGIMG_MAJORS:-$(cd "$ROOT/versions" && ls *.json | sed 's/\.json$//' | sort -n)}
for m in $majors; do
	out="$TEST_OUT/pg$m.tar"
	if "$PGIMG" --cache-dir "$TEST_CACHE" build "postgres-$m" -o "$out" --json >"$TEST_OUT/pg$m.json"; then
		pass "build postgres-$m"
	else
		fail "build postgres-$m"; continue
	fi
	version=$(sed -n 's/.*"image":"pgimg\/postgres:\([^"]*\)".*/\1/p' "$TEST_OUT/pg$m.json")
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
if "$PGIMG" --cache-dir "$TEST_CACHE" build "postgres-$m" -o "$TEST_OUT/again.tar" --json >"$TEST_OUT/again.json"; then
	built=$(grep -o '"built":true' "$TEST_OUT/again.json" | wc -l)
	check_none() { [ "$built" -eq 0 ]; }
	ok "a second build of postgres-$m builds no layer" check_none
	same() { cmp -s "$TEST_OUT/again.tar" "$TEST_OUT/pg$m.tar" && cmp -s "$TEST_OUT/again.tar.spdx.json" "$TEST_OUT/pg$m.tar.spdx.json"; }
	ok "a second build of postgres-$m writes the same bytes, and the same SBOM" same
else
	fail "second build of postgres-$m"
fi
rm -f "$TEST_OUT/again.tar" "$TEST_OUT/again.tar.receipt.json" "$TEST_OUT/again.tar.spdx.json"

# --json stays valid JSON whatever the output path holds.
odd="$TEST_OUT/we\"ird\\name.tar"
json_ok() {
	"$PGIMG" --cache-dir "$TEST_CACHE" build "postgres-$m" -o "$odd" --json |
		python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["output"] == sys.argv[1]' "$odd"
}
ok "--json output is valid JSON for an odd output path" json_ok
rm -f "$odd" "$odd.receipt.json" "$odd.spdx.json"
finish
