#!/bin/bash
# Bad input gives one clear line naming what failed and what to do, a
# non-zero exit, and no partial file in the cache or the output.
set -u
. "$(dirname "$0")/lib/tap.sh"

data=$(data_copy)
cache=$(cache_copy)
outdir=$(mktemp -d)
trap 'rm -rf "$data" "$cache" "$outdir"' EXIT
export PGIMG_DATA_DIR="$data"

# expect NAME STATUS REGEX CMD...: exit status and a one-line message.
expect() {
	local name=$1 want=$2 re=$3; shift 3
	local errf=$outdir/stderr rc
	"$@" >/dev/null 2>"$errf"
	rc=$?
	local last
	last=$(grep '^pgimg: ' "$errf" | tail -1)
	if [ "$rc" -eq "$want" ] && [[ "$last" =~ $re ]]; then
		pass "$name"
	else
		fail "$name" "exit $rc (want $want)" "stderr: $(tail -3 "$errf")"
	fi
}
p() { "$PGIMG" --cache-dir "$cache" "$@"; }

expect "usage: no argument" 2 'expected one image' p build
expect "usage: unknown option" 2 'unknown option' p build --frobnicate postgres-18
expect "unknown command" 2 'unknown command .frob.' p frob
expect "unknown major lists the known ones" 1 '13.*15.*17.*18' p build postgres-99
expect "unknown minor lists the pinned ones" 1 '15\.18' p build postgres-15.99
expect "jit with a version says to write jit" 1 'jit@19.: the jit layer has no versions.*write .jit.' p build postgres-18 --with jit@19 -o "$outdir/jit.tar"
for slice in 0/3 4/3 x 1/0; do
	expect "list --slice $slice is a usage error" 2 "slice: .$slice. is not a slice: write I/N" p list --extensions --slice "$slice"
done
expect "a typo in --with fails the plan as it would the build" 1 'pgvectr' p build postgres-18 --with pgvectr --plan
expect "an unknown platform lists the known ones" 2 'unknown platform .linux/s390x.; use linux/amd64, linux/arm64 or both, comma-separated' p build postgres-18 --platform linux/s390x
expect "a platform named twice is a usage error" 2 'platform linux/arm64 given twice' p build postgres-18 --platform linux/arm64,linux/amd64,linux/arm64
expect "an image index refuses --plan" 2 '--plan takes one platform' p build postgres-18 --platform linux/amd64,linux/arm64 --plan
expect "an image index refuses disk images" 2 'disk images are amd64 only' p build postgres-18 --platform linux/amd64,linux/arm64 --format disk
expect "arm64 refuses jit for now" 1 'the jit layer is not built for arm64 yet' p build postgres-18 --platform linux/arm64 --with jit --plan
expect "arm64 refuses a Debian build with no arm64 .deb pinned, naming the field" 1 'extension .pldebugger@1.5.: no Debian arm64 build for PostgreSQL 15 is pinned; add it to debs_arm64' p build postgres-15 --platform linux/arm64 --with pldebugger --plan
expect "push: an unknown platform lists the known ones" 2 'push: unknown platform .linux/s390x.; use linux/amd64, linux/arm64 or both' p push --platform linux/s390x postgres-18 127.0.0.1:1/pgimg/postgres:18
printf 'not an image' > "$outdir/image.tar"
expect "push: --platform with an image file says it goes with postgres-MAJOR" 2 'push: --platform goes with postgres-MAJOR, which is built for it; an image file or the cache is pushed with the platforms it has' p push --platform linux/arm64 "$outdir/image.tar" 127.0.0.1:1/pgimg/postgres:18
expect "push: --platform with --cache is refused the same way" 2 'push: --platform goes with postgres-MAJOR' p push --cache --platform linux/arm64 127.0.0.1:1/pgimg/cache:main
expect "arm64 refuses an extension it cannot cross-build, naming it" 1 'extension .mysql_fdw. is not built for arm64 yet: its build package .libmariadb-dev. is not in set .build. of the cross toolchain.s lock' p build postgres-18 --platform linux/arm64 --with mysql_fdw --plan
expect "test: an unknown platform is a usage error" 2 'test: unknown platform .linux/arm.; use linux/amd64 or linux/arm64' p test postgres-18 --platform linux/arm
expect "migration-test: two platforms are a usage error" 2 'migration-test: unknown platform .linux/amd64,linux/arm64.' p migration-test 15 18 pg_upgrade --platform linux/amd64,linux/arm64
# Without qemu-aarch64 in binfmt_misc an arm64 image cannot run: refused
# before anything is built (arm64.sh runs them where it is registered).
if grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; then
	echo "# qemu-aarch64 is registered here: the refusals without it are checked by the unit tests only"
