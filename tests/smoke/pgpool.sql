\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pgpool-II's server-side functions; no pgpool-II runs here, so PCP
-- (pgpool_adm) is checked against 127.0.0.1 port 1, where nothing listens.
BEGIN;
SELECT plan(7);

CREATE EXTENSION IF NOT EXISTS pgpool_recovery;
CREATE EXTENSION IF NOT EXISTS pgpool_regclass;
CREATE EXTENSION IF NOT EXISTS pgpool_adm;
SELECT has_extension('pgpool_recovery');
SELECT has_extension('pgpool_regclass');
SELECT has_extension('pgpool_adm');
SELECT is(pgpool_regclass('pg_class'), 'pg_class'::regclass::oid, 'pgpool_regclass resolves a table name');
SELECT is(pgpool_regclass('smoke_no_such_table'), 0::oid, 'and gives 0 for a missing one instead of an error');
SELECT has_function('pgpool_recovery', 'the online recovery function');
SELECT throws_ok($$SELECT pcp_node_count('127.0.0.1', 1, 'pgpool', 'smoke')$$, NULL, NULL,
    'pcp_node_count reports the failed PCP connection');

SELECT * FROM finish();
ROLLBACK;
