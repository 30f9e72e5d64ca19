\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pglogical is preloaded (its recipe). The provider side: a ticker
-- table per replication set, in replication, ticked by tick().
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS pglogical_ticker CASCADE;
SELECT has_extension('pglogical_ticker');
SELECT ok(pglogical.create_node(node_name := 'smoke_provider',
        dsn := format('dbname=%s port=%s', current_database(), current_setting('port'))) > 0,
    'a pglogical node');
SELECT is(pglogical_ticker.deploy_ticker_tables(), 3, 'a ticker table for each of the three replication sets');
SELECT is(pglogical_ticker.add_ticker_tables_to_replication(), 3, 'each in its replication set');
SELECT lives_ok($$SELECT pglogical_ticker.tick()$$, 'tick');
-- tick() looks the set "default" up by its quoted name ('"default"'),
-- so upstream's ticker skips that one set: the others are checked.
SELECT results_eq($$SELECT set_name::text COLLATE "C", source_time IS NOT NULL FROM pglogical_ticker.all_repset_tickers()
                    WHERE set_name <> 'default' ORDER BY 1$$,
    $$VALUES ('ddl_sql'::text COLLATE "C", true), ('default_insert_only', true)$$,
    'the sets have a tick');

SELECT * FROM finish();
ROLLBACK;
