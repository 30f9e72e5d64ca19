#!/bin/bash
# The "M image" column of the extension matrix: every extension version
# that supports major M (default 18), as its extension image (`pgimg
# build extension`), mounted from a volume into a server built without
# extensions, as CloudNativePG's image volumes mount it, with pgTAP's
# image beside it and the images of what it requires; then its smoke
# test there.  Writes OUT (default build/matrix/rM-image.tsv) in the
# format `pgimg matrix` reads, the major given as "M-image".
#   tools/matrix-images.sh [MAJOR [OUT [NAME[@VERSION]...]]]
# With items, only those.  Exits 1 when any cell fails.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
# The builds share the layer cache of `pgimg build` ($PGIMG_CACHE_DIR or the default).
. tests/integration/lib/extimg.sh
[ -x ./pgimg ] || make
m=${1:-18}
out=${2:-build/matrix/r$m-image.tsv}
shift $(( $# > 2 ? 2 : $# ))
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-matrix-images-XXXXXX")
tag=pgimg-matrix-img-$$
cleanup() {
	docker rm -f "$tag" >/dev/null 2>&1
	docker volume ls -q --filter "name=$tag-" | xargs -r docker volume rm -f >/dev/null 2>&1
	[ -s "$tmp/images" ] && xargs -r docker rmi -f <"$tmp/images" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

./pgimg build "postgres-$m" -o "$tmp/pg.tar" >/dev/null 2>"$tmp/pg.err" || { tail -1 "$tmp/pg.err"; exit 1; }
pg_image=$(docker load -i "$tmp/pg.tar" | sed -n 's/^Loaded image: //p' | head -1)
pg_version=${pg_image##*:}

# One line a cell: NAME VERSION KIND PRELOAD REQUIRES PLUGINS (lists
# comma-separated, "-" when empty); which versions serve the major is the
# recipe loader's answer (`pgimg list`).
./pgimg list --extensions --json >"$tmp/recipes.json"
python3 - "$m" "$tmp/recipes.json" "$@" > "$tmp/cells" <<'PY'
import json, sys
major, listed, only = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3:]
for e in listed:
    r = json.load(open("extensions/%s.json" % e["name"]))
    for v in e["versions"]:
        item = "%s@%s" % (e["name"], v["version"])
        if major not in v["majors"] or (only and e["name"] not in only and item not in only):
            continue
        if "%s-image" % major in r.get("unsupported", {}):
            continue  # the matrix says why, from the recipe
        kind = "postgres-source" if e["build"] == "postgres" else "debian" if v["debian_build"] else "source"
        lists = [r.get(k) or [] for k in ("shared_preload_libraries", "requires", "output_plugins")]
        print(e["name"], v["version"], kind, *[",".join(l) or "-" for l in lists])
PY

# The volume of ITEM: a name Docker takes (no '@' or '~').
volume_name() { local v=$tag-$1; echo "${v//[^a-zA-Z0-9_.-]/-}"; }

# The image of ITEM loaded and in a volume; its volume's name on stdout.
volume_of() {
	local item=$1 vol err image
	vol=$(volume_name "$item")
	if docker volume inspect "$vol" >/dev/null 2>&1; then echo "$vol"; return 0; fi
	if ! ./pgimg build extension "$item" --major "$m" --json -o "$tmp/x.tar" >"$tmp/x.json" 2>"$tmp/x.err"; then
		tail -1 "$tmp/x.err" >&2
		return 1
	fi
	image=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"])' "$tmp/x.json")
	echo "$image" "${image%-*}" | tr " " "\n" >>"$tmp/images"  # its two tags
	docker load -q -i "$tmp/x.tar" >/dev/null && docker volume create "$vol" >/dev/null \
		&& extimg_fill "$image" "$vol" "$pg_image" || { echo "$item: copying the image failed" >&2; return 1; }
	echo "$vol"
}

status=0
: >"$tmp/results"
while read -r name version kind preload requires plugins; do
	result() { printf '%s-image\t%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$pg_version" "$name" "$version" "$kind" "$1" "$2" >>"$tmp/results"; }
	items="$name@$version"
	[ "$requires" != - ] && items="$items ${requires//,/ }"
	[ "$name" != pgtap ] && items="$items pgtap"
	args=() cpath='$system' lpath='$libdir' ldpath= why=
	for it in $items; do
		if ! vol=$(volume_of "$it" 2>"$tmp/why"); then why=$(tail -1 "$tmp/why"); break; fi
		d=/extensions/${it%@*}
		args+=(-v "$vol:$d:ro")
		cpath="$cpath:$d/share" lpath="$lpath:$d/lib" ldpath="$ldpath${ldpath:+:}$d/system"
	done
	if [ -n "$why" ]; then
		result not-built "$why"; status=1; echo "not built: $name@$version: $why"; continue
	fi
	set -- -c "extension_control_path=$cpath" -c "dynamic_library_path=$lpath" -c wal_level=logical
	[ "$preload" != - ] && set -- "$@" -c "shared_preload_libraries=$preload"
	[ "$plugins" != - ] && set -- "$@" -c "output_plugin_libraries=pgoutput,test_decoding,$plugins"
	docker rm -f "$tag" >/dev/null 2>&1
	if ! docker run -d --name "$tag" -e POSTGRES_PASSWORD=pw -e "LD_LIBRARY_PATH=$ldpath" "${args[@]}" "$pg_image" \
		postgres "$@" >/dev/null || ! why=$(extimg_wait "$tag"); then
		result failed "server did not start: $(docker logs "$tag" 2>&1 | grep -m1 -E 'FATAL|ERROR')"
		status=1; echo "failed: $name@$version (server)"; continue
	fi
	if why=$(extimg_smoke "$tag" "tests/smoke/$name.sql"); then
		result passed ""; echo "passed: $name@$version"
	else
		result failed "$(tr '\t\n' '  ' <<<"$why" | sed 's/ *$//')"; status=1; echo "failed: $name@$version: $why"
	fi
	docker rm -f "$tag" >/dev/null 2>&1
	# Other versions of the same extension must not see this one's volume.
	docker volume rm -f "$(volume_name "$name@$version")" >/dev/null 2>&1
done <"$tmp/cells"
mv "$tmp/results" "$out"
echo "matrix-images: $(grep -c $'\tpassed\t' "$out") passed, $(grep -vc $'\tpassed\t' "$out") not passed ($out)"
exit $status
