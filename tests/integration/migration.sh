#!/bin/bash
# Migration tests: 15 -> 18 by pg_upgrade (copy and --link) and by
# pg_dumpall from an image tarball, one minor step by restart, an
# extension only OLD's major has and an extension fixture, and the
# bad inputs: a downgrade, no data set, an extension OLD has and NEW
# lacks, a failing pg_upgrade --check, a full disk, Ctrl-C mid-upgrade.
# The full matrix is tools/migration-matrix.sh.
set -u
. "$(dirname "$0")/lib/tap.sh"

OLD=${PGIMG_MIGRATION_OLD:-15}
NEW=${PGIMG_MIGRATION_NEW:-18}
MINOR_FROM=${PGIMG_MIGRATION_MINOR_FROM:-18.3}
MINOR_TO=${PGIMG_MIGRATION_MINOR_TO:-18.6}
p() { "$PGIMG" --cache-dir "$TEST_CACHE" "$@"; }
work=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-migration-XXXXXX")
cleanup() {
	mountpoint -q "$work/small" 2>/dev/null && umount "$work/small"
	mountpoint -q "$work/xfs" 2>/dev/null && umount "$work/xfs"
	rm -rf "$work"
}
trap cleanup EXIT

# A run passes when pgimg says so and its report names rows and tables.
migrate() {
	local name=$1; shift
	local out="$TEST_OUT/migration-$name.txt"
	if p migration-test "$@" >"$out" 2>"$out.err"; then
		if grep -q '^ok .*nothing lost' "$out" && grep -Eq 'verified: [1-9][0-9]* tables, [1-9][0-9]* rows' "$out"; then
			pass "$name: $(head -1 "$out"); $(grep -o 'verified: [0-9]* tables, [0-9]* rows' "$out")"
		else
			fail "$name: no report of what was verified" "$(cat "$out")"
		fi
	else
		fail "$name: exit $?" "$(tail -5 "$out.err")" "$(head -20 "$out")"
	fi
}

migrate "pg_upgrade-copy" "$OLD" "$NEW" pg_upgrade --keep "$work/copy"
# Copy mode leaves the old cluster as it was: pgimg says so, and the old
# cluster still starts with OLD's binaries (its control file is there).
check_unchanged() { grep -q 'old data directory: unchanged' "$TEST_OUT/migration-pg_upgrade-copy.txt"; }
ok "pg_upgrade copy mode left the old data directory unchanged" check_unchanged
ok "the old cluster of copy mode still has its control file" test -f "$work/copy/clusters/old/global/pg_control"
# Versions that differ between OLD and NEW were updated and checked.
check_updated() { grep -q 'extensions updated: .*vector 0.8.0 -> 0.8.7' "$TEST_OUT/migration-pg_upgrade-copy.txt"; }
ok "pg_upgrade updated pgvector 0.8.0 -> 0.8.7" check_updated
rm -rf "$work/copy"

migrate "pg_upgrade-link" "$OLD" "$NEW" pg_upgrade --link --jobs 2
check_link() { grep -q 'disabled by --link' "$TEST_OUT/migration-pg_upgrade-link.txt"; }
ok "pg_upgrade --link disables the old cluster as documented" check_link

# --clone where the filesystem has reflinks: an XFS image on a loop device.
if [ "$(id -u)" = 0 ] && command -v mkfs.xfs >/dev/null && truncate -s 1G "$work/xfs.img" \
	&& mkfs.xfs -q -m reflink=1 "$work/xfs.img" 2>/dev/null && mkdir -p "$work/xfs" \
	&& mount -o loop "$work/xfs.img" "$work/xfs" 2>/dev/null; then
	migrate "pg_upgrade-clone" "$OLD" "$NEW" pg_upgrade --clone --keep "$work/xfs/w"
	umount "$work/xfs"
else
	pass "# SKIP pg_upgrade --clone: no XFS on a loop device here (needs root, xfsprogs, loop devices)"
fi
rm -f "$work/xfs.img"
# Where the filesystem has none, --clone is refused with the reason.
refused_clone() { p migration-test "$OLD" "$NEW" pg_upgrade --clone --keep "$work/noclone" 2>&1 | grep -q -- '--clone needs a filesystem with reflinks'; }
if [ "$(stat -f -c %T "$work")" = "ext2/ext3" ]; then
	ok "--clone on ext4 is refused with the reason" refused_clone
fi
rm -rf "$work/noclone"

# An extension NEW's major cannot have (pgfincore: none for 18) is named,
# not created and not an error; another (semver) gets its fixture, whose
# rows and index query are compared, and is reported at NEW's version.
migrate "only-in-old" "postgres-$OLD --with pgtap,pgfincore,semver" "postgres-$NEW --with pgtap,semver" pg_upgrade
only_in_old() { grep -q 'not created in OLD: .*pgfincore (only in OLD: ' "$TEST_OUT/migration-only-in-old.txt" \
	&& grep -q 'extension fixtures loaded: semver' "$TEST_OUT/migration-only-in-old.txt" \
	&& grep -Eq 'extensions in NEW: .*semver [0-9.]+' "$TEST_OUT/migration-only-in-old.txt"; }
ok "pgfincore, which 18 cannot have, is named; semver's fixture is carried" only_in_old

# OLD from an image tarball (as one built by an earlier pgimg would be).
if p build "postgres-$OLD" --set default -o "$work/old.tar" >"$TEST_OUT/migration-old-build.txt" 2>&1; then
	migrate "pg_dumpall-from-tarball" "$work/old.tar" "$NEW" pg_dumpall
