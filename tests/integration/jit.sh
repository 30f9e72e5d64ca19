#!/bin/bash
# jit.sh - the jit layer: on the newest major (PGIMG_JIT_MAJORS names
# others: each jit build is a PostgreSQL build with LLVM of its own),
# postgres-N --with jit answers pg_jit_available() with t and EXPLAIN
# (ANALYZE) shows a JIT section, inlining on, once the JIT costs are 0,
# and the query answers as without JIT; the jit layer holds LLVM
# bitcode and thinlto indexes of the server and contrib; the same image
# without jit answers f, and its layers are those of the jit image but
# the jit layer (and the SBOM on top, which lists the LLVM packages in
# the jit image only, as syft finds them).  Both images run in pgimg's runtime; the jit
# image of one major (PGIMG_JIT_DOCKER_MAJOR, default the newest) runs
# in the Docker Engine too, when there is one.  The jit layer's size is
# printed as a TAP comment.  Prints TAP.
set -u
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/containers.sh"

[ -x "$PGIMG" ] || skip_all "no pgimg binary at $PGIMG (make)"
command -v python3 >/dev/null || skip_all "python3 is needed to read the build summaries"
probe=$("$PGIMG" sandbox --root / -- true 2>&1) || case $probe in
	*"namespaces are unavailable"* | *"cannot create mount, pid"*) skip_all "${probe#pgimg: }" ;;
esac

