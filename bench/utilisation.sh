#!/bin/bash
# How busy extension builds keep the cores (see docs/performance.md):
# the CPU time of every build process (pgimg, its workers, the sandboxes
# and all they ran: user + sys of pgimg and its waited descendants) over
# wall time × cores, for one cold build of a set of extension layers,
# once with the shared jobserver turned off (PGIMG_JOBSERVER=0) and
# once with it.  Target: at least 0.85 for the full catalogue of a major.
#   bench/utilisation.sh [MAJOR [EXT,EXT,...]]
# Default: major 18 and every extension `pgimg list --extensions --major`
# lists for it.  PostgreSQL comes from the cache (built first when
# missing); a first build of the set fills the build roots, then each
# measured build gets new layer keys by a make argument that changes
# nothing (as bench/extensions.sh does), so no measured layer is a cache
# hit.  PGIMG_BENCH_MODES="off on" (the default) picks the runs.
set -eu
cd "$(dirname "$0")/.."
m=${1:-18}
cache=${PGIMG_BENCH_CACHE:-build/test-cache}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
make -s pgimg
cp -r versions extensions images lock image "$work/"
p() { PGIMG_DATA_DIR="$work" ./pgimg -q --cache-dir "$cache" "$@"; }
set_=${2:-$(./pgimg list --extensions --major "$m" | awk '{print $1}' | paste -sd,)}
n=$(echo "$set_" | tr ',' '\n' | wc -l)
cores=$(nproc)
p build "postgres-$m" --with "$set_" -o "$work/warm.tar"   # PostgreSQL and the build roots
# Give every recipe of the set a new layer key (a make argument that
# changes nothing) and build the set once, timed with its children.
measure() {
	local mode=$1 tag
	tag=$(date +%s%N)
	python3 - "$work/extensions" "$tag" $(echo "$set_" | tr ',' ' ') <<'PY'
import json, sys
d, tag, names = sys.argv[1], sys.argv[2], sys.argv[3:]
for n in names:
    p = "%s/%s.json" % (d, n); r = json.load(open(p))
    r["make_args"] = [a for a in r.get("make_args", []) if not a.startswith("PGIMG_BENCH=")] + ["PGIMG_BENCH=" + tag]
    json.dump(r, open(p, "w"), indent=2)
PY
	local js=1; [ "$mode" = off ] && js=0
	PGIMG_JOBSERVER=$js PGIMG_DATA_DIR="$work" python3 - "$cores" "$mode" ./pgimg -q --cache-dir "$cache" \
		build "postgres-$m" --with "$set_" -o "$work/$mode.tar" <<'PY'
import resource, subprocess, sys, time
cores, mode, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
t = time.monotonic()
rc = subprocess.call(argv)
wall = time.monotonic() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = ru.ru_utime + ru.ru_stime
if rc != 0:
    sys.exit("build failed (%d)" % rc)
print("jobserver %-3s: cpu %.1f s over wall %.1f s x %d cores: %.3f" % (mode, cpu, wall, cores, cpu / (wall * cores)))
PY
}
echo "cold build of $n extension layers on $m, $cores cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for mode in ${PGIMG_BENCH_MODES:-off on}; do
	measure "$mode"
done
