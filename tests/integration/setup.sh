#!/bin/bash
# The set-up steps (make deps, make test-deps) leave no service of theirs
# enabled or running, and no new process listening beyond loopback.
#
# First the steps themselves, as CI and a new user run them.  Then the
# mechanism on a real case: Debian's docker-registry, whose package
# enables a service listening on :5000 on every interface, is purged and
# installed again through the same step.
. "$(dirname "$0")/lib/tap.sh"
. "$ROOT/tools/apt.sh"

[ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null || skip_all "the set-up steps need root or sudo"

# Listening sockets beyond loopback, as "proto address:port process".
listeners() {
	ss -Hlntup 2>/dev/null | awk '{
		a = $5; if (a ~ /^127\./ || a ~ /^\[::1\]/ || a ~ /^::1:/) next
		print $1, a, $7 }' | sed 's/,fd=[0-9]*//g' | sort -u
}

# Units of PACKAGE that are enabled: systemd symlinks or sysv start links.
enabled_units() {
	for path in $(apt_units "$1"); do
		unit=${path##*/}
		case $path in
		/etc/init.d/*)
			ls /etc/rc[2-5].d/S??"$unit" >/dev/null 2>&1 && echo "$unit (sysv)" ;;
		*)
			[ "$(systemctl is-enabled "$unit" 2>/dev/null)" = enabled ] && echo "$unit" ;;
		esac
	done
}

# Processes of PACKAGE's programs that are running.
running_programs() {
	for f in $(dpkg-query -L "$1" 2>/dev/null | grep -E '^/usr/s?bin/'); do
		# The kernel keeps 15 characters of a process's name.
		[ -f "$f" ] && pgrep -x "$(printf %.15s "${f##*/}")" >/dev/null && echo "${f##*/}"
	done
}

deps_pkgs=$("$ROOT/tools/install-deps.sh" --list)
test_pkgs=$("$ROOT/tools/install-test-deps.sh" --list)
ok "install-deps.sh lists packages" test -n "$deps_pkgs"
ok "install-test-deps.sh lists docker-registry" grep -qx docker-registry <<<"$test_pkgs"

before=$(listeners)
ok "make deps runs" "$ROOT/tools/install-deps.sh"
ok "make test-deps runs" "$ROOT/tools/install-test-deps.sh"

# The build step installs nothing for the tests.
for p in docker-registry skopeo libcmocka-dev; do
	if grep -qx "$p" <<<"$deps_pkgs"; then fail "make deps leaves out $p" "it lists it"; else pass "make deps leaves out $p"; fi
done

check_quiet() { # LABEL PACKAGE...
	local label=$1 p bad=
	shift
	for p in "$@"; do
		e=$(enabled_units "$p")
		r=$(running_programs "$p")
		[ -z "$e" ] || bad="$bad $p: enabled $e;"
		[ -z "$r" ] || bad="$bad $p: running $r;"
	done
	if [ -z "$bad" ]; then pass "$label"; else fail "$label" "$bad"; fi
}

# What the set-up installed (dependencies included) is in its record; a
# listed package the machine had before (e2fsprogs, whose e2scrub timer
# Debian enables) is the administrator's, and the set-up only warns of it.
installed=$(sort -u "$PGIMG_SETUP_RECORD" 2>/dev/null \
	| while read -r p; do dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' && echo "$p"; done)
# shellcheck disable=SC2086
check_quiet "no unit of a package the set-up installed is enabled or running" $installed

after=$(listeners)
new=$(comm -13 <(echo "$before") <(echo "$after"))
if [ -z "$new" ]; then pass "no new listener beyond loopback"; else fail "no new listener beyond loopback" "$new"; fi

# The real case: docker-registry installed afresh by the set-up.
if [ -n "${PGIMG_SETUP_SKIP_REINSTALL:-}" ]; then
	pass "# SKIP reinstalling docker-registry (PGIMG_SETUP_SKIP_REINSTALL)"
else
	before=$(listeners)
	ok "docker-registry purged" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -q docker-registry >/dev/null 2>&1 \
		&& ! dpkg-query -W -f "\${Status}" docker-registry 2>/dev/null | grep -q "ok installed"'
	recorded=$(grep -cx docker-registry "$PGIMG_SETUP_RECORD" 2>/dev/null)
	# Without an administrator's policy-rc.d (this machine's is moved
	# aside meanwhile), so that the set-up's own denial is what is tried.
	policy=/usr/sbin/policy-rc.d
	[ ! -e $policy ] || mv $policy $policy.setup-test
	trap '[ ! -e $policy.setup-test ] || mv -f $policy.setup-test $policy' EXIT
	ok "make test-deps installs it again" "$ROOT/tools/install-test-deps.sh"
	ok "the set-up's policy-rc.d is gone" test ! -e $policy -a ! -e $policy.pgimg
	[ ! -e $policy.setup-test ] || mv -f $policy.setup-test $policy
	ok "docker-registry is installed" dpkg-query -W docker-registry
	check_quiet "its unit is neither enabled nor running" docker-registry
	ok "it is recorded as installed by the set-up" \
		test "$(grep -cx docker-registry "$PGIMG_SETUP_RECORD")" -gt "${recorded:-0}"
	# An upgrade runs the same postinst: it must keep the unit disabled.
	ok "a reinstall (as an upgrade) keeps it disabled" sh -c \
		'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall docker-registry >/dev/null 2>&1 \
		&& [ "$(systemctl is-enabled docker-registry.service 2>/dev/null)" != enabled ]'
	after=$(listeners)
	new=$(comm -13 <(echo "$before") <(echo "$after"))
	if [ -z "$new" ]; then pass "nothing listens on :5000 or elsewhere beyond loopback"; else fail "nothing new listens beyond loopback" "$new"; fi
fi
finish
