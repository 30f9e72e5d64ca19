\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- db2fce: Db2's functions, in schema db2, and SYSIBM.SYSDUMMY1, so that
-- Db2 SQL runs unchanged with db2 on the search_path.
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS db2fce;
SELECT has_extension('db2fce');
SET LOCAL search_path = db2, public;
SELECT is((SELECT ibmreqd::text FROM sysibm.sysdummy1), 'X', 'SYSIBM.SYSDUMMY1 has its one row');
SELECT is((SELECT locate('ell', 'hello') FROM sysibm.sysdummy1), 2, 'LOCATE finds a substring');
SELECT is(days('0001-01-02'::date), 2, 'DAYS counts days since year 1');
SELECT is(days('2024-03-01'::date) - days('2024-02-28'::date), 2, 'across a leap day');
SELECT is(strip('  Db2  '), 'Db2', 'STRIP trims');

SELECT * FROM finish();
ROLLBACK;
