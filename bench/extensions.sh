#!/bin/bash
# Extension builds, measured in one run (see docs/performance.md):
#  1. An image of 30 extensions: a cold build of their layers against
#     editing one recipe and rebuilding: how many layers are rebuilt,
#     and the time of each.
#  2. Two independent extension builds on the cores there are: at the
#     same time against one after the other (target: at most 0.6).
#  3. The smoke tests of the default set on one major, container start
#     included.
# PostgreSQL itself comes from the cache (built first when missing); the
# extensions' layers are made new for each measurement by a unique
# make argument, so nothing measured is a cache hit.
set -eu
cd "$(dirname "$0")/.."
m=${1:-17}
cache=${PGIMG_BENCH_CACHE:-build/test-cache}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
make -s pgimg
cp -r versions extensions images lock image "$work/"
mkdir -p "$work/tests" && cp -r tests/smoke "$work/tests/"
p() { PGIMG_DATA_DIR="$work" ./pgimg -q --cache-dir "$cache" "$@"; }
p build "postgres-$m" -o "$work/base.tar"           # PostgreSQL, cached after the first run
now() { date +%s.%N; }
# Give the named recipes a new layer key (a make argument that changes nothing).
touch_recipes() {
	local tag=$1; shift
	python3 - "$work/extensions" "$tag" "$@" <<'PY'
import json, sys
d, tag, names = sys.argv[1], sys.argv[2], sys.argv[3:]
for n in names:
    p = "%s/%s.json" % (d, n); r = json.load(open(p))
    r["make_args"] = [a for a in r.get("make_args", []) if not a.startswith("PGIMG_BENCH=")] + ["PGIMG_BENCH=" + tag]
    json.dump(r, open(p, "w"), indent=2)
PY
}
# 30 extensions that build from source or Debian's build on this major.
thirty=$(./pgimg list --extensions --json | python3 -c '
import json, sys
m = sys.argv[1]
heavy = {"postgis", "mobilitydb", "timescaledb", "pgrouting", "plpython3u", "pltcl", "plperl", "pointcloud"}
names = [r["name"] for r in json.load(sys.stdin) if r["name"] not in heavy
         and any(m in v["default_for"] for v in r["versions"])]
print(",".join(names[:30]))' "$m")
n=$(echo "$thirty" | tr ',' '\n' | wc -l)
tag=$(date +%s%N)
touch_recipes "$tag" $(echo "$thirty" | tr ',' ' ')
s=$(now); p build "postgres-$m" --with "$thirty" -o "$work/a.tar" --json > "$work/a.json"; e=$(now)
cold=$(echo "$e - $s" | bc)
edited=${thirty%%,*}
touch_recipes "$tag-edited" "$edited"
s=$(now); p build "postgres-$m" --with "$thirty" -o "$work/b.tar" --json > "$work/b.json"; e=$(now)
warm=$(echo "$e - $s" | bc)
rebuilt=$(python3 -c 'import json,sys; print(" ".join(l["name"] for l in json.load(open(sys.argv[1]))["layers"] if l["built"]))' "$work/b.json")
echo "image of $n extensions on $m: cold build of their layers ${cold} s; after editing $edited's recipe ${warm} s (ratio $(echo "scale=3; $warm / $cold" | bc)); rebuilt: $rebuilt"

# Two independent builds: in parallel (one pgimg, two workers) and serially.
pair="pgsphere,pglogical"
tag=$(date +%s%N)
touch_recipes "$tag-s" pgsphere pglogical
s=$(now); p build "postgres-$m" --with pgsphere -o "$work/c.tar"; p build "postgres-$m" --with pglogical -o "$work/c.tar"; e=$(now)
serial=$(echo "$e - $s" | bc)
touch_recipes "$tag-p" pgsphere pglogical
s=$(now); p build "postgres-$m" --with "$pair" -o "$work/d.tar"; e=$(now)
parallel=$(echo "$e - $s" | bc)
echo "two independent extension builds ($pair) on $(nproc) cores: together ${parallel} s, one after the other ${serial} s; ratio $(echo "scale=3; $parallel / $serial" | bc) (target <= 0.6)"

# Smoke tests of the default set, container start included (layers warm).
p build "postgres-$m" --set default -o "$work/e.tar" >/dev/null
s=$(now); p test "postgres-$m" --set default > "$work/smoke.txt" || true; e=$(now)
echo "smoke tests of the default set on $m, container start included: $(echo "$e - $s" | bc) s ($(tail -1 "$work/smoke.txt"))"
