#!/usr/bin/env bash
# Entrypoint of pgimg's PostgreSQL images.
#
# It keeps the contract of the official image (docker-library/postgres):
# the same environment variables, the same /docker-entrypoint-initdb.d
# handling, the same messages and the same function names, so that scripts
# which source this file (docker-ensure-initdb.sh and users' own wrappers)
# keep working.  It differs where pgimg's runtime base differs: there is no
# nss_wrapper, mountpoint or perl, so an unknown uid gets a clear error
# instead of a faked passwd entry, and mount points are read straight from
# /proc/self/mountinfo.  listen_addresses='*' is written into the new
# cluster's postgresql.conf here rather than into postgresql.conf.sample at
# build time, so the image's files stay exactly as PostgreSQL installs them.
#
# What the image must provide:
#   - on PATH: bash, id, stat, mkdir, chmod, chown, find, ls, cat, sed,
#     getent, gunzip, xzcat, zstd, gosu, and PostgreSQL's initdb, pg_ctl,
#     postgres, psql (and basename, for docker-ensure-initdb.sh);
#   - a user "postgres" (uid 999) that owns /var/lib/postgresql and, below
#     18, the PGDATA directory, so that --user postgres (or 999) can
#     create and use the data directory on a fresh volume;
#   - no User in the image config: like the official image, the container
#     starts as root, this script hands PGDATA and the socket directory to
#     postgres and re-executes itself as postgres with gosu, so a
#     root-owned tmpfs, volume or bind mount works and the server never
#     runs as root;
#   - Env PGDATA and PG_MAJOR (18+ checks for data in the pre-18 places);
#   - /docker-entrypoint-initdb.d, readable by postgres.
# The socket directory is PostgreSQL's compiled-in one; the entrypoint
# creates /var/run/postgresql when it can, as the official one does.
#
# Adapted from docker-library/postgres's docker-entrypoint.sh:
#
# Copyright (c) 2014-2015, Docker PostgreSQL Authors (See AUTHORS)
#
# Permission is hereby granted, free of charge, to any person
# obtaining a copy of this software and associated documentation
# files (the "Software"), to deal in the Software without
# restriction, including without limitation the rights to use,
# copy, modify, merge, publish, distribute, sublicense, and/or sell
# copies of the Software, and to permit persons to whom the
# Software is furnished to do so, subject to the following
# conditions:
#
# The above copyright notice and this permission notice shall be
# included in all copies or substantial portions of the Software.
#
# THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
# EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES
# OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
# NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT
# HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY,
# WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
# FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR
# OTHER DEALINGS IN THE SOFTWARE.
set -Eeo pipefail
# Not -u: scripts in /docker-entrypoint-initdb.d are sourced into this shell
# and were written for the official image, which does not set it either.

# usage: file_env VAR [DEFAULT]
#    ie: file_env 'XYZ_DB_PASSWORD' 'example'
# Fills VAR from the file named by VAR_FILE (Docker and Kubernetes secrets).
file_env() {
	local var="$1"
	local fileVar="${var}_FILE"
	local def="${2:-}"
	if [ "${!var:-}" ] && [ "${!fileVar:-}" ]; then
		printf >&2 'error: both %s and %s are set (but are exclusive)\n' "$var" "$fileVar"
		exit 1
	fi
	local val="$def"
	if [ "${!var:-}" ]; then
		val="${!var}"
	elif [ "${!fileVar:-}" ]; then
		val="$(< "${!fileVar}")"
	fi
	export "$var"="$val"
	unset "$fileVar"
}

# True when this file is sourced by another script rather than run.
_is_sourced() {
	[ "${#FUNCNAME[@]}" -ge 2 ] \
		&& [ "${FUNCNAME[0]}" = '_is_sourced' ] \
		&& [ "${FUNCNAME[1]}" = 'source' ]
}

# True when PATH is a mount point.  The runtime base has neither
# util-linux's mountpoint nor awk; the fifth field of mountinfo is the mount
# point, and comparing it also catches bind mounts, which a device/inode
# comparison would miss.
_is_mount_point() {
	local target="$1" _id _parent _dev _root point _rest
	[ -r /proc/self/mountinfo ] || return 1
	while read -r _id _parent _dev _root point _rest; do
		if [ "$point" = "$target" ]; then
			return 0
		fi
	done < /proc/self/mountinfo
	return 1
}

