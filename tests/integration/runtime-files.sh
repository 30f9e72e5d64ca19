#!/bin/bash
# The files of the image that PostgreSQL reads at run time, on each major
# (PGIMG_MAJORS: 15 and 18, every major in tools/majors.sh):
# one container per major, started once, then the system views and
# functions a user would query (time zones, extensions, pg_config, the
# hba file, the WAL directory, settings, ICU and libc collations) and the
# files Debian's maintainer scripts would have made (/etc/shadow, the
# linker cache, the time zone).  Prints TAP and a tally; 77 without Docker.
set -u
. "$(dirname "$0")/lib/tap.sh"
have_docker || skip_all "no Docker Engine"
. "$(dirname "$0")/lib/containers.sh"
trap ct_cleanup EXIT
trap 'exit 130' INT TERM

# sql_is NAME WANT SQL: the query on container NAME returns WANT.
sql_is() {
	local got
	got=$(ct_sql "$1" "$3")
	[ "$got" = "$2" ] && return 0
	echo "#   $3"
	echo "#   want: $2"
	echo "#   got:  $got"
	return 1
}

# Every account and group has a locked entry, and the files are 0640
# root:shadow as in Debian's images.
shadow_locked() {
	local c="$CT_PREFIX-$1"
	docker exec "$c" sh -c '
		set -e
		[ "$(stat -c "%a %U %G" /etc/shadow /etc/gshadow)" = "640 root shadow
640 root shadow" ]
		[ "$(cut -d: -f1 /etc/passwd)" = "$(cut -d: -f1 /etc/shadow)" ]
		[ "$(cut -d: -f1 /etc/group)" = "$(cut -d: -f1 /etc/gshadow)" ]
		! cut -d: -f2 /etc/shadow /etc/gshadow | grep -qvx "[*!]"' 2>&1
}

# The linker cache lists the libraries the server links.
ld_cache() {
	local out
	out=$(docker exec "$CT_PREFIX-$1" ldconfig -p 2>&1) || return 1
	grep -q 'libssl.so.3 ' <<<"$out" && grep -q 'libicuuc.so' <<<"$out" && grep -q 'libxml2.so' <<<"$out"
}

awk_is_mawk() {
	[ "$(docker exec "$CT_PREFIX-$1" sh -c 'readlink /usr/bin/awk; awk "BEGIN { print 1 + 1 }"')" = "mawk
2" ]
}

majors=${PGIMG_MAJORS:-15 18}
for m in $majors; do
	if ! ct_build "$m"; then
		fail "build and load postgres-$m --set default"; continue
	fi
	pass "build and load postgres-$m --set default"
	if [ "$m" -ge 18 ]; then pgdata=/var/lib/postgresql/$m/docker; else pgdata=/var/lib/postgresql/data; fi
	ct_run "pg$m" -e POSTGRES_PASSWORD=pgimg-Test-pw1 "$CT_IMAGE" || { fail "start postgres-$m"; continue; }
	if ! ct_wait_ready "pg$m"; then
		fail "postgres-$m becomes ready"; continue
	fi
	c="pg$m"
	ok "$m: pg_timezone_names lists the zones (no stat error on zoneinfo/localtime)" \
		sql_is "$c" t "SELECT count(*) > 300 AND bool_or(name = 'Europe/Berlin') FROM pg_timezone_names"
	ok "$m: pg_timezone_abbrevs lists abbreviations" \
		sql_is "$c" t "SELECT count(*) > 50 AND bool_or(abbrev = 'CEST') FROM pg_timezone_abbrevs"
	ok "$m: the server's time zone is the image's /etc/localtime, Etc/UTC" sql_is "$c" Etc/UTC "SHOW timezone"
	ok "$m: a conversion to Europe/Berlin uses the zone's summer time" \
		sql_is "$c" "2024-07-01 14:00:00" "SELECT (timestamptz '2024-07-01 12:00+00' AT TIME ZONE 'Europe/Berlin')::text"
	ok "$m: pg_available_extensions has contrib and the set's extensions" \
		sql_is "$c" 4 "SELECT count(*) FROM pg_available_extensions WHERE name IN ('plpgsql', 'pg_stat_statements', 'pgcrypto', 'vector')"
	ok "$m: CREATE EXTENSION pgcrypto works (its library loads)" \
		sql_is "$c" 64 "CREATE EXTENSION IF NOT EXISTS pgcrypto; SELECT length(encode(digest('x', 'sha256'), 'hex'))"
	ok "$m: pg_config names the image's binaries" \
		sql_is "$c" "/usr/lib/postgresql/$m/bin" "SELECT setting FROM pg_config WHERE name = 'BINDIR'"
	ok "$m: pg_hba_file_rules reads the hba file without errors" \
		sql_is "$c" "t|0" "SELECT count(*) > 0, count(error) FROM pg_hba_file_rules"
	ok "$m: pg_ls_waldir() lists WAL segments" sql_is "$c" t "SELECT count(*) > 0 FROM pg_ls_waldir()"
	ok "$m: pg_settings: data_directory is PGDATA, no setting is waiting for a restart" \
		sql_is "$c" "$pgdata|0" "SELECT current_setting('data_directory'), count(*) FILTER (WHERE pending_restart) FROM pg_settings"
	ok "$m: pg_file_settings reads postgresql.conf without errors" \
		sql_is "$c" 0 "SELECT count(error) FROM pg_file_settings"
	ok "$m: ICU collations: und-x-icu sorts a before B, and the ICU list was imported" \
		sql_is "$c" "t|t" "SELECT 'a' < 'B' COLLATE \"und-x-icu\", count(*) > 100 FROM pg_collation WHERE collprovider = 'i'"
	ok "$m: ICU en-x-icu orders accents after the base letter" \
		sql_is "$c" "e,é,f" "SELECT string_agg(x, ',' ORDER BY x COLLATE \"en-x-icu\") FROM unnest(ARRAY['f', 'é', 'e']) x"
	ok "$m: libc C.UTF-8: the cluster's locale, and upper() knows é" \
		sql_is "$c" "C.UTF-8|É" "SELECT datctype, upper('é' COLLATE \"C.utf8\") FROM pg_database WHERE datname = current_database()"
	ok "$m: /etc/shadow and /etc/gshadow are 0640 root:shadow, every entry locked" shadow_locked "$c"
	ok "$m: ldconfig -p reads the image's linker cache" ld_cache "$c"
	ok "$m: awk is there, as mawk" awk_is_mawk "$c"
	ok "$m: no postgres process runs as root" ct_server_not_root "$c"
	docker rm -f -v "$CT_PREFIX-$c" >/dev/null 2>&1
done
finish
