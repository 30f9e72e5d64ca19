\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- Clusters are defined with SQL/MED. Their partitions point back at this
-- database through the server's own Unix socket (taken from
-- unix_socket_directories and port), so the local connection must be
-- allowed without a password for the current user (trust or peer).
BEGIN;
SELECT plan(9);

CREATE EXTENSION IF NOT EXISTS plproxy;
SELECT has_extension('plproxy');
SELECT is((SELECT count(*) FROM pg_foreign_data_wrapper WHERE fdwname = 'plproxy'), 1::bigint, 'the plproxy wrapper exists');

DO $$
DECLARE
    dsn text := format('dbname=%s host=%s port=%s',
        current_database(),
        trim(split_part(current_setting('unix_socket_directories'), ',', 1)),
        current_setting('port'));
BEGIN
    EXECUTE format('CREATE SERVER smoke_one FOREIGN DATA WRAPPER plproxy OPTIONS (connection_lifetime %L, p0 %L)',
        '60', dsn || ' application_name=smoke_p0');
    EXECUTE format('CREATE SERVER smoke_two FOREIGN DATA WRAPPER plproxy OPTIONS (p0 %L, p1 %L)',
        dsn || ' application_name=smoke_p0', dsn || ' application_name=smoke_p1');
END $$;
CREATE USER MAPPING FOR PUBLIC SERVER smoke_one;
CREATE USER MAPPING FOR PUBLIC SERVER smoke_two;

SELECT throws_ok($$CREATE SERVER smoke_bad FOREIGN DATA WRAPPER plproxy OPTIONS (p0 'dbname=x', p2 'dbname=y')$$,
    NULL, NULL, 'the validator rejects a cluster whose partitions are not p0..p(2^n-1)');

-- the remote side runs the SELECT given in the function
CREATE FUNCTION smoke_add(a integer, b integer) RETURNS integer LANGUAGE plproxy AS $$
    CLUSTER 'smoke_one';
    RUN ON 0;
    SELECT a + b AS smoke_add;
$$;
SELECT is(smoke_add(2, 40), 42, 'a function proxied to partition 0');

CREATE FUNCTION smoke_where() RETURNS SETOF text LANGUAGE plproxy AS $$
    CLUSTER 'smoke_two';
    RUN ON ALL;
    SELECT current_setting('application_name') AS smoke_where;
$$;
SELECT results_eq($$SELECT * FROM smoke_where() ORDER BY 1$$, $$VALUES ('smoke_p0'::text), ('smoke_p1')$$,
    'RUN ON ALL reaches both partitions');

CREATE FUNCTION smoke_route(k integer) RETURNS text LANGUAGE plproxy AS $$
    CLUSTER 'smoke_two';
    RUN ON k;
    SELECT current_setting('application_name') AS smoke_route;
$$;
SELECT is(smoke_route(0), 'smoke_p0', 'RUN ON an even key goes to p0');
SELECT is(smoke_route(1), 'smoke_p1', 'RUN ON an odd key goes to p1');

-- the call runs on another connection: it does not see this transaction
CREATE TABLE smoke_uncommitted (x integer);
CREATE FUNCTION smoke_sees() RETURNS boolean LANGUAGE plproxy AS $$
    CLUSTER 'smoke_one';
    RUN ON 0;
    SELECT to_regclass('public.smoke_uncommitted') IS NOT NULL AS smoke_sees;
$$;
SELECT ok(NOT smoke_sees(), 'the remote connection does not see uncommitted tables');

CREATE FUNCTION smoke_remote_error() RETURNS integer LANGUAGE plproxy AS $$
    CLUSTER 'smoke_one';
    RUN ON 0;
    SELECT 1 / 0 AS smoke_remote_error;
$$;
SELECT throws_ok($$SELECT smoke_remote_error()$$, '22012', NULL, 'a remote error comes back with its SQLSTATE');

SELECT * FROM finish();
ROLLBACK;