# Creates PGDATA, the socket directory and the WAL directory; as root, hands
# them to the postgres user.  Failures to chmod are ignored here because
# docker_verify_data_dir_owner explains them once the final user runs.
docker_create_db_directories() {
	local user; user="$(id -u)"

	mkdir -p "$PGDATA" 2> /dev/null || :
	chmod 00700 "$PGDATA" 2> /dev/null || :

	# The image's own directory is fine even if this fails (read-only or
	# foreign-owned /var/run); PostgreSQL reports it if it cannot bind.
	mkdir -p /var/run/postgresql 2> /dev/null || :
	chmod 03775 /var/run/postgresql 2> /dev/null || :

	# Created before initdb runs so that it belongs to the right user.
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		mkdir -p "$POSTGRES_INITDB_WALDIR" 2> /dev/null || :
		if [ "$user" = '0' ]; then
			find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres '{}' +
		fi
		chmod 700 "$POSTGRES_INITDB_WALDIR" 2> /dev/null || :
	fi

	if [ "$user" = '0' ]; then
		find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
		find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
	fi
}

# PostgreSQL refuses a data directory that the server's uid does not own.
# The official image papers over some of these cases with nss_wrapper and
# lets initdb fail on the rest; here there is one message that says what to
# do.  Only called when not root (root has already chowned and stepped down).
docker_verify_data_dir_owner() {
	local uid gid; uid="$(id -u)"; gid="$(id -g)"
	local problem=
	if [ ! -d "$PGDATA" ]; then
		problem="it does not exist and could not be created (can this uid write to its parent?)"
	elif [ ! -O "$PGDATA" ]; then
		problem="it is owned by uid $(stat -c %u "$PGDATA")"
	elif [ ! -w "$PGDATA" ] || [ ! -x "$PGDATA" ]; then
		problem="it is not writable"
	fi
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ] && [ -z "$DATABASE_ALREADY_EXISTS" ] \
		&& [ -z "$problem" ] && [ ! -O "$POSTGRES_INITDB_WALDIR" ]; then
		problem="POSTGRES_INITDB_WALDIR ($POSTGRES_INITDB_WALDIR) is missing or not owned by it"
	fi
	[ -n "$problem" ] || return 0
	cat >&2 <<-EOE
		Error: PGDATA ($PGDATA) cannot be used by the current user
		       (uid $uid, gid $gid): $problem.

		       PostgreSQL only runs on a data directory owned by the user it runs as.
		       Either run the container as root (the default, without --user), which
		       hands the directory to uid 999 and runs PostgreSQL as that user, or as
		       the image's postgres user (uid 999) on a directory it owns; or, to run
		       as uid $uid, give the directory to it (e.g. "chown -R $uid:$gid <host
		       directory>" for a bind mount).
	EOE
	if [ -z "$DATABASE_ALREADY_EXISTS" ] && ! getent passwd "$uid" > /dev/null 2>&1; then
		cat >&2 <<-EOE
			       To create a new database, uid $uid also needs an entry in /etc/passwd
			       (initdb asks for one; this image has no nss_wrapper to fake it).
		EOE
	fi
	exit 1
}

# initdb looks the current uid up in /etc/passwd.  The official image fakes
# an entry with nss_wrapper; this base has no nss_wrapper, so say how to
# provide a real one instead of letting initdb fail with a bare
# "could not look up effective user ID".
docker_verify_passwd_entry() {
	local uid; uid="$(id -u)"
	if getent passwd "$uid" > /dev/null 2>&1; then
		return 0
	fi
	cat >&2 <<-EOE
		Error: the current uid ($uid) has no entry in /etc/passwd, and initdb needs
		       one to initialize a new database in $PGDATA.

		       This image has no nss_wrapper to fake the entry.  Either run as root
		       (the default) or as the image's postgres user (uid 999), or mount an
		       /etc/passwd that contains uid $uid (e.g. "-v /etc/passwd:/etc/passwd:ro"
		       when the host user owns the data directory).
		       Once the database exists, any uid that owns PGDATA can run it.
	EOE
	exit 1
}

# Runs initdb on the empty PGDATA.  Arguments come from POSTGRES_INITDB_ARGS
# (word-split and evaluated, as in the official image) and from the
# function's own arguments.
docker_init_database_dir() {
	docker_verify_passwd_entry

	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		set -- --waldir "$POSTGRES_INITDB_WALDIR" "$@"
	fi

	# --pwfile refuses an empty file, hence the "\n" after an empty password.
	eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"' "$@"'

	docker_setup_listen_addresses
	docker_setup_extension_settings
}

