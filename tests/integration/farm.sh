#!/bin/bash
# farm.sh - a build farm through a shared registry cache, on one machine
# (docs/farm.md).  Debian's docker-registry on 127.0.0.1 is seeded with
# the test cache's postgres-18 layers (base, postgres, postgres-dev) as a
# cache image.  Two builders with empty caches, at the same time, each
# list their slice of the default set (`list --extensions --set default
# --major 18 --slice I/2`), build postgres-18 with it from the seed and
# push their own cache tag.  A third builder is killed (SIGKILL) in the
# middle of its build: its tag never appears and every other tag still
# pulls.  An assembler with an empty cache then builds postgres-18 --set
# default from the seed and both slices (and the dead builder's missing
# tag, skipped with a note): it builds no PostgreSQL or extension layer
# and writes the same bytes as a single-machine build.  Prints TAP.
set -u
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/servers.sh"

need_registry

work=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-farm-XXXXXX")
reg_pid= dead_pid=
cleanup() {
	[ -n "$dead_pid" ] && kill -KILL -- "-$dead_pid" 2>/dev/null
	[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_plain_registry "$work" || { echo "Bail out! docker-registry did not start: $(tail -3 "$work/registry.log")"; exit 1; }
repo="localhost:$reg_port/pgimg/farm"
p() { "$PGIMG" -q --cache-dir "$TEST_CACHE" "$@"; }
# jq-like: a Python expression over the JSON document `d` of FILE.
js() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# A builder's own cache: empty but for the content-addressed downloads
# of the test cache (sources and packages; there is no network here).
builder_cache() { mkdir -p "$TEST_CACHE/downloads" "$work/$1" && ln -s "$TEST_CACHE/downloads" "$work/$1/downloads"; }

# ---- The single-machine build everything is compared with, and its
# plan (the keys of its layers). ----
if ! p build postgres-18 --set default -o "$work/single.tar" --json >"$work/single.json" 2>"$work/single.err" \
	|| ! p build postgres-18 --set default --plan --json >"$work/plan.json" 2>>"$work/single.err"; then
	fail "postgres-18 --set default builds in the test cache" "$(tail -3 "$work/single.err")"
	finish
fi

# ---- The seed: a cache holding only the PostgreSQL layers. ----
mkdir -p "$work/seed/layers" "$work/seed/blobs/sha256"
for key in $(js "$work/plan.json" '" ".join(s["key"] for s in d if s["step"] in ("base", "postgres", "postgres-dev"))'); do
	cp "$TEST_CACHE/layers/$key.json" "$work/seed/layers/"
	hex=$(js "$TEST_CACHE/layers/$key.json" 'd["digest"].split(":")[1]')
	ln "$TEST_CACHE/blobs/sha256/$hex" "$work/seed/blobs/sha256/" 2>/dev/null \
		|| cp "$TEST_CACHE/blobs/sha256/$hex" "$work/seed/blobs/sha256/"
done
"$PGIMG" -q --cache-dir "$work/seed" push --cache --insecure --json "$repo:seed" >"$work/seed.json" 2>"$work/seed.err"
ok "the seed (base, postgres, postgres-dev of 18) is pushed as a cache" test "$(js "$work/seed.json" 'd["blobs"]' 2>/dev/null)" = 4

# ---- Two builders at once, each its own slice and its own tag. ----
for i in 1 2; do
	p list --extensions --set default --major 18 --slice "$i/2" --json >"$work/slice$i.json"
done
p list --extensions --set default --major 18 --json >"$work/all.json"
names() { js "$1" '" ".join(sorted(x["name"] for x in d))'; }
check_slices() {
	python3 - "$work/slice1.json" "$work/slice2.json" "$ROOT/images/default.json" <<-'EOF'
	import json, sys
	one, two = ({x["name"] for x in json.load(open(f))} for f in sys.argv[1:3])
	want = set(json.load(open(sys.argv[3]))["extensions"])
	assert one and two and not one & two and one | two == want, (one, two, want)
	EOF
}
ok "the two slices are disjoint and together the default set ($(names "$work/slice1.json") | $(names "$work/slice2.json"))" check_slices

builders=
for i in 1 2; do
	builder_cache "b$i"
	with=$(js "$work/slice$i.json" '",".join(x["with"] for x in d)')
	( date +%s.%N >"$work/b$i.start"
	  "$PGIMG" -q --cache-dir "$work/b$i" build postgres-18 --with "$with" -o "$work/b$i.tar" --json \
		--insecure-registry --cache-from "$repo:seed" --cache-to "$repo:18-$i-of-2" >"$work/b$i.json" 2>"$work/b$i.err"
	  echo $? >"$work/b$i.rc"; date +%s.%N >"$work/b$i.end" ) &
	builders="$builders $!"
done
# shellcheck disable=SC2086
wait $builders
for i in 1 2; do
	check_builder() {
		[ "$(cat "$work/b$i.rc")" = 0 ] && python3 - "$work/b$i.json" "$work/slice$i.json" <<-'EOF'
		import json, sys
		b, s = (json.load(open(f)) for f in sys.argv[1:])
		built = {l["name"].split("@")[0] for l in b["layers"] if l["built"]}
		exts = {x["name"] for x in s}
		# its slice's layers built here; base and postgres from the seed
		assert exts <= built and not built & {"base", "postgres"}, (built, exts)
		EOF
	}
	ok "builder $i built its slice from the seed and pushed $repo:18-$i-of-2" check_builder
	[ "$(cat "$work/b$i.rc")" = 0 ] || tail -5 "$work/b$i.err" | sed 's/^/#   /'
done
# Each started before the other was done.
b1s=$(cat "$work/b1.start") b1e=$(cat "$work/b1.end") b2s=$(cat "$work/b2.start") b2e=$(cat "$work/b2.end")
overlap() { [ "$(echo "$b1s < $b2e && $b2s < $b1e" | bc)" = 1 ]; }
ok "the two builders ran at the same time ($(echo "$b1e - $b1s" | bc | cut -c1-5) s and $(echo "$b2e - $b2s" | bc | cut -c1-5) s)" overlap

# ---- A builder that dies in the middle of its build. ----
# It builds pglogical, compiled from source (PGXS) for some seconds, so
# that the kill lands in a compiler run: a slice of the default set may
# hold only extensions taken from Debian's builds, over in a second.
builder_cache dead
setsid "$PGIMG" --cache-dir "$work/dead" build postgres-18 --with pglogical -o "$work/dead.tar" \
	--insecure-registry --cache-from "$repo:seed" --cache-to "$repo:18-dead" >/dev/null 2>"$work/dead.err" &
dead_pid=$!
for _ in $(seq 1800); do grep -q "^pgimg: building " "$work/dead.err" 2>/dev/null && break; kill -0 "$dead_pid" 2>/dev/null || break; sleep 0.1; done
building=$(grep -c "^pgimg: building " "$work/dead.err")
kill -KILL -- "-$dead_pid" 2>/dev/null
wait "$dead_pid" 2>/dev/null
dead_pid=
tags=$(curl -s "http://127.0.0.1:$reg_port/v2/pgimg/farm/tags/list")
check_dead() {
	[ "$building" -ge 1 ] || { echo "#   it was not killed in a build: $(tail -n 2 "$work/dead.err")"; return 1; }
	python3 -c 'import json,sys; t=json.loads(sys.argv[1])["tags"]; assert sorted(t) == ["18-1-of-2", "18-2-of-2", "seed"], t' "$tags"
}
ok "a builder killed while building leaves no tag of its own" check_dead
check_pulls() {
	local t n
	for t in seed 18-1-of-2 18-2-of-2; do
		mkdir -p "$work/pull-$t"
		"$PGIMG" -q --cache-dir "$work/pull-$t" pull --cache --insecure --json "$repo:$t" >"$work/pull-$t.json" 2>"$work/pull.err" \
			|| { sed 's/^/#   /' "$work/pull.err"; return 1; }
		n=$(js "$work/pull-$t.json" 'd["entries"]')
		# the seed's 3 layers; a slice's: those, its extensions, its entrypoint and SBOM
		if [ "$t" = seed ]; then [ "$n" = 3 ] || return 1; else [ "$n" -gt 5 ] || return 1; fi
		pulled="$pulled $t:$n"
	done
}
pulled=
if check_pulls; then
	pass "after it, every tag still pulls (pull --cache entries:$pulled)"
else
	fail "after it, every tag still pulls" "pulled:$pulled"
fi

# ---- The assembler: nothing in its cache, not even downloads. ----
mkdir -p "$work/asm"
from=(--insecure-registry --cache-from "$repo:seed" --cache-from "$repo:18-1-of-2" --cache-from "$repo:18-2-of-2"
	--cache-from "$repo:18-dead")
"$PGIMG" --cache-dir "$work/asm" build postgres-18 --set default --plan --json "${from[@]}" >"$work/asm-plan.json" 2>"$work/asm-plan.err"
check_plan() {
	[ "$(js "$work/asm-plan.json" 'sorted(set(s["state"] for s in d if s["step"] not in ("entrypoint", "sbom")))')" = "['remote']" ] \
		&& grep -q "not using the cache $repo:18-dead" "$work/asm-plan.err"
}
ok "its plan with the seed and both slices: every PostgreSQL and extension layer is remote" check_plan
"$PGIMG" --cache-dir "$work/asm" build postgres-18 --set default --json -o "$work/asm.tar" "${from[@]}" \
	>"$work/asm.json" 2>"$work/asm.err"
check_note() { grep -q "not using the cache $repo:18-dead: .*building instead" "$work/asm.err"; }
ok "the dead builder's missing tag is skipped with a note, and the build goes on" check_note
check_none() {
	# The entrypoint and SBOM layers are the image's own: they list its
	# extensions, so only the image's build makes them (no compiler runs).
	[ "$(js "$work/asm.json" 'sorted(l["name"] for l in d["layers"] if l["built"] and l["name"] not in ("entrypoint", "sbom"))')" = "[]" ] \
		&& [ ! -e "$work/asm/downloads/sha256" ]
}
ok "the assembler builds no PostgreSQL or extension layer and downloads nothing" check_none
[ -s "$work/asm.json" ] || tail -5 "$work/asm.err" | sed 's/^/#   /'
ok "its image is byte-identical to the single-machine build" cmp -s "$work/asm.tar" "$work/single.tar"
finish
