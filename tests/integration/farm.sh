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
# and writes the same bytes as a single-machine build.  Then the leases
# on layer keys: two builders given overlapping work (pgvector in both)
# build each extension layer once, the one that did not build pgvector
# says it waited for it and took it from the other's cache, and both
# images are a single machine's; a planted lease that names a cache
# elsewhere is ignored with a note; a builder killed while it holds a
# lease leaves it to expire, and the next one takes it over.  Prints TAP.
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
# Its cache tag, that is: the leases are tags of their own (lease-KEY).
tags=$(curl -s "http://127.0.0.1:$reg_port/v2/pgimg/farm/tags/list")
check_dead() {
	[ "$building" -ge 1 ] || { echo "#   it was not killed in a build: $(tail -n 2 "$work/dead.err")"; return 1; }
	python3 -c 'import json,sys; t=[t for t in json.loads(sys.argv[1])["tags"] if not t.startswith("lease-")]; assert sorted(t) == ["18-1-of-2", "18-2-of-2", "seed"], t' "$tags"
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

# ---- Two builders given overlapping work: pgvector is in both. ----
# Their caches and leases go to a repository of their own: the slices'
# leases (ended) and caches in $repo already hold these layers.
# Whichever writes pgvector's lease last holds it; the other builds its
# own extension first, then waits for the holder's cache and takes the
# layer from there (docs/farm.md).
lrepo="localhost:$reg_port/pgimg/lease"
lease_start=$SECONDS
# A lease that names a cache outside its repository, on hypopg's key, as
# anyone who can push to the repository could plant: the builder that
# needs hypopg ignores it with a note and builds the layer.
hypopg_key=$(js "$work/plan.json" '[s["key"] for s in d if s["name"] == "hypopg"][0]')
python3 - "$reg_port" "$hypopg_key" <<-'EOF'
	import hashlib, json, sys, urllib.request
	port, key = sys.argv[1:]
	base = "http://127.0.0.1:%s/v2/pgimg/lease" % port
	cfg = json.dumps({"cache": "evil.example/x:y", "expires": 1900000000, "holder": "h 1", "key": key}).encode()
	digest = "sha256:" + hashlib.sha256(cfg).hexdigest()
	loc = urllib.request.urlopen(urllib.request.Request(base + "/blobs/uploads/", method="POST")).headers["Location"]
	loc = loc if loc.startswith("http") else "http://127.0.0.1:%s%s" % (port, loc)
	urllib.request.urlopen(urllib.request.Request(loc + ("&" if "?" in loc else "?") + "digest=" + digest, data=cfg,
		method="PUT", headers={"Content-Type": "application/octet-stream"}))
	m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": [],
		"config": {"mediaType": "application/vnd.pgimg.lease.v1+json", "digest": digest, "size": len(cfg)}}).encode()
	urllib.request.urlopen(urllib.request.Request(base + "/manifests/lease-" + key, data=m, method="PUT",
		headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"}))
	EOF
owith=(pgvector,hypopg pgvector,pg_cron)
for i in 1 2; do
	p build postgres-18 --with "${owith[i - 1]}" -o "$work/single-o$i.tar" 2>>"$work/single.err"
done
builders=
for i in 1 2; do
	builder_cache "o$i"
	with=${owith[i - 1]}
	( "$PGIMG" --cache-dir "$work/o$i" build postgres-18 --with "$with" -o "$work/o$i.tar" --json \
		--insecure-registry --cache-from "$repo:seed" --cache-to "$lrepo:18-o$i" >"$work/o$i.json" 2>"$work/o$i.err"
	  echo $? >"$work/o$i.rc" ) &
	builders="$builders $!"
done
# shellcheck disable=SC2086
wait $builders
check_once() {
	[ "$(cat "$work/o1.rc")$(cat "$work/o2.rc")" = 00 ] && python3 - "$work/o1.json" "$work/o2.json" <<-'EOF'
	import json, sys
	built = [{l["name"] for l in json.load(open(f))["layers"] if l["built"]} for f in sys.argv[1:]]
	exts = [{n for n in b if "@" in n} for b in built]
	# every extension layer built once: pgvector by one, the others by their own
	assert not exts[0] & exts[1] and {n.split("@")[0] for n in exts[0] | exts[1]} == {"pgvector", "hypopg", "pg_cron"}, built
	assert not (built[0] & built[1]) - {"entrypoint", "sbom"}, built
	EOF
}
ok "two builders with overlapping work build each extension layer once" check_once
check_ignored() {
	grep -q "^pgimg: ignoring a lease: $lrepo:lease-$hypopg_key names a cache outside its repository$" "$work/o1.err"
}
ok "a planted lease naming a cache outside its repository is ignored with a note" check_ignored
[ "$(cat "$work/o1.rc")$(cat "$work/o2.rc")" = 00 ] || tail -n 3 "$work/o1.err" "$work/o2.err" | sed 's/^/#   /'
check_waited() {
	local n
	n=$(cat "$work/o1.err" "$work/o2.err" | grep -c "^pgimg: waited for pgvector@[^ ]*: .* built it; taken from the cache $lrepo:18-o[12]$")
	[ "$n" = 1 ] || { grep -h "lease\|waited" "$work/o1.err" "$work/o2.err" | sed 's/^/#   /'; return 1; }
}
ok "the one that did not build pgvector says it waited for it" check_waited
check_same() { cmp -s "$work/o1.tar" "$work/single-o1.tar" && cmp -s "$work/o2.tar" "$work/single-o2.tar"; }
ok "both images are byte-identical to a single machine's" check_same

# ---- A builder killed while it holds a lease (of 8 s) on wal2json;
# the next builder that needs wal2json takes the lease over once it
# expires, and builds the layer. ----
wal2json_key=$(js "$work/plan.json" '[s["key"] for s in d if s["name"] == "wal2json"][0]')
builder_cache gone
setsid "$PGIMG" --cache-dir "$work/gone" build postgres-18 --with wal2json -o "$work/gone.tar" --lease-time 8 \
	--insecure-registry --cache-from "$repo:seed" --cache-to "$lrepo:18-gone" >/dev/null 2>"$work/gone.err" &
dead_pid=$!
leased() { curl -s "http://127.0.0.1:$reg_port/v2/pgimg/lease/tags/list" | grep -q "lease-$wal2json_key"; }
for _ in $(seq 600); do leased && break; kill -0 "$dead_pid" 2>/dev/null || break; sleep 0.1; done
# (the shell's note that it was killed is noise here)
{ kill -KILL -- "-$dead_pid"; wait "$dead_pid"; } 2>/dev/null
dead_pid=
builder_cache taker
"$PGIMG" --cache-dir "$work/taker" build postgres-18 --with wal2json -o "$work/taker.tar" --json \
	--insecure-registry --cache-from "$repo:seed" --cache-to "$lrepo:18-taker" >"$work/taker.json" 2>"$work/taker.err"
check_taken() {
	curl -s "http://127.0.0.1:$reg_port/v2/pgimg/lease/tags/list" | grep -q '"18-gone"' && { echo "#   the killed builder pushed its cache"; return 1; }
	grep -q "^pgimg: took over an expired lease of wal2json@[^ ]* from " "$work/taker.err" \
		&& [ "$(js "$work/taker.json" '[l["built"] for l in d["layers"] if l["name"].startswith("wal2json@")]')" = "[True]" ] \
		|| { grep -h "lease\|waited\|^pgimg: [a-z]*:" "$work/taker.err" | tail -n 5 | sed 's/^/#   /'; return 1; }
}
ok "the dead builder's expired lease on wal2json is taken over, and the layer built" check_taken
echo "# the leases' part took $((SECONDS - lease_start)) s"

finish