# An image built with extensions that must be preloaded (pg_cron,
# timescaledb ...) carries their settings in /usr/share/pgimg/postgresql.conf;
# a new cluster gets them at the end of its postgresql.conf, where a user's
# ALTER SYSTEM or -c still overrides them.
docker_setup_extension_settings() {
	local conf=/usr/share/pgimg/postgresql.conf
	if [ -s "$conf" ]; then
		{ echo; echo "# from $conf (the image's extensions)"; cat "$conf"; } >> "$PGDATA/postgresql.conf"
	fi
	# Servers that restrict logical decoding plugins (output_plugin_libraries)
	# must allow the ones the image ships, beside the built-in ones.
	local plugins=/usr/share/pgimg/output-plugins
	if [ -s "$plugins" ] && grep -q 'output_plugin_libraries' "$PGDATA/postgresql.conf"; then
		local list
		list=$(tr '\n' ' ' < "$plugins" | sed 's/ *$//; s/ /, /g')
		echo "output_plugin_libraries = 'pgoutput, test_decoding, $list'" >> "$PGDATA/postgresql.conf"
	fi
}

# The official image edits postgresql.conf.sample at build time so that new
# clusters listen on all addresses.  Doing the same edit on the new
# cluster's postgresql.conf gives the same file without touching the
# installed sample (and is a no-op if the sample already says '*').
docker_setup_listen_addresses() {
	sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "$PGDATA/postgresql.conf"
}

# Errors if POSTGRES_PASSWORD is empty and POSTGRES_HOST_AUTH_METHOD is not
# 'trust'; warns about long passwords on 13 and about 'trust'.
# Only meaningful while the database is not set up yet.
docker_verify_minimum_env() {
	case "${PG_MAJOR:-}" in
		13) # libpq before 14 truncates passwords read from PGPASSWORD
			if [ "${#POSTGRES_PASSWORD}" -ge 100 ]; then
				cat >&2 <<-'EOWARN'

					WARNING: The supplied POSTGRES_PASSWORD is 100+ characters.

					  This will not work if used via PGPASSWORD with "psql".

					  https://www.postgresql.org/message-id/flat/E1Rqxp2-0004Qt-PL%40wrigleys.postgresql.org (BUG #6412)
					  https://github.com/docker-library/postgres/issues/507

				EOWARN
			fi
			;;
	esac
	if [ -z "$POSTGRES_PASSWORD" ] && [ 'trust' != "$POSTGRES_HOST_AUTH_METHOD" ]; then
		# The - option suppresses leading tabs but *not* spaces.
		cat >&2 <<-'EOE'
			Error: Database is uninitialized and superuser password is not specified.
			       You must specify POSTGRES_PASSWORD to a non-empty value for the
			       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

			       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
			       connections without a password. This is *not* recommended.

			       See PostgreSQL documentation about "trust":
			       https://www.postgresql.org/docs/current/auth-trust.html
		EOE
		exit 1
	fi
	if [ 'trust' = "$POSTGRES_HOST_AUTH_METHOD" ]; then
		cat >&2 <<-'EOWARN'
			********************************************************************************
			WARNING: POSTGRES_HOST_AUTH_METHOD has been set to "trust". This will allow
			         anyone with access to the Postgres port to access your database without
			         a password, even if POSTGRES_PASSWORD is set. See PostgreSQL
			         documentation about "trust":
			         https://www.postgresql.org/docs/current/auth-trust.html
			         In Docker's default configuration, this is effectively any other
			         container on the same system.

			         It is not recommended to use POSTGRES_HOST_AUTH_METHOD=trust. Replace
			         it with "-e POSTGRES_PASSWORD=password" instead to set a password in
			         "docker run".
			********************************************************************************
		EOWARN
	fi
}

