#!/bin/sh
# tools/fuzz.sh SECONDS [TARGET...] - run each libFuzzer target (all of
# tests/fuzz/fuzz_*.c by default) for SECONDS, one after the other, on
# its corpus in tests/fuzz/corpus/<target>/ (and its dictionary,
# tests/fuzz/<target>.dict, when there is one).  New interesting inputs go
# to a scratch corpus (not the repository); an input that crashes,
# leaks or times out is saved as tests/fuzz/corpus/<target>/crash-<sha1>
# so that `make fuzz-replay` replays it from then on.  Exits 1 when any
# target found something.  Needs clang and its libFuzzer
# (Debian: clang libclang-rt-14-dev).  docs/fuzzing.md has more.
set -eu
cd "$(dirname "$0")/.."

usage () {
	echo "usage: tools/fuzz.sh SECONDS [TARGET...]   e.g. tools/fuzz.sh 60 fuzz_lock" >&2
	exit 2
}
[ $# -ge 1 ] || usage
secs=$1
shift
case $secs in '' | *[!0-9]*) usage ;; esac

make -s fuzz CC="${CC:-clang}" >/dev/null

if [ $# -eq 0 ]; then
	set -- $(ls tests/fuzz/fuzz_*.c | sed 's|.*/||; s|\.c$||')
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
# Some targets unpack what they are fed (.debs, layers): as root,
# run them as nobody, so that an input that escapes their scratch
# directory cannot touch the machine.
run_as=
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	run_as="setpriv --reuid=65534 --regid=65534 --clear-groups --"
fi
# The archive seeds are made by scripts, not kept in the repository.
python3 tests/fuzz/seed-deb.py "$work/seeds" && python3 tests/fuzz/seed-image.py "$work/seeds" || exit 1
found=0
for t in "$@"; do
	t=${t%.c}
	t=${t##*/}
	bin=build-fuzz/fuzz/$t
	corpus=tests/fuzz/corpus/$t
	[ -x "$bin" ] || { echo "fuzz.sh: no target $t (tests/fuzz/$t.c)" >&2; exit 2; }
	mkdir -p "$corpus" "$work/$t" "$work/$t.art"
	[ -z "$run_as" ] || chown -R 65534:65534 "$work"
	echo "== $t: ${secs}s" >&2
	# One process, stopping at the first crash: a shared machine keeps
	# its other core, and what was found is saved before going on.
	dict=
	[ ! -f "tests/fuzz/$t.dict" ] || dict=-dict=tests/fuzz/$t.dict
	status=0
	hit=0
	TMPDIR=$work $run_as "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$work/$t.art/" $dict \
		"$work/$t" "$corpus" $([ ! -d "$work/seeds/$t" ] || echo "$work/seeds/$t") >"$work/$t.log" 2>&1 || status=$?
	grep -E '^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ +DONE)' "$work/$t.log" >&2 || true
	for a in "$work/$t.art"/*; do
		[ -f "$a" ] || continue
		kind=$(basename "$a" | sed 's/-.*//')
		case $kind in crash) dest=crash ;; *) dest=crash-$kind ;; esac
		dest="$corpus/$dest-$(sha1sum "$a" | cut -c1-12)"
		cp "$a" "$dest"
		echo "$t: FOUND $kind, saved as $dest" >&2
		grep -m1 -E 'ERROR: |runtime error:|SUMMARY:' "$work/$t.log" >&2 || true
		hit=1
	done
	if [ $status -ne 0 ] && [ $hit -eq 0 ]; then
		tail -20 "$work/$t.log" >&2
		hit=1
	fi
	[ $hit -eq 0 ] || found=1
done
exit $found
