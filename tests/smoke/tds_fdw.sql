\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- No SQL Server here: the foreign table points at 127.0.0.1 port 1,
-- where nothing listens, and the test checks that FreeTDS (libsybdb)
-- is loaded and reports the failed connection.
BEGIN;
SELECT plan(5);

CREATE EXTENSION IF NOT EXISTS tds_fdw;
SELECT has_extension('tds_fdw');
SELECT ok(EXISTS (SELECT 1 FROM pg_foreign_data_wrapper WHERE fdwname = 'tds_fdw'), 'the foreign data wrapper exists');
CREATE SERVER smoke_mssql FOREIGN DATA WRAPPER tds_fdw OPTIONS (servername '127.0.0.1', port '1', database 'smoke', tds_version '7.4');
CREATE USER MAPPING FOR CURRENT_USER SERVER smoke_mssql OPTIONS (username 'sa', password 'smoke');
CREATE FOREIGN TABLE smoke_orders (id int, item text) SERVER smoke_mssql OPTIONS (table_name 'dbo.orders');
SELECT is((SELECT count(*) FROM information_schema.foreign_tables WHERE foreign_table_name = 'smoke_orders'), 1::bigint,
    'a foreign table on a SQL Server table');
SELECT throws_ok($$CREATE SERVER smoke_bad FOREIGN DATA WRAPPER tds_fdw OPTIONS (no_such_option 'x')$$, NULL,
    'an unknown server option is refused');
SELECT throws_like($$SELECT * FROM smoke_orders$$, '%connect%', 'querying it reports the failed connection');

SELECT * FROM finish();
ROLLBACK;
