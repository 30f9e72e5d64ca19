#!/bin/bash
# The full migration matrix, the second (long) migration command: every
# ordered pair of majors pgimg builds by pg_upgrade (copy mode) and by
# pg_dumpall, and every minor step it ships (the oldest pinned minor of a
# major to its default) by restart, all with the default extension set.
# Each run is `pgimg migration-test ... --results`; docs/upgrades.md is
# written from the results.  PGIMG_MAJORS="15 18" limits the majors;
# results of runs not redone are kept; PGIMG_CELLS="13:15:pg_upgrade ..."
# runs only those cells, and --doc only writes the page from the results.
# PGIMG_SET=full runs the pairs of majors with the whole catalogue
# (images/full.json, `--set full`) instead, by both methods, no minor
# steps, into build/migrations-full, and writes only the page's section
# on the full set (between its markers), with the extensions each run
# carried.  PGIMG_CACHE passes --cache-dir.
# Exits 1 when any cell fails; the page is written either way.
set -u
cd "$(dirname "$0")/.."
[ -x ./pgimg ] || make
set_name=${PGIMG_SET:-default}
case $set_name in
default) out=${PGIMG_MIGRATION_OUT:-build/migrations} ;;
full) out=${PGIMG_MIGRATION_OUT:-build/migrations-full} ;;
*) echo "PGIMG_SET=$set_name: only default and full are known (images/*.json)" >&2; exit 2 ;;
esac
cache=()
[ -n "${PGIMG_CACHE:-}" ] && cache=(--cache-dir "$PGIMG_CACHE")
majors=${PGIMG_MAJORS:-$(cd versions && ls *.json | sed 's/\.json$//' | sort -n)}
mkdir -p "$out"
./pgimg list --json > "$out/versions.json"
touch "$out/results.tsv"
status=0

# Drop earlier results of a cell before running it again.
run() { # old new method [options]
	local old=$1 new=$2 method=$3
	shift 3
	awk -F'\t' -v o="$old" -v n="$new" -v m="$method" '!(($1 == o || $1 ~ "^" o "\\.") && ($2 == n || $2 ~ "^" n "\\.") && $3 == m)' \
		"$out/results.tsv" > "$out/results.tmp" && mv "$out/results.tmp" "$out/results.tsv"
	echo "# $old -> $new by $method"
	if ! ./pgimg "${cache[@]}" migration-test "$old" "$new" "$method" --set "$set_name" --results "$out/results.tsv" "$@" \
		>"$out/$old-$new-$method.log" 2>&1; then
		status=1
	fi
	grep -E '^(ok|FAILED)' "$out/$old-$new-$method.log" || tail -1 "$out/$old-$new-$method.log"
}

if [ "${1:-}" = --doc ]; then
	:
elif [ -n "${PGIMG_CELLS:-}" ]; then
	for c in $PGIMG_CELLS; do
		IFS=: read -r a b method <<<"$c"
		run "$a" "$b" "$method"
	done
else
for a in $majors; do
	for b in $majors; do
		[ "$a" -lt "$b" ] || continue
		run "$a" "$b" pg_upgrade
		run "$a" "$b" pg_dumpall
	done
done
for m in $majors; do
	[ "$set_name" = full ] && break
	oldest=$(python3 -c 'import json,sys
for v in json.load(open(sys.argv[1])):
    if v["major"] == sys.argv[2]: print(v["versions"][-1])' "$out/versions.json" "$m")
	newest=$(python3 -c 'import json,sys
for v in json.load(open(sys.argv[1])):
    if v["major"] == sys.argv[2]: print(v["default_version"])' "$out/versions.json" "$m")
	[ -n "$oldest" ] && [ "$oldest" != "$newest" ] && run "$oldest" "$newest" restart
done
fi

if [ "$set_name" = full ]; then
	python3 tools/migration-full-doc.py "$out/results.tsv" "$majors" "$out/versions.json" docs/upgrades.md
	echo "docs/upgrades.md: the full set's section, $(wc -l < "$out/results.tsv") runs"
	exit $status
fi

python3 - "$out/results.tsv" "$out/versions.json" > docs/upgrades.md.tmp <<'PY' && mv docs/upgrades.md.tmp docs/upgrades.md
import json, subprocess, sys, time

rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
cells = {}
for r in rows:
    old, new, method, mode, result, secs, up, nrows, tables, updates, reason = (r + [""] * 15)[:11]
    cells[(old, new, method)] = dict(mode=mode, result=result, secs=float(secs or 0), up=float(up or 0),
                                     rows=int(nrows or 0), tables=int(tables or 0), updates=updates, reason=reason)

def cell(c):
    if c is None:
        return "not run"
    if c["result"] == "passed":
        return "passed: %s rows in %d tables, %.0f s (%.0f s the upgrade)" % (format(c["rows"], ","), c["tables"], c["secs"], c["up"])
    return "**failed**: %s" % c["reason"].replace("|", "\\|")[:300]

pairs = sorted({(o, n) for (o, n, m) in cells if m != "restart"}, key=lambda p: [float(x) for x in p])
minors = sorted({(o, n) for (o, n, m) in cells if m == "restart"}, key=lambda p: [float(x) for x in p])
failed = sum(1 for c in cells.values() if c["result"] != "passed")
print("# Upgrades: the migration matrix\n")
print("Written by `tools/migration-matrix.sh` from real runs of `pgimg migration-test` (%d runs, %d failed; last written %s)." % (
    len(cells), failed, time.strftime("%Y-%m-%d", time.gmtime())))
print("Every run creates an OLD cluster with the default extension set (`images/default.json`), loads")
print("`tests/prime.sql` and `tests/migrations/data.sql`, takes a fingerprint, upgrades, and compares")
print("the fingerprint of the NEW cluster ([migration-test.md](migration-test.md)). The row count is the rows")
print("hashed and compared, table by table.\n")
print("## Majors\n")
print("| OLD → NEW | pg_upgrade (copy) | pg_dumpall |")
print("|---|---|---|")
for o, n in pairs:
    print("| %s → %s | %s | %s |" % (o, n, cell(cells.get((o, n, "pg_upgrade"))), cell(cells.get((o, n, "pg_dumpall")))))
print("\n## Minor updates\n")
print("| OLD → NEW | restart (NEW's binaries on OLD's data) |")
print("|---|---|")
for o, n in minors:
    print("| %s → %s | %s |" % (o, n, cell(cells.get((o, n, "restart")))))
print("\n## Extension versions moved by the upgrades\n")
print("After pg_upgrade the installed extensions keep their old versions until `ALTER EXTENSION … UPDATE`;")
print("pgimg updates every one whose version differs in NEW and checks that none is left behind.\n")
print("| OLD → NEW | method | updated |")
print("|---|---|---|")
for (o, n, m), c in sorted(cells.items(), key=lambda kv: ([float(x) for x in kv[0][:2]], kv[0][2])):
    if c["updates"] not in ("", "-"):
        print("| %s → %s | %s | %s |" % (o, n, m, c["updates"]))
print()
# The section on the full set (PGIMG_SET=full) is kept as it was.
try:
    page = open("docs/upgrades.md").read()
    a, b = page.find("<!-- full set -->"), page.find("<!-- end of full set -->")
    if a >= 0 and b > a:
        print(page[a:b + len("<!-- end of full set -->")])
        print()
except OSError:
    pass
print("How a run works, what it compares and what it masks: [migration-test.md](migration-test.md).")
PY
echo "docs/upgrades.md: $(wc -l < "$out/results.tsv") runs"
exit $status
