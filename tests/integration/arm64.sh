#!/bin/bash
# arm64.sh - postgres-18 with set default cross-built for linux/arm64
# (docs/platforms.md): the image's config says arm64, `file` finds every
# ELF file of every layer aarch64 and none x86-64, each extension's
# module among them, pgtap's SQL too; and where the kernel runs aarch64
# programs through qemu-user-static (binfmt_misc, registered here when
# this user may), the image starts in the Docker Engine with --platform
# linux/arm64, version() names aarch64, pgcrypto loads, and each
# extension is created and answers one query; then `pgimg test` runs
# every smoke test of the set on it in pgimg's runtime.  With
# PGIMG_ARM64_MIGRATION=1 (tools/arm64-migration.sh), `pgimg
# migration-test 15 18 pg_upgrade --platform linux/arm64` also moves a
# cluster from an arm64 15 to the arm64 18 and must lose nothing: a
# cross build of 15 and a migration under qemu, about eight minutes,
# which `make test` leaves to that script.
# The layers come from the shared test cache after the first run (a
# cold cache costs a cross build of PostgreSQL 18).  Prints TAP;
# exits 77 with the reason when the images cannot be run (no binfmt, no
# Docker) and everything else passed.
set -u
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/containers.sh"

skip_unless_builds
command -v file >/dev/null || skip_all "file(1) is needed to tell the machine code of the image's files"

work=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-arm64-XXXXXX")
binfmt_ours=
cleanup() {
	ct_cleanup
	rm -rf "$work"
	[ -z "$binfmt_ours" ] || update-binfmts --disable qemu-aarch64 >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

tar=$work/pg18-arm64.tar
if ! "$PGIMG" --cache-dir "$TEST_CACHE" build postgres-18 --set default --platform linux/arm64 -o "$tar" 2>"$work/build.err"; then
	fail "postgres-18 with set default builds for linux/arm64" "$(tail -3 "$work/build.err")"
	finish
fi
pass "postgres-18 with set default builds for linux/arm64"
grep -q "leaving out" "$work/build.err" && fail "nothing of set default is left out for arm64" "$(grep "leaving out" "$work/build.err")" ||
	pass "nothing of set default is left out for arm64"

# The SBOM beside it names the arm64 .debs of the Debian-built extensions.
spdx=$tar.spdx.json
n_arm64=$(grep -o 'postgresql-18-[a-z0-9-]*_[^_"]*_arm64\.deb' "$spdx" | sort -u | wc -l)
if [ "$n_arm64" -ge 5 ] && ! grep -q '_amd64\.deb' "$spdx"; then pass "the SBOM names the extensions' arm64 .debs ($n_arm64)"
else fail "the SBOM names the extensions' arm64 .debs" "$n_arm64 arm64, $(grep -o '[^/"]*_amd64\.deb' "$spdx" | sort -u | head -3)"; fi

# The image's config and layers, as the tarball's manifest names them.
mkdir -p "$work/img" "$work/root"
tar -xf "$tar" -C "$work/img"
config=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["Config"])' "$work/img/manifest.json")
arch=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(c["os"] + "/" + c["architecture"])' \
	"$work/img/$config")
if [ "$arch" = linux/arm64 ]; then pass "the image config says linux/arm64"; else fail "the image config says linux/arm64" "it says $arch"; fi
python3 -c 'import json,sys; [print(l) for l in json.load(open(sys.argv[1]))[0]["Layers"]]' "$work/img/manifest.json" |
	while read -r layer; do tar -xzf "$work/img/$layer" -C "$work/root" --no-same-owner --exclude='dev/*' 2>/dev/null || exit 1; done ||
	fail "the layers unpack"

# pgimg's own runtime runs arm64 images only through qemu, and says so
# where binfmt_misc has no entry for it.
binfmt_ready() { grep -q '^flags:.*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null && grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64; }
if ! binfmt_ready; then
	out=$("$PGIMG" --cache-dir "$TEST_CACHE" run -d --name "arm64-$$" "$tar" 2>&1) && "$PGIMG" --cache-dir "$TEST_CACHE" stop "arm64-$$" >/dev/null 2>&1
	case $out in
	*"linux/arm64 images run here only through qemu-user"*"update-binfmts --enable qemu-aarch64"*)
		pass "without binfmt, pgimg run refuses the arm64 image, saying how to register qemu" ;;
	*) fail "without binfmt, pgimg run refuses the arm64 image, saying how to register qemu" "$out" ;;
	esac