# 18 and later keep data in /var/lib/postgresql/MAJOR/docker.  Data found
# in the old places means the image was upgraded without pg_upgrade;
# initializing a new cluster next to it would look like lost data.
docker_error_old_databases() {
	if [ -n "${OLD_DATABASES[0]:-}" ]; then
		cat >&2 <<-EOE
			Error: in 18+, these Docker images are configured to store database data in a
			       format which is compatible with "pg_ctlcluster" (specifically, using
			       major-version-specific directory names).  This better reflects how
			       PostgreSQL itself works, and how upgrades are to be performed.

			       See also https://github.com/docker-library/postgres/pull/1259

			       Counter to that, there appears to be PostgreSQL data in:
			         ${OLD_DATABASES[*]}

			       This is usually the result of upgrading the Docker image without
			       upgrading the underlying database using "pg_upgrade" (which requires both
			       versions).

			       The suggested container configuration for 18+ is to place a single mount
			       at /var/lib/postgresql which will then place PostgreSQL data in a
			       subdirectory, allowing usage of "pg_upgrade --link" without mount point
			       boundary issues.

			       See https://github.com/docker-library/postgres/issues/37 for a (long)
			       discussion around this process, and suggestions for how to do so.
		EOE
		exit 1
	fi
}

# usage: docker_process_init_files [file [file [...]]]
#    ie: docker_process_init_files /always-initdb.d/*
# Runs initializer files by extension: *.sh executed if executable, else
# sourced; *.sql, *.sql.gz, *.sql.xz, *.sql.zst fed to psql.
docker_process_init_files() {
	# kept for initdb scripts that use "${psql[@]}"
	psql=( docker_process_sql )

	printf '\n'
	local f
	for f; do
		case "$f" in
			*.sh)
				if [ -x "$f" ]; then
					printf '%s: running %s\n' "$0" "$f"
					"$f"
				else
					printf '%s: sourcing %s\n' "$0" "$f"
					. "$f"
				fi
				;;
			*.sql)     printf '%s: running %s\n' "$0" "$f"; docker_process_sql -f "$f"; printf '\n' ;;
			*.sql.gz)  printf '%s: running %s\n' "$0" "$f"; gunzip -c "$f" | docker_process_sql; printf '\n' ;;
			*.sql.xz)  printf '%s: running %s\n' "$0" "$f"; xzcat "$f" | docker_process_sql; printf '\n' ;;
			*.sql.zst) printf '%s: running %s\n' "$0" "$f"; zstd -dc "$f" | docker_process_sql; printf '\n' ;;
			*)         printf '%s: ignoring %s\n' "$0" "$f" ;;
		esac
		printf '\n'
	done
}

# usage: docker_process_sql [psql-cli-args]
#    ie: docker_process_sql --dbname=mydb <<<'INSERT ...'
#    ie: docker_process_sql -f my-file.sql
# Runs SQL as POSTGRES_USER in POSTGRES_DB over the unix socket.
docker_process_sql() {
	local query_runner=( psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc )
	if [ -n "$POSTGRES_DB" ]; then
		query_runner+=( --dbname "$POSTGRES_DB" )
	fi

	# PGHOST and PGHOSTADDR are cleared so that the socket is used.
	PGHOST= PGHOSTADDR= "${query_runner[@]}" "$@"
}

# Creates POSTGRES_DB unless it exists (it does when it is "postgres").
docker_setup_db() {
	local dbAlreadyExists
	dbAlreadyExists="$(
		POSTGRES_DB= docker_process_sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<-'EOSQL'
			SELECT 1 FROM pg_database WHERE datname = :'db' ;
		EOSQL
	)"
	if [ -z "$dbAlreadyExists" ]; then
		POSTGRES_DB= docker_process_sql --dbname postgres --set db="$POSTGRES_DB" <<-'EOSQL'
			CREATE DATABASE :"db" ;
		EOSQL
		printf '\n'
	fi
}