else
	fail "build postgres-$OLD as a tarball" "$(tail -3 "$TEST_OUT/migration-old-build.txt")"
fi
rm -f "$work/old.tar"

# NEW from an OCI layout directory, named as the README does (`-o pg17/`).
if p build "postgres-$MINOR_TO" --set default --format oci-dir -o "$work/new-oci/" >"$TEST_OUT/migration-new-build.txt" 2>&1; then
	if [ -f "$work/new-oci/oci-layout" ] && [ -f "$work/new-oci.receipt.json" ] && [ ! -e "$work/new-oci/.receipt.json" ]; then
		pass "-o DIR/ writes the layout in DIR and its receipt beside it"
	else
		fail "-o DIR/ writes the layout in DIR and its receipt beside it" "$(ls -a "$work" "$work/new-oci" 2>&1)"
	fi
	migrate "restart-$MINOR_FROM-$MINOR_TO" "$MINOR_FROM" "$work/new-oci" restart
else
	fail "build postgres-$MINOR_TO as an OCI layout" "$(tail -3 "$TEST_OUT/migration-new-build.txt")"
fi
rm -rf "$work/new-oci" "$work/new-oci.receipt.json"

# ---- Bad input: one clear line, a non-zero exit, OLD's data left intact.
refused() { # name, expected text, args...
	local name=$1 want=$2; shift 2
	local out="$TEST_OUT/migration-bad-$name.txt" rc
	p migration-test "$@" >"$out" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] && grep -q -- "$want" "$out"; then
		pass "$name is refused (exit $rc): $(grep -m1 -- "$want" "$out" | cut -c1-160)"
	else
		fail "$name: exit $rc, expected \`$want\`" "$(tail -5 "$out")"
	fi
}

refused "a downgrade" "refusing a downgrade" "$NEW" "$OLD" pg_upgrade
refused "restart across majors" "restart needs two minors of one major" "$OLD" "$NEW" restart
refused "no data set" "no data set to migrate" --data "$work/none.sql" "$OLD" "$NEW" pg_upgrade
refused "an extension OLD has and NEW lacks" "extension hypopg is installed in OLD" \
	"postgres-$OLD --with pgtap,hypopg" "postgres-$NEW --with pgtap" pg_upgrade

# pg_cron before 1.5 could live in public; 1.5 and later refuse it there, so
# such a cluster's dump does not restore into NEW: the run says why.
cat >"$work/cron-public.sql" <<'EOF'
DROP EXTENSION IF EXISTS pg_cron;
CREATE EXTENSION pg_cron SCHEMA public;
EOF
refused "a dump NEW cannot restore" 'must be installed in schema "pg_catalog"' \
	--data "$work/cron-public.sql" "$OLD" "$NEW" pg_dumpall

# A column of a reg* type stops pg_upgrade --check; its report is shown.
cat >"$work/regproc.sql" <<'EOF'
CREATE TABLE uses_regproc (id int PRIMARY KEY, f regproc);
INSERT INTO uses_regproc VALUES (1, 'now'::regproc);
EOF
refused "a failing pg_upgrade --check" "pg_upgrade --check failed" \
	--data "$work/regproc.sql" --keep "$work/check" "$OLD" "$NEW" pg_upgrade
check_report() { grep -q 'reg\* data types' "$TEST_OUT/migration-bad-a failing pg_upgrade --check.txt" \
	&& grep -q 'uses_regproc' "$TEST_OUT/migration-bad-a failing pg_upgrade --check.txt"; }
ok "the --check report names the check and the table" check_report
ok "the old cluster is intact after the failed check" test -f "$work/check/clusters/old/global/pg_control"
rm -rf "$work/check"

# A full disk: the work directory on a 48 MB tmpfs.
if [ "$(id -u)" = 0 ] && mkdir -p "$work/small" && mount -t tmpfs -o size=48m tmpfs "$work/small" 2>/dev/null; then
	refused "a full disk" "No space left on device" --keep "$work/small/w" "$OLD" "$NEW" pg_upgrade
	umount "$work/small"
else
	pass "# SKIP a full disk: mounting a small tmpfs needs root"
fi

# Ctrl-C while pg_upgrade copies: exit 130, nothing left running, and the
# old data directory checked unchanged.
out="$TEST_OUT/migration-interrupt.txt"
# pgimg itself in the background (not a function: $! must be its pid).
"$PGIMG" --cache-dir "$TEST_CACHE" migration-test --scale 2 --jobs 1 --keep "$work/int" "$OLD" "$NEW" pg_upgrade >"$out" 2>&1 &
pid=$!
for _ in $(seq 1500); do
	grep -q '^==> pg_upgrade (' "$work/int/out/migration.log" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.2
done
kill -INT "$pid" 2>/dev/null
wait "$pid"
rc=$?
check_interrupted() { [ "$rc" = 130 ] && grep -q 'interrupted; the old data directory is unchanged' "$out"; }
if check_interrupted; then
	pass "Ctrl-C during pg_upgrade: exit 130, $(grep -o 'the old data directory is unchanged ([0-9]* files compared)' "$out")"
else
	fail "Ctrl-C during pg_upgrade: exit $rc" "$(tail -5 "$out")"
fi
no_servers() { ! pgrep -f "postgres -D /var/lib/postgresql/(old|new)" >/dev/null; }
ok "no server is left running after Ctrl-C" no_servers
ok "no temporary files are left in the cache" test -z "$(temps_in "$TEST_CACHE/work")"

finish
