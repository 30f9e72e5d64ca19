#!/bin/bash
# pg_upgrade --link against pg_dumpall | psql on the same database of
# about 1 GB and of about 4 GB (the data set at a larger --scale), and
# the fingerprint's speed.  Prints the times and the ratios of one run.
#
#   bench/upgrade.sh [OLD [NEW]]      default 15 18
#
# The upgrade time is the method with its follow-up steps (the new server
# started, statistics, extension updates); loading the data set and the
# fingerprints are timed apart.
set -eu
cd "$(dirname "$0")/.."
[ -x ./pgimg ] || make
OLD=${1:-15}
NEW=${2:-18}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

field() { awk -F'\t' -v f="$2" 'END { print $f }' "$1"; }
# One run: scale, method, options -> "upgrade_seconds bytes fingerprint_MB/s"
one() {
	local scale=$1 method=$2; shift 2
	./pgimg -q migration-test "$OLD" "$NEW" "$method" --scale "$scale" --results "$out/r.tsv" "$@" > "$out/run.txt"
	local mb fps
	mb=$(grep -o '[0-9.]* MB of data' "$out/run.txt" | cut -d' ' -f1)
	fps=$(grep -o '([0-9]* MB/s)' "$out/run.txt" | tr -d '()' | cut -d' ' -f1)
	echo "$(field "$out/r.tsv" 7) $mb $fps"
}

# The scale that gives about 1 GB, from the size at scale 1.
read -r _ mb1 _ < <(one 1 pg_upgrade --link)
scale1=$(python3 -c "import math,sys; print(max(1, math.ceil(1024 / float(sys.argv[1]))))" "$mb1")
scale4=$((4 * scale1))
echo "data set: ${mb1} MB at scale 1; 1 GB at scale $scale1, 4 GB at scale $scale4"

read -r link1 size1 fps1 < <(one "$scale1" pg_upgrade --link)
echo "pg_upgrade --link, ${size1} MB: ${link1} s (fingerprint ${fps1} MB/s)"
read -r dump1 _ _ < <(one "$scale1" pg_dumpall)
echo "pg_dumpall | psql, ${size1} MB: ${dump1} s"
read -r link4 size4 fps4 < <(one "$scale4" pg_upgrade --link)
echo "pg_upgrade --link, ${size4} MB: ${link4} s (fingerprint ${fps4} MB/s)"
read -r dump4 _ _ < <(one "$scale4" pg_dumpall)
echo "pg_dumpall | psql, ${size4} MB: ${dump4} s"

python3 - "$link1" "$dump1" "$link4" "$dump4" "$size1" "$size4" <<'PY'
import sys
l1, d1, l4, d4, s1, s4 = map(float, sys.argv[1:])
print("ratio pg_dumpall / pg_upgrade --link at %.0f MB: %.1f" % (s1, d1 / l1))
print("ratio pg_dumpall / pg_upgrade --link at %.0f MB: %.1f" % (s4, d4 / l4))
print("scaling %.0f MB -> %.0f MB (x%.1f data): pg_upgrade --link x%.2f, pg_dumpall x%.2f" % (s1, s4, s4 / s1, l4 / l1, d4 / d1))
PY