# Reads the settings every other function uses; call it first.
docker_setup_env() {
	if [ -z "${PGDATA:-}" ]; then
		printf >&2 'error: PGDATA is not set; the image sets it, so an empty -e PGDATA= overrides it\n'
		exit 1
	fi

	file_env 'POSTGRES_PASSWORD'

	file_env 'POSTGRES_USER' 'postgres'
	file_env 'POSTGRES_DB' "$POSTGRES_USER"
	file_env 'POSTGRES_INITDB_ARGS'
	: "${POSTGRES_HOST_AUTH_METHOD:=}"

	declare -g DATABASE_ALREADY_EXISTS
	: "${DATABASE_ALREADY_EXISTS:=}"
	declare -ag OLD_DATABASES=()
	# PG_VERSION is what marks a data directory as initialized.
	if [ -s "$PGDATA/PG_VERSION" ]; then
		DATABASE_ALREADY_EXISTS='true'
	elif [ "$PGDATA" = "/var/lib/postgresql/${PG_MAJOR:-}/docker" ]; then
		local d
		for d in /var/lib/postgresql /var/lib/postgresql/data /var/lib/postgresql/*/docker; do
			if [ -s "$d/PG_VERSION" ]; then
				OLD_DATABASES+=( "$d" )
			fi
		done
		if [ "${#OLD_DATABASES[@]}" -eq 0 ] && [ "$PG_MAJOR" -ge 18 ] \
			&& _is_mount_point /var/lib/postgresql/data; then
			OLD_DATABASES+=( '/var/lib/postgresql/data (unused mount/volume)' )
		fi
	fi
}

# Appends the "host" rule for POSTGRES_HOST_AUTH_METHOD to pg_hba.conf.
# Without one, the method is the server's password_encryption (md5 on 13,
# scram-sha-256 from 14), asked from postgres itself so that a
# -c password_encryption=... in the arguments is honoured.
pg_setup_hba_conf() {
	if [ "$1" = 'postgres' ]; then
		shift
	fi
	local auth
	auth="$(postgres -C password_encryption "$@")"
	: "${POSTGRES_HOST_AUTH_METHOD:=$auth}"
	{
		printf '\n'
		if [ 'trust' = "$POSTGRES_HOST_AUTH_METHOD" ]; then
			printf '# warning trust is enabled for all connections\n'
			printf '# see https://www.postgresql.org/docs/%s/auth-trust.html\n' "${PG_MAJOR:-current}"
		fi
		printf 'host all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD"
	} >> "$PGDATA/pg_hba.conf"
}

# Starts a server that listens on the unix socket only, for the set-up
# steps; arguments are passed to postgres (through pg_ctl).
docker_temp_server_start() {
	if [ "$1" = 'postgres' ]; then
		shift
	fi

	set -- "$@" -c listen_addresses='' -p "${PGPORT:-5432}"

	# NOTIFY_SOCKET is cleared so that a supervisor is not told "ready"
	# by the temporary server.
	NOTIFY_SOCKET= \
	PGUSER="${PGUSER:-$POSTGRES_USER}" \
	pg_ctl -D "$PGDATA" \
		-o "$(printf '%q ' "$@")" \
		-w start
}

# Stops the temporary server.
docker_temp_server_stop() {
	PGUSER="${PGUSER:-postgres}" \
	pg_ctl -D "$PGDATA" -m fast -w stop
}

# True if the arguments ask postgres for something that exits at once
# (help, version, config description), which needs no data directory.
_pg_want_help() {
	local arg
	for arg; do
		case "$arg" in
			# -C is left out: it needs a data directory to answer.
			-'?'|--help|--describe-config|-V|--version)
				return 0
				;;
		esac
	done
	return 1
}

# Initialize an empty PGDATA: initdb, the password, POSTGRES_DB, then the
# files of /docker-entrypoint-initdb.d against a server on its socket only.
# Shared with docker-ensure-initdb.sh.
docker_init_empty_cluster() {
	docker_verify_minimum_env
	docker_error_old_databases

	# fail before initdb, not half-way, if the scripts are unreadable
	ls /docker-entrypoint-initdb.d/ > /dev/null

	docker_init_database_dir
	pg_setup_hba_conf "$@"

	# psql needs it when POSTGRES_INITDB_ARGS asks for password
	# authentication on the socket too (--auth-local=scram-sha-256)
	export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
	docker_temp_server_start "$@"

	docker_setup_db
	docker_process_init_files /docker-entrypoint-initdb.d/*

	docker_temp_server_stop
	unset PGPASSWORD
}

_main() {
	# if the first argument looks like a flag, it is meant for postgres
	if [ "${1:0:1}" = '-' ]; then
		set -- postgres "$@"
	fi

	if [ "$1" = 'postgres' ] && ! _pg_want_help "$@"; then
		docker_setup_env
		docker_create_db_directories
		if [ "$(id -u)" = '0' ]; then
			# run again, as postgres, with the same arguments
			exec gosu postgres "$BASH_SOURCE" "$@"
		fi
		docker_verify_data_dir_owner

		if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
			docker_init_empty_cluster "$@"

			cat <<-'EOM'

				PostgreSQL init process complete; ready for start up.

			EOM
		else
			cat <<-'EOM'

				PostgreSQL Database directory appears to contain a database; Skipping initialization

			EOM
		fi
	fi

	exec "$@"
}

if ! _is_sourced; then
	_main "$@"
fi