fi

# Every ELF file, by what file(1) says of it (not pgimg's own reader).
find "$work/root" -type f -print0 | xargs -0 file -N -F '|' | grep '| *ELF' >"$work/elf"
n_elf=$(wc -l <"$work/elf")
x86=$(grep -c 'x86-64' "$work/elf")
other=$(grep -vc 'ARM aarch64' "$work/elf")
echo "# $n_elf ELF files in the image"
if [ "$n_elf" -gt 100 ]; then pass "the image has ELF files ($n_elf)"; else fail "the image has ELF files" "only $n_elf"; fi
if [ "$x86" -eq 0 ]; then pass "no ELF file is x86-64"; else fail "no ELF file is x86-64" "$(grep 'x86-64' "$work/elf" | head -3)"; fi
if [ "$other" -eq 0 ]; then pass "every ELF file is aarch64"; else fail "every ELF file is aarch64" "$(grep -v 'ARM aarch64' "$work/elf" | head -3)"; fi
grep -q 'usr/lib/postgresql/18/bin/postgres|.*ARM aarch64' "$work/elf" && pass "the server is aarch64" ||
	fail "the server is aarch64" "$(grep 'bin/postgres|' "$work/elf")"
# Debian's arm64 builds, and pg_partman cross-built with PGXS.
for so in vector pg_cron pg_partman_bgw hypopg plpgsql_check wal2json; do
	grep -q "usr/lib/postgresql/18/lib/$so.so|.*ARM aarch64" "$work/elf" && pass "$so.so is aarch64" ||
		fail "$so.so is aarch64" "$(grep "/$so.so|" "$work/elf")"
done
# pgTAP, built with the cross lock's patch: SQL only.
ok "pgtap's SQL is in the image" test -s "$work/root/usr/lib/postgresql/18/share/extension/pgtap.control"

# Running it needs the kernel to hand aarch64 programs to qemu, with the
# F flag (the interpreter opened at registration, so that it works in a
# container's root).
if ! binfmt_ready && [ "$(id -u)" = 0 ] && command -v update-binfmts >/dev/null; then
	[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null
	# Registered for this test only: taken back when it ends.
	update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 && binfmt_ours=1
fi
reason=
if ! binfmt_ready; then
	reason="no qemu-aarch64 binfmt_misc entry with the F flag (install qemu-user-static and binfmt-support, as root)"
elif ! have_docker; then
	reason="no Docker Engine reachable (docker info failed)"
fi
if [ -n "$reason" ]; then
	[ "$TAP_FAIL" -eq 0 ] || finish
	echo "1..$TAP_N"
	echo "# SKIP running the image: $reason"
	exit 77
fi

# Loaded by its ID: a tag another build may move.
docker load -q -i "$tar" >/dev/null || { fail "docker load"; finish; }
CT_IMAGE="sha256:${config##*/}"
ok "the loaded image is arm64" test "$(docker image inspect -f '{{.Architecture}}' "$CT_IMAGE")" = arm64
CT_READY_TIMEOUT_S=${READY_TIMEOUT_S:-300}
if ct_run pg --platform linux/arm64 -e POSTGRES_PASSWORD=arm64-$$ "$CT_IMAGE" -c wal_level=logical && ct_wait_ready pg; then
	pass "initdb and the server start under qemu-aarch64"
	v=$(ct_sql pg "select version()")
	echo "# $v"
	case $v in
	*aarch64*) pass "version() names aarch64" ;;
	*) fail "version() names aarch64" "$v" ;;
	esac
	# A module that links the arm64 libcrypto, loaded by the server.
	d=$(ct_sql pg "create extension pgcrypto; select encode(digest('abc', 'sha256'), 'hex')")
	ok "pgcrypto loads and hashes" test "$d" = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
	# Each extension of the set, created and asked one thing.
	sql_is() { local got; got=$(ct_sql pg "$2"); [ "$got" = "$3" ] && pass "$1" || fail "$1" "got: $got"; }
	sql_is "vector: distance" "create extension vector; select '[1,2,3]'::vector <-> '[1,2,5]'::vector" 2
	sql_is "pg_cron: cron.schedule" "create extension pg_cron; select cron.schedule('arm64', '0 0 * * *', 'select 1') > 0" t
	sql_is "pg_partman: create_parent" "create schema partman; create extension pg_partman schema partman;
		create table p (t timestamptz not null) partition by range (t);
		select partman.create_parent('public.p', 't', '1 day')" t
	sql_is "hypopg: a hypothetical index" "create extension hypopg; create table h (a int);
		select count(*) from hypopg_create_index('create index on h (a)')" 1
	sql_is "plpgsql_check: finds the error" "create extension plpgsql_check;
		create function f() returns int language plpgsql as 'begin return nosuch; end';
		select count(*) > 0 from plpgsql_check_function('f()')" t
	# A slot is made outside a transaction that wrote, so one statement a call.
	ct_sql pg "create table w (a int primary key)" >/dev/null
	ct_sql pg "select 1 from pg_create_logical_replication_slot('arm64', 'wal2json')" >/dev/null
	ct_sql pg "insert into w values (7)" >/dev/null
	sql_is "wal2json: decodes a change" "select count(*) from pg_logical_slot_get_changes('arm64', null, null)
		where data like '%\"w\"%'" 1
	ct_sql pg "select pg_drop_replication_slot('arm64')" >/dev/null
	m=$(docker exec "$CT_PREFIX-pg" uname -m 2>&1)
	ok "the container's machine is aarch64" test "$m" = aarch64
