\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- No MySQL server here: objects are created and their options read back;
-- a query fails with a connection error (the client library is loaded).
BEGIN;
SELECT plan(8);

CREATE EXTENSION IF NOT EXISTS mysql_fdw;
SELECT has_extension('mysql_fdw');
SELECT is((SELECT count(*) FROM pg_foreign_data_wrapper WHERE fdwname = 'mysql_fdw'), 1::bigint, 'the wrapper exists');

CREATE SERVER smoke_mysql FOREIGN DATA WRAPPER mysql_fdw OPTIONS (host '127.0.0.1', port '1');
CREATE USER MAPPING FOR CURRENT_USER SERVER smoke_mysql OPTIONS (username 'smoke', password 'secret');
CREATE FOREIGN TABLE smoke_remote (id integer, name text) SERVER smoke_mysql OPTIONS (dbname 'shop', table_name 'customers');

SELECT is((SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'smoke_mysql'), ARRAY['host=127.0.0.1', 'port=1'],
    'server options');
SELECT is((SELECT umoptions FROM pg_user_mappings WHERE srvname = 'smoke_mysql' AND usename = current_user),
    ARRAY['username=smoke', 'password=secret'], 'user mapping options');
SELECT is((SELECT ftoptions FROM pg_foreign_table WHERE ftrelid = 'smoke_remote'::regclass), ARRAY['dbname=shop', 'table_name=customers'],
    'foreign table options');
SELECT has_column('smoke_remote', 'name', 'foreign table columns');

SELECT throws_ok($$CREATE SERVER smoke_bad FOREIGN DATA WRAPPER mysql_fdw OPTIONS (no_such_option 'x')$$,
    'HV00D', NULL, 'the validator rejects an unknown option');
SELECT throws_ok($$SELECT * FROM smoke_remote$$, 'HV00N', NULL, 'a query reports that it cannot connect');

SELECT * FROM finish();
ROLLBACK;