else
	expect "test --platform linux/arm64 without qemu says how to register it" 1 'test --platform linux/arm64: linux/arm64 images run here only through qemu-user.*update-binfmts --enable qemu-aarch64' p test postgres-18 --platform linux/arm64
	expect "migration-test --platform linux/arm64 without qemu says how to register it" 1 'linux/arm64 images run here only through qemu-user' p migration-test 15 18 pg_upgrade --platform linux/arm64
fi
expect "arm64 refuses disk images" 2 'disk images are amd64 only' p build postgres-18 --platform linux/arm64 --format disk

# pgimg matrix --merge: a matrix's own tested cells read back give it
# unchanged; a result file replaces its cell; a table it did not write is refused.
p matrix --merge "$ROOT/docs/extensions.md" >"$outdir/matrix.md" 2>"$outdir/stderr"
p matrix --merge "$outdir/matrix.md" >"$outdir/again.md" 2>"$outdir/stderr"
same() { grep -q "✅ from source" "$outdir/matrix.md" && cmp -s "$outdir/matrix.md" "$outdir/again.md"; }
ok "matrix --merge of the matrix alone gives it back" same
printf '17\t17.11\tpg_dirtyread\t2.7\tsource\tfailed\tERROR:  injected\n' >"$outdir/r.tsv"
p matrix --merge "$ROOT/docs/extensions.md" "$outdir/r.tsv" >"$outdir/matrix.md" 2>"$outdir/stderr"
replaced() { grep -q '^| pg_dirtyread | 2.7 |.* ❌ test fails: ERROR:  injected |' "$outdir/matrix.md"; }
ok "matrix --merge: a result replaces its cell" replaced
printf '| extension | version | 17 | eighteen |\n' >"$outdir/bad.md"
expect "matrix --merge of a table with a column not a major" 1 'column .eighteen., not a major' p matrix --merge "$outdir/bad.md"

cp "$data/versions/15.json" "$outdir/15.json.orig"
printf '{ "name": "postgres", ' > "$data/versions/15.json"
expect "malformed recipe names file and line" 1 'versions/15\.json.*line' p build postgres-15
cp "$outdir/15.json.orig" "$data/versions/15.json"

# A checksum that does not match what the mirrors serve.
sed -i 's/"sha256": *"[0-9a-f]*"/"sha256": "0000000000000000000000000000000000000000000000000000000000000000"/' "$data/versions/13.json"
expect "checksum mismatch" 1 'sha256 mismatch' p build postgres-13
no_bad_file() { [ ! -e "$cache/downloads/sha256/0000000000000000000000000000000000000000000000000000000000000000" ] && [ -z "$(temps_in "$TEST_CACHE/downloads")" ]; }
ok "no file kept from a mismatching download" no_bad_file
cp "$ROOT/versions/13.json" "$data/versions/13.json"

# Every mirror dead (nothing listens on port 9 of loopback).
python3 - "$data/versions/17.json" <<'PY'
import json, sys
p = sys.argv[1]; r = json.load(open(p))
for v in r["versions"].values():
    v["urls"] = ["http://127.0.0.1:9/a.tar.bz2", "http://127.0.0.1:9/b.tar.bz2"]
    v["sha256"] = "1" * 64
json.dump(r, open(p, "w"), indent=2)
PY
expect "every mirror down" 1 'mirrors failed' p build postgres-17
cp "$ROOT/versions/17.json" "$data/versions/17.json"

