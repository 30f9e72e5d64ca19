# Sourced by integration tests: TAP output and a closing tally.
#   ok "name" CMD...        passes when CMD succeeds
#   finish                  prints "NAME: N passed, N failed" and exits
TAP_N=0 TAP_PASS=0 TAP_FAIL=0
TAP_NAME=$(basename "${BASH_SOURCE[1]}" .sh)

pass() { TAP_N=$((TAP_N + 1)); TAP_PASS=$((TAP_PASS + 1)); echo "ok $TAP_N - $1"; }
fail() {
	TAP_N=$((TAP_N + 1)); TAP_FAIL=$((TAP_FAIL + 1)); echo "not ok $TAP_N - $1"
	shift; [ $# -gt 0 ] && printf '#   %s\n' "$@"
	return 0
}
ok() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name" "command failed: $*"; fi; }
skip_all() { echo "1..0 # SKIP $*"; exit 77; }
finish() {
	echo "1..$TAP_N"
	echo "$TAP_NAME: $TAP_PASS passed, $TAP_FAIL failed"
	[ "$TAP_FAIL" -eq 0 ] || exit 1
	exit 0
}

# The repository root, the binary and the shared test cache.  The cache
# persists between runs of one checkout (build/test-cache) but nothing
# depends on it: an empty one only makes the tests slower.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
PGIMG="$ROOT/pgimg"
TEST_CACHE=${PGIMG_TEST_CACHE:-$ROOT/build/test-cache}
TEST_OUT=${PGIMG_TEST_OUT:-$ROOT/build/test-out}
mkdir -p "$TEST_CACHE" "$TEST_OUT"

# Skip the whole test where pgimg cannot build: no binary, or no user
# namespaces for its sandbox.
skip_unless_builds() {
	local probe
	[ -x "$PGIMG" ] || skip_all "no pgimg binary at $PGIMG (make)"
	probe=$("$PGIMG" sandbox --root / -- true 2>&1) || case $probe in
		*"namespaces are unavailable"* | *"cannot create mount, pid"*) skip_all "${probe#pgimg: }" ;;
	esac
}

have_docker() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

# A private copy of the data directory (versions/, extensions/, images/,
# lock/, image/, tests/smoke/) that a test may break on purpose.
data_copy() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-data-XXXXXX")
	cp -r "$ROOT/versions" "$ROOT/extensions" "$ROOT/images" "$ROOT/lock" "$ROOT/image" "$d/"
	mkdir -p "$d/tests" && cp -r "$ROOT/tests/smoke" "$d/tests/"
	echo "$d"
}

# A fresh cache that shares only the content-addressed downloads of the
# test cache (they are verified on every use, so sharing them is safe).
cache_copy() {
	local c
	c=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-cache-XXXXXX")
	mkdir -p "$TEST_CACHE/downloads"
	ln -s "$TEST_CACHE/downloads" "$c/downloads"
	echo "$c"
}

# Leftover temporary files anywhere in a cache: must be none.
temps_in() { find "$1" -name '.tmp-*' 2>/dev/null; }
