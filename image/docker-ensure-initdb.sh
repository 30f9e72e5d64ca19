#!/usr/bin/env bash
# Initializes PGDATA the way docker-entrypoint.sh does, then exits instead
# of running the server.  As in the official image it answers to two names:
#
#   docker-ensure-initdb.sh   e.g. as a Kubernetes init container: a no-op
#                             when the database is already initialized;
#   docker-enforce-initdb.sh  e.g. in CI: an error when it already is.
#
# It is also the example of how to reuse the entrypoint's functions by
# sourcing it.
#
# Adapted from docker-library/postgres's docker-ensure-initdb.sh:
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
set -Eeuo pipefail

source /usr/local/bin/docker-entrypoint.sh

# The arguments are the server's, as for docker-entrypoint.sh, whose
# functions expect "postgres" first.
if [ "$#" -eq 0 ] || [ "$1" != 'postgres' ]; then
	set -- postgres "$@"
fi

# the same steps as _main in docker-entrypoint.sh, without starting the server
docker_setup_env
docker_create_db_directories
if [ "$(id -u)" = '0' ]; then
	exec gosu postgres "$BASH_SOURCE" "$@"
fi
docker_verify_data_dir_owner

if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
	docker_init_empty_cluster "$@"
else
	self="$(basename "$0")"
	case "$self" in
		docker-ensure-initdb.sh)
			echo >&2 "$self: note: database already initialized in '$PGDATA'!"
			exit 0
			;;

		docker-enforce-initdb.sh)
			echo >&2 "$self: error: (unexpected) database found in '$PGDATA'!"
			exit 1
			;;

		*)
			echo >&2 "$self: error: unknown file name: $self"
			exit 99
			;;
	esac
fi
