-- pgimg-smoke: database=postgres
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- The pg_auto_failover monitor: pgautofailover preloaded (it runs the
-- health checks in a background worker) and btree_gist from contrib.
-- It runs in the postgres database: the monitor's health-check worker
-- connects to each database that has the extension, and would keep a
-- database `smoke` from being dropped.
-- Two nodes register as pg_autoctl would do for them: the first becomes
-- the single node of the default formation, the second waits to be its
-- standby.
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS pgautofailover CASCADE;
SELECT has_extension('pgautofailover');
SELECT is((SELECT kind FROM pgautofailover.formation WHERE formationid = 'default'), 'pgsql',
    'the default formation exists');

SELECT * FROM pgautofailover.register_node('default', 'node-a.example', 5432, 'postgres', 'node_a') \gset first_
SELECT is(:'first_assigned_group_state', 'single', 'the first node is assigned the single state');
SELECT * FROM pgautofailover.register_node('default', 'node-b.example', 5432, 'postgres', 'node_b') \gset second_
SELECT is(:'second_assigned_group_state', 'wait_standby', 'the second is told to become a standby');
SELECT is(:second_assigned_group_id, :first_assigned_group_id, 'in the same group');
SELECT results_eq(
    $$SELECT nodename, nodehost, goalstate::text FROM pgautofailover.node ORDER BY nodeid$$,
    $$VALUES ('node_a'::text, 'node-a.example'::text, 'single'), ('node_b', 'node-b.example', 'wait_standby')$$,
    'the monitor records both nodes and their goal states');

SELECT * FROM finish();
ROLLBACK;
