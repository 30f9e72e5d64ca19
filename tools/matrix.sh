#!/bin/bash
# The full extension matrix, the second (long) test command: every recipe
# and every pinned version on every major, built and smoke-tested in
# containers by `pgimg test`, then docs/extensions.md written from the
# results by `pgimg matrix`.  Per major, one image holds the default
# version of everything (images/full.json); the other versions go into
# further images, one version of each extension per image, and one more
# with the versions of each extension that has several, side by side
# (its updates checked, no cells).  From 18 on,
# each version is also tested as an extension image (tools/matrix-images.sh).  Exits 1 when
# any cell fails; the matrix is written either way.
#   PGIMG_MAJORS="17 18"          only these majors (the others' results in OUT are kept)
#   PGIMG_MATRIX_ONLY="a b@1.0"   only these extensions (every version) or versions, on
#                                 each major that supports them; their cells are merged
#                                 into docs/extensions.md (`pgimg matrix --merge`), every
#                                 other cell stays as it was
set -u
cd "$(dirname "$0")/.."
[ -x ./pgimg ] || make
out=${PGIMG_MATRIX_OUT:-build/matrix}
majors=${PGIMG_MAJORS:-$(cd versions && ls *.json | sed 's/\.json$//' | sort -n)}
# Results of majors not run this time are kept: PGIMG_MAJORS=17 redoes 17.
only=${PGIMG_MATRIX_ONLY:-}
mkdir -p "$out"
# A run of a few cells merges only its own results into the matrix.
[ -n "$only" ] && rm -f "$out"/r*.tsv
./pgimg list --extensions --json > "$out/recipes.json"
status=0
for m in $majors; do
	rm -f "$out/r$m-"*
	if [ -z "$only" ]; then
		echo "# postgres-$m: the default versions"
		./pgimg test "postgres-$m" --set full --results "$out/r$m-0.tsv" >"$out/r$m-0.log" 2>&1 || status=1
		tail -1 "$out/r$m-0.log"
	fi
	# Rank k: the k-th non-default version of each extension for this
	# major (with PGIMG_MATRIX_ONLY, the k-th of the versions asked for).
	# shellcheck disable=SC2086  # the items are words
	python3 - "$m" "$out/recipes.json" $only > "$out/others-$m.txt" <<'PY'
import json, sys
major, recipes, only = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3:]
ranks = []
for r in recipes:
    others = [v["version"] for v in r["versions"] if major in v["majors"]
              and (r["name"] in only or "%s@%s" % (r["name"], v["version"]) in only
                   if only else major not in v["default_for"])]
    for k, v in enumerate(others):
        while len(ranks) <= k:
            ranks.append([])
        ranks[k].append("%s@%s" % (r["name"], v))
for items in ranks:
    print(",".join(items))
PY
	k=1
	[ -n "$only" ] && k=0
	while read -r items; do
		echo "# postgres-$m: other versions ($items)"
		./pgimg test "postgres-$m" --with "$items" --results "$out/r$m-$k.tsv" >"$out/r$m-$k.log" 2>&1 || status=1
		tail -1 "$out/r$m-$k.log"
		k=$((k + 1))
	done < "$out/others-$m.txt"
	# Every version of each extension with several on this major, side by
	# side in one image: the updates between them (docs/extension-recipes.md).
	# They check modules, not cells: no --results.
	# shellcheck disable=SC2086  # the items are words
	side=$(python3 - "$m" "$out/recipes.json" $only <<'PY'
import json, sys
major, recipes, only = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3:]
items = []
for r in recipes:
    vs = [v["version"] for v in r["versions"] if major in v["majors"]]
    if len(vs) > 1 and (not only or r["name"] in only):
        items += ["%s@%s" % (r["name"], v) for v in vs]
print(",".join(items))
PY
)
	if [ -n "$side" ]; then
		echo "# postgres-$m: versions side by side ($side)"
		./pgimg test "postgres-$m" --with "$side" >"$out/r$m-side.log" 2>&1 || status=1
		tail -1 "$out/r$m-side.log"
	fi
	# From 18 on, each version as an extension image too (the "M image" column).
	if [ "$m" -ge 18 ]; then
		echo "# postgres-$m: extension images"
		# shellcheck disable=SC2086  # the items are words
		tools/matrix-images.sh "$m" "$out/r$m-image.tsv" $only >"$out/r$m-image.log" 2>&1 || status=1
		tail -1 "$out/r$m-image.log"
	fi
done
if [ -n "$only" ]; then
	./pgimg matrix -o docs/extensions.md --merge docs/extensions.md "$out"/r*.tsv
else
	./pgimg matrix -o docs/extensions.md "$out"/r*.tsv
fi
echo "matrix: docs/extensions.md: $(sed -n 's/^[0-9]* recipes; //p' docs/extensions.md)"
exit $status