# A package the lock does not have.
python3 - "$data/versions/18.json" <<'PY'
import json, sys
p = sys.argv[1]; r = json.load(open(p))
r["build_packages"] = ["no-such-package-pgimg"]
json.dump(r, open(p, "w"), indent=2)
PY
expect "a package missing from the lock" 1 'no-such-package-pgimg.*pgimg lock' p build postgres-18
cp "$ROOT/versions/18.json" "$data/versions/18.json"

# A lock that names a package it does not pin.
python3 - "$data/lock/trixie-amd64.lock.json" <<'PY'
import json, sys
p = sys.argv[1]; l = json.load(open(p))
l["packages"] = [x for x in l["packages"] if x["name"] != "gcc"]
json.dump(l, open(p, "w"), indent=2)
PY
expect "a .deb missing from the lock" 1 'gcc' p build postgres-18
cp "$ROOT/lock/trixie-amd64.lock.json" "$data/lock/trixie-amd64.lock.json"

# A build that fails: configure cannot find what it is asked for.  The
# build root and source come from the shared test cache's downloads.
python3 - "$data/versions/15.json" <<'PY'
import json, sys
p = sys.argv[1]; r = json.load(open(p))
r["configure"].append("--with-python")
json.dump(r, open(p, "w"), indent=2)
PY
p build postgres-15 -o "$outdir/x.tar" >/dev/null 2>"$outdir/build-fail"
rc=$?
fails() { [ "$rc" -eq 1 ] && grep -q 'failed with exit code' "$outdir/build-fail" && grep -q 'last lines of' "$outdir/build-fail"; }
ok "a failing build says so, names its log and prints its last lines" fails
names_error() { grep -q 'failed with exit code [0-9]*: .*configure: error: .*Python; log: ' "$outdir/build-fail"; }
ok "a failing build's message names the error line of its log" names_error
log_kept() { ls "$cache"/logs/postgres-15.*.log >/dev/null 2>&1; }
ok "the failed build's log is kept" log_kept
no_out() { [ ! -e "$outdir/x.tar" ] && [ -z "$(temps_in "$cache")" ] && [ -z "$(ls -A "$cache/work" 2>/dev/null)" ]; }
ok "a failed build leaves no image and no temporary file" no_out

# Ctrl-C in the middle of a build (of the good recipe again).
cp "$ROOT/versions/15.json" "$data/versions/15.json"
rm -f "$cache"/logs/postgres-15.*.log
"$PGIMG" --cache-dir "$cache" build postgres-15 -o "$outdir/y.tar" >/dev/null 2>"$outdir/int" &
pid=$!
for _ in $(seq 1 600); do
	grep -qs 'checking' "$cache"/logs/postgres-15.*.log && break
	sleep 0.5
done
# The build's own processes (configure among them), not other builds'
# that may run on the same machine.
tree() { local c; for c in $(pgrep -P "$1"); do echo "$c"; tree "$c"; done; }
mine=$(tree "$pid")
seen=$(for q in $mine; do tr '\0' ' ' <"/proc/$q/cmdline" 2>/dev/null; echo; done)
kill -INT "$pid"
wait "$pid"
rc=$?
interrupted() { [ "$rc" -eq 130 ] || { echo "#   exit $rc: $(tail -2 "$outdir/int")"; false; }; }
ok "Ctrl-C stops the build with status 130" interrupted
sleep 1
clean() { [ ! -e "$outdir/y.tar" ] && [ -z "$(temps_in "$cache")" ] && [ -z "$(ls -A "$cache/work" 2>/dev/null)" ]; }
ok "Ctrl-C leaves no partial file" clean
no_proc() {
	grep -q 'configure --prefix=/usr/lib/postgresql' <<<"$seen" || { echo "#   configure was not among the build's processes"; return 1; }
	for q in $mine; do [ ! -d "/proc/$q" ] || { echo "#   left: $q $(tr '\0' ' ' <"/proc/$q/cmdline")"; return 1; }; done
}
ok "Ctrl-C leaves no build process" no_proc
finish
