# shellcheck shell=sh
# apt_install PACKAGE...: install the Debian packages this machine lacks,
# without starting or enabling any service they ship.
#
# Debian's maintainer scripts start a packaged daemon and enable it for
# every boot (docker-registry, for one, then listens on :5000 on every
# interface with no authentication).  pgimg's set-up only wants the
# programs: starts are denied while apt runs (policy-rc.d, the hook that
# invoke-rc.d and deb-systemd-invoke ask), and every unit of every package
# that this call installed, dependencies included, is disabled afterwards
# with systemctl (so that an upgrade keeps it
# disabled) and update-rc.d.  Tests start their own instances, on 127.0.0.1.
#
# What was installed is appended to $PGIMG_SETUP_RECORD, which
# tests/integration/setup.sh reads.  Sourced by tools/install-deps.sh and
# tools/install-test-deps.sh; needs root or sudo.

PGIMG_SETUP_RECORD=${PGIMG_SETUP_RECORD:-/var/lib/pgimg/setup-installed}
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

apt_installed() {
	dpkg-query -W -f '${binary:Package} ${Status}\n' 2>/dev/null \
		| awk '$NF == "installed" { sub(/:.*/, "", $1); print $1 }' | sort -u
}

# Units (systemd and sysv) a package ships.
apt_units() {
	dpkg-query -L "$1" 2>/dev/null | grep -E '^(/usr)?/lib/systemd/system/[^/]+\.(service|socket|timer|path)$|^/etc/init\.d/[^/]+$' || true
}

# Deny starts for the length of the install, unless a policy is already
# in place (the administrator's: left alone, and it may allow starts, so
# units are also stopped below).
apt_deny_starts() {
	apt_policy_ours=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\n# pgimg set-up: no service starts while it installs packages\nexit 101\n' \
			| $SUDO tee /usr/sbin/policy-rc.d.pgimg >/dev/null \
			&& $SUDO chmod 0755 /usr/sbin/policy-rc.d.pgimg \
			&& $SUDO mv /usr/sbin/policy-rc.d.pgimg /usr/sbin/policy-rc.d \
			&& apt_policy_ours=1
	fi
}

apt_allow_starts() {
	[ -z "${apt_policy_ours:-}" ] || $SUDO rm -f /usr/sbin/policy-rc.d
	apt_policy_ours=
}

# Disable (and stop) every unit of PACKAGE.  `systemctl disable` works
# without a running systemd too, and removes the SysV links of a unit
# that has both; a later upgrade of the package then finds it disabled
# and keeps it so (deb-systemd-helper's was-enabled is false).
apt_quiet_package() {
	for path in $(apt_units "$1"); do
		unit=${path##*/}
		case $path in
		/etc/init.d/*)
			$SUDO update-rc.d "$unit" disable >/dev/null 2>&1 || true
			[ -d /run/systemd/system ] || $SUDO "$path" stop >/dev/null 2>&1 || true
			;;
		*@.*) ;;
		*)
			if [ -d /run/systemd/system ]; then
				$SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
			else
				$SUDO systemctl disable "$unit" >/dev/null 2>&1 || true
			fi
			;;
		esac
	done
}

apt_install() {
	missing=
	for p in "$@"; do
		dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	before=$(mktemp) && after=$(mktemp) || return 1
	apt_installed >"$before"
	apt_deny_starts
	trap 'apt_allow_starts; rm -f "$before" "$after"' EXIT
	trap 'exit 130' INT TERM
	$SUDO apt-get update -q
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
	apt_installed >"$after"
	new=$(comm -13 "$before" "$after")
	for p in $new; do
		apt_quiet_package "$p"
	done
	apt_allow_starts
	$SUDO mkdir -p "${PGIMG_SETUP_RECORD%/*}"
	printf '%s\n' $new | $SUDO tee -a "$PGIMG_SETUP_RECORD" >/dev/null
	rm -f "$before" "$after"
	trap - EXIT INT TERM
}

# An enabled unit of a listed package that this set-up did not install
# (an earlier pgimg set-up enabled docker-registry's): say so, and how to
# turn it off; the administrator may want it, so it is not changed here.
apt_warn_enabled() {
	for p in "$@"; do
		for path in $(apt_units "$p"); do
			unit=${path##*/}
			case $path in /etc/init.d/*) continue ;; esac
			if [ "$(systemctl is-enabled "$unit" 2>/dev/null)" = enabled ]; then
				echo "warning: $unit (package $p) is enabled and starts at boot; if pgimg's set-up installed it, turn it off: systemctl disable --now $unit" >&2
			fi
		done
	done
}
