#!/bin/bash
# Two builds of one recipe in different cache directories, the second
# from an empty cache by an unprivileged user without any privilege: the
# layers and the image must be byte-identical.  The first is root's, in
# the suite's shared test cache: whatever build made its layers there
# (this run's build-images from an empty cache, or an earlier run with
# the same inputs), the fresh rootless build must give the same bytes.
# It is built here when the shared cache does not have it.
set -u
. "$(dirname "$0")/lib/tap.sh"

m=${PGIMG_REPRO_MAJOR:-15}
user=pgimg-test
[ "$(id -u)" -eq 0 ] || skip_all "needs root to create the unprivileged user $user"
if ! id "$user" >/dev/null 2>&1; then
	useradd --system --create-home --home-dir /var/tmp/$user --shell /bin/bash "$user" \
		|| skip_all "cannot create user $user"
fi
command -v setpriv >/dev/null || skip_all "setpriv (util-linux) missing"

work=$(mktemp -d /var/tmp/pgimg-repro-XXXXXX)
trap 'rm -rf "$work"' EXIT
# A copy of the checkout that the user owns, in another directory.
mkdir -p "$work/checkout" "$work/cache-b"
cp -r "$ROOT/versions" "$ROOT/lock" "$ROOT/image" "$ROOT/pgimg" "$work/checkout/"
chown -R "$user:" "$work/checkout" "$work/cache-b"
chmod 755 "$work"

as_user() {
	setpriv --reuid="$user" --regid="$user" --init-groups --reset-env -- \
		env HOME="/var/tmp/$user" PATH=/usr/bin:/bin "$@"
}

ok "the user is not root" as_user sh -c '[ "$(id -u)" -ne 0 ]'

# Build A: root, the shared test cache, from this checkout.
if "$PGIMG" --cache-dir "$TEST_CACHE" build "postgres-$m" -o "$work/a.tar" --json >"$work/a.json"; then
	pass "build of postgres-$m as root in the shared cache"
else
	fail "build of postgres-$m as root in the shared cache"
fi
# Build B: the unprivileged user, fresh cache, from the copy.
if as_user "$work/checkout/pgimg" --cache-dir "$work/cache-b" build "postgres-$m" \
	-o "$work/checkout/b.tar" --json >"$work/b.json"; then
	pass "clean build of postgres-$m as an unprivileged user (rootless)"
else
	fail "clean build of postgres-$m as an unprivileged user (rootless)"
fi
digest() { sed -n 's/.*"manifest":"\([^"]*\)".*/\1/p' "$1"; }
da=$(digest "$work/a.json") db=$(digest "$work/b.json")
same_digest() { [ -n "$da" ] && [ "$da" = "$db" ]; }
if same_digest; then pass "same image digest ($da)"; else fail "same image digest" "root: $da" "user: $db"; fi
for l in base postgres entrypoint; do
	la=$(grep -o "\"name\":\"$l\",\"digest\":\"[^\"]*\"" "$work/a.json")
	lb=$(grep -o "\"name\":\"$l\",\"digest\":\"[^\"]*\"" "$work/b.json")
	if [ -n "$la" ] && [ "$la" = "$lb" ]; then pass "same $l layer"; else fail "same $l layer" "$la" "$lb"; fi
done
ok "byte-identical image tarballs" cmp -s "$work/a.tar" "$work/checkout/b.tar"
nothing_left() { [ -z "$(temps_in "$TEST_CACHE")$(temps_in "$work/cache-b")" ]; }
ok "no temporary file left in either cache" nothing_left
finish