majors=${PGIMG_JIT_MAJORS:-$(cd "$ROOT/versions" && ls *.json | sed 's/\.json$//' | sort -n | tail -n 1)}
docker_major=${PGIMG_JIT_DOCKER_MAJOR:-$(echo "$majors" | tr ' ' '\n' | tail -n 1)}
work=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-jit-XXXXXX")
runs=()
cleanup() {
	local r
	for r in "${runs[@]}"; do "$PGIMG" --cache-dir "$TEST_CACHE" stop "$r" >/dev/null 2>&1; rm -rf "$TEST_CACHE/run/$r"; done
	ct_cleanup
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

p() { "$PGIMG" -q --cache-dir "$TEST_CACHE" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# The layers of a build summary (--json): "name digest" a line.
layers_of() { python3 -c 'import json,sys; [print(l["name"], l["digest"]) for l in json.load(open(sys.argv[1]))["layers"]]' "$1"; }

JIT_SQL="SET jit = on; SELECT pg_jit_available();"
JIT_ALL_SQL="SET jit = on; SET jit_above_cost = 0; SET jit_inline_above_cost = 0; SET jit_optimize_above_cost = 0; "
SUM_SQL="SELECT sum(g * 2), count(*), avg(length(g::text)) FROM generate_series(1, 1000) AS g WHERE g % 3 = 0;"
EXPLAIN_SQL="${JIT_ALL_SQL}EXPLAIN (ANALYZE) $SUM_SQL"

# Start image (a tarball) in pgimg's runtime as run name; prints nothing.
start() {
	local name=$1 tar=$2 out
	runs+=("$name")
	out=$("$PGIMG" --cache-dir "$TEST_CACHE" run -d --name "$name" --port "$(free_port)" \
		-e POSTGRES_PASSWORD=jit-$$ "$tar" 2>&1) || { echo "$out"; return 1; }
}
sql() { "$PGIMG" --cache-dir "$TEST_CACHE" psql "$1" -- -X -At -q -c "$2" 2>&1; }
explain_has_jit() { grep -q '^JIT:' <<<"$1" && grep -q 'Functions: [1-9]' <<<"$1"; }

for m in $majors; do
	plain=$work/pg$m.tar jit=$work/pg$m-jit.tar
	if ! p build "postgres-$m" --json -o "$plain" >"$work/pg$m.json" 2>"$work/pg$m.err"; then
		fail "postgres-$m builds" "$(tail -3 "$work/pg$m.err")"; continue
	fi
	if ! p build "postgres-$m" --with jit --json -o "$jit" >"$work/pg$m-jit.json" 2>"$work/pg$m-jit.err"; then
		fail "postgres-$m --with jit builds" "$(tail -3 "$work/pg$m-jit.err")"; continue
	fi

	# Layers: the same but the jit layer and the SBOM at the top.
	layers_of "$work/pg$m.json" >"$work/plain.layers"
	layers_of "$work/pg$m-jit.json" >"$work/jit.layers"
	same_layers() {
		[ "$(grep -vc '^sbom ' "$work/jit.layers")" -eq "$(grep -c . "$work/plain.layers")" ] \
			&& [ "$(grep -c '^jit ' "$work/jit.layers")" = 1 ] && [ "$(grep -c '^jit ' "$work/plain.layers")" = 0 ] \
			&& diff <(grep -v '^sbom ' "$work/plain.layers") <(grep -v '^jit \|^sbom ' "$work/jit.layers") >/dev/null
	}
	if same_layers; then
		pass "$m: the image without jit has the jit image's layers but jit (and the SBOM)"
	else
		fail "$m: the image without jit has the jit image's layers but jit (and the SBOM)" \
			"without: $(tr '\n' ' ' <"$work/plain.layers")" "with: $(tr '\n' ' ' <"$work/jit.layers")"
	fi
	# The same as docker sees them: manifest.json of each tarball.
	docker_layers() { tar -xOf "$1" manifest.json | python3 -c 'import json,sys; [print(l) for l in json.load(sys.stdin)[0]["Layers"]]'; }
	extra=$(comm -13 <(docker_layers "$plain" | sort) <(docker_layers "$jit" | sort) | wc -l)
	missing=$(comm -23 <(docker_layers "$plain" | sort) <(docker_layers "$jit" | sort) | wc -l)
	if [ "$extra" = 2 ] && [ "$missing" = 1 ]; then
		pass "$m: manifest.json: the jit tarball adds two layers (jit, SBOM), lacks one (the other SBOM)"
	else
		fail "$m: manifest.json: the jit tarball adds two layers (jit, SBOM), lacks one (the other SBOM)" "added $extra, lacking $missing"
	fi
	sbom_llvm() { python3 -c 'import json,sys; sys.exit(0 if any(p["name"] == "libllvm19" for p in json.load(open(sys.argv[1]))["packages"]) else 1)' "$1"; }
	if sbom_llvm "$jit.spdx.json" && ! sbom_llvm "$plain.spdx.json"; then
		pass "$m: the SBOM lists libllvm19 in the jit image only"
	else
		fail "$m: the SBOM lists libllvm19 in the jit image only"
	fi

	# The jit layer's size, as pushed and as unpacked.
	blob=$(python3 -c 'import json,sys; print([l["digest"] for l in json.load(open(sys.argv[1]))["layers"] if l["name"] == "jit"][0].split(":")[1])' "$work/pg$m-jit.json")
	compressed=$(tar -tvf "$jit" "blobs/sha256/$blob" | awk '{ print $3 }')
	unpacked=$(tar -xOf "$jit" "blobs/sha256/$blob" | gzip -dc | wc -c)
	echo "# jit layer of postgres-$m: $compressed bytes compressed, $unpacked bytes unpacked"
	# What the jit build makes: the provider, and LLVM bitcode with its
	# thinlto index for the server and for contrib modules (isn is a
	# module of its own file, pgcrypto one of several).
	tar -xOf "$jit" "blobs/sha256/$blob" >"$work/jit-layer.tgz"
	lib=usr/lib/postgresql/$m/lib
	is_bitcode() { [ "$(tar -xzOf "$work/jit-layer.tgz" "$1" 2>/dev/null | head -c 4 | od -An -tx1 | tr -d ' ')" = 4243c0de ]; }
	jit_files() {
		tar -tzf "$work/jit-layer.tgz" | grep -qx "$lib/llvmjit.so" && is_bitcode "$lib/llvmjit_types.bc" \
			&& for f in postgres isn pgcrypto; do is_bitcode "$lib/bitcode/$f.index.bc" || return 1; done \
			&& is_bitcode "$lib/bitcode/postgres/executor/execExprInterp.bc" && is_bitcode "$lib/bitcode/pgcrypto/pgp-pgsql.bc"
	}
	ok "$m: the jit layer holds llvmjit.so and the bitcode of the server and contrib, with their indexes" jit_files
	echo "# jit layer of postgres-$m: $(tar -tzf "$work/jit-layer.tgz" | grep -c "^$lib/bitcode/.*\.bc\$") bitcode files"

	# pgimg's runtime: with jit, then without.
	if out=$(start "jit-$m-$$" "$jit"); then
		got=$(sql "jit-$m-$$" "$JIT_SQL")
		if [ "$got" = t ]; then pass "$m --with jit (pgimg run): pg_jit_available() is t"; else fail "$m --with jit (pgimg run): pg_jit_available() is t" "got: $got"; fi
		got=$(sql "jit-$m-$$" "$EXPLAIN_SQL")
		if explain_has_jit "$got"; then pass "$m --with jit (pgimg run): EXPLAIN ANALYZE shows JIT: with Functions:"; else fail "$m --with jit (pgimg run): EXPLAIN ANALYZE shows JIT: with Functions:" "$got"; fi
		if grep -q 'Inlining true' <<<"$got"; then pass "$m --with jit (pgimg run): EXPLAIN shows Inlining true"; else fail "$m --with jit (pgimg run): EXPLAIN shows Inlining true" "$got"; fi
		jitted=$(sql "jit-$m-$$" "$JIT_ALL_SQL$SUM_SQL")
		plain_sum=$(sql "jit-$m-$$" "SET jit = off; $SUM_SQL")
		if [ -n "$plain_sum" ] && [ "$jitted" = "$plain_sum" ]; then pass "$m --with jit (pgimg run): inlined and optimized code answers as the interpreter"; else fail "$m --with jit (pgimg run): inlined and optimized code answers as the interpreter" "jit: $jitted, without: $plain_sum"; fi
		"$PGIMG" --cache-dir "$TEST_CACHE" stop "jit-$m-$$" >/dev/null 2>&1
	else
		fail "$m --with jit starts in pgimg run" "$out"
	fi
	if out=$(start "nojit-$m-$$" "$plain"); then
		got=$(sql "nojit-$m-$$" "$JIT_SQL")
		if [ "$got" = f ]; then pass "$m without jit (pgimg run): pg_jit_available() is f"; else fail "$m without jit (pgimg run): pg_jit_available() is f" "got: $got"; fi
		got=$(sql "nojit-$m-$$" "$EXPLAIN_SQL")
		if ! explain_has_jit "$got" && grep -q 'Function Scan' <<<"$got"; then pass "$m without jit (pgimg run): EXPLAIN ANALYZE has no JIT section"; else fail "$m without jit (pgimg run): EXPLAIN ANALYZE has no JIT section" "$got"; fi
		"$PGIMG" --cache-dir "$TEST_CACHE" stop "nojit-$m-$$" >/dev/null 2>&1
	else
		fail "$m without jit starts in pgimg run" "$out"
	fi

	[ "$m" = "$docker_major" ] || continue
	# What a scanner finds in the jit image: the SBOM's Debian packages.
	if syft=$("$ROOT/tools/test-servers.sh" syft 2>/dev/null) \
		&& SYFT_CHECK_FOR_APP_UPDATE=false "$syft" "docker-archive:$jit" -o json >"$work/syft.json" 2>/dev/null; then
		same_debs() {
			python3 - "$work/syft.json" "$jit.spdx.json" <<'PY'
import json, sys
syft = {(a["name"], a["version"], a["purl"]) for a in json.load(open(sys.argv[1]))["artifacts"] if a["type"] == "deb"}
purl = lambda p: p.get("externalRefs", [{}])[0].get("referenceLocator", "")
ours = {(p["name"], p["versionInfo"], purl(p)) for p in json.load(open(sys.argv[2]))["packages"] if purl(p).startswith("pkg:deb/")}
assert any(n == "libllvm19" for n, _, _ in syft), "syft finds no libllvm19"
assert syft == ours, ("only syft: %s; only the SBOM: %s" % (sorted(syft - ours)[:5], sorted(ours - syft)[:5]))
PY
		}
		ok "$m --with jit: syft finds exactly the SBOM's Debian packages, libllvm19 among them" same_debs
	else
		echo "# syft cannot run here (tools/test-servers.sh syft): the jit image is not scanned"
	fi

	# The Docker Engine, for one major.
	if ! have_docker; then
		echo "# no Docker Engine: the jit image of $m runs in pgimg's runtime only"; continue
	fi
	config=$(tar -xOf "$jit" manifest.json | sed -n 's/.*"Config":"blobs\/sha256\/\([0-9a-f]*\)".*/\1/p')
	if ! docker load -q -i "$jit" >/dev/null 2>&1 || [ -z "$config" ]; then
		fail "$m --with jit loads into docker"; continue
	fi
	CT_IMAGE=sha256:$config
	if ct_run jit -e POSTGRES_PASSWORD=jit-$$ "$CT_IMAGE" && ct_wait_ready jit; then
		got=$(ct_sql jit "$JIT_SQL")
		if [ "$got" = t ]; then pass "$m --with jit (docker run): pg_jit_available() is t"; else fail "$m --with jit (docker run): pg_jit_available() is t" "got: $got"; fi
		got=$(ct_sql jit "$EXPLAIN_SQL")
		if explain_has_jit "$got"; then pass "$m --with jit (docker run): EXPLAIN ANALYZE shows JIT: with Functions:"; else fail "$m --with jit (docker run): EXPLAIN ANALYZE shows JIT: with Functions:" "$got"; fi
	else
		fail "$m --with jit starts in docker run"
	fi
done
finish