else
	fail "initdb and the server start under qemu-aarch64"
fi
ct_cleanup

# (Where qemu runs it:) an image file must be of the platform migration-test is asked for.
out=$("$PGIMG" --cache-dir "$TEST_CACHE" migration-test "$tar" 18 pg_upgrade --platform linux/amd64 2>&1)
case $out in
*"is an image for linux/arm64, not --platform linux/amd64"*) pass "migration-test refuses an image of another platform" ;;
*) fail "migration-test refuses an image of another platform" "$out" ;;
esac

# Every smoke test of the set on the arm64 image, in pgimg's runtime
# under qemu: the same layers as above, from the cache.
t0=$SECONDS
"$PGIMG" --cache-dir "$TEST_CACHE" test postgres-18 --set default --platform linux/arm64 >"$work/test.out" 2>"$work/test.err"
rc=$?
echo "# pgimg test on arm64: $((SECONDS - t0)) s"
n_set=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["extensions"]))' "$(dirname "$0")/../../images/default.json")
if [ "$rc" -eq 0 ] && grep -q "^postgres-18\.[0-9]*: $n_set passed, 0 failed$" "$work/test.out"; then
	pass "pgimg test --platform linux/arm64 runs the set's $n_set smoke tests, all passed"
else
	fail "pgimg test --platform linux/arm64 runs the set's $n_set smoke tests, all passed" "exit $rc: $(tail -2 "$work/test.out") $(tail -3 "$work/test.err")"
fi

# A cluster of the arm64 15 moved to the arm64 18 by pg_upgrade, in
# pgimg's runtime under qemu: every row and fact compared.
[ "${PGIMG_ARM64_MIGRATION:-0}" = 1 ] || finish
t0=$SECONDS
"$PGIMG" --cache-dir "$TEST_CACHE" migration-test 15 18 pg_upgrade --platform linux/arm64 >"$work/mig.out" 2>"$work/mig.err"
rc=$?
echo "# migration-test 15 18 on arm64: $((SECONDS - t0)) s"
sed 's/^/# /' "$work/mig.out"
if [ "$rc" -eq 0 ] && grep -q '^ok 15\.[0-9]* -> 18\.[0-9]* pg_upgrade (copy): nothing lost' "$work/mig.out" &&
	grep -q 'verified: [1-9][0-9]* tables, [1-9][0-9]* rows' "$work/mig.out"; then
	pass "migration-test 15 -> 18 pg_upgrade on linux/arm64 loses nothing"
else
	fail "migration-test 15 -> 18 pg_upgrade on linux/arm64 loses nothing" "exit $rc: $(tail -3 "$work/mig.err")"
fi
finish
