\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pglogical needs shared_preload_libraries = 'pglogical' and
-- wal_level = logical (its output plugin pglogical_output must also be
-- in output_plugin_libraries on minor releases that have that setting).
-- The provider side of a node: node, replication sets, tables, queued DDL.
BEGIN;
SELECT plan(13);

CREATE EXTENSION IF NOT EXISTS pglogical;
SELECT has_extension('pglogical');
SELECT ok(EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type LIKE 'pglogical%' OR application_name LIKE 'pglogical%'),
    'the pglogical supervisor is running');

SELECT ok(pglogical.create_node(node_name := 'smoke_provider',
        dsn := format('dbname=%s port=%s', current_database(), current_setting('port'))) > 0,
    'create_node');
SELECT is((SELECT node_name::text FROM pglogical.pglogical_node_info()), 'smoke_provider', 'pglogical_node_info names the local node');
SELECT results_eq(
    $$SELECT set_name::text COLLATE "C" FROM pglogical.replication_set ORDER BY 1$$,
    $$VALUES ('ddl_sql' COLLATE "C"), ('default'), ('default_insert_only')$$,
    'the node has the default replication sets');

CREATE TABLE smoke_orders (id integer PRIMARY KEY, item text NOT NULL);
CREATE TABLE smoke_log (at timestamptz NOT NULL, msg text);
SELECT ok(pglogical.create_replication_set('smoke_set', replicate_update := true, replicate_delete := false) > 0,
    'create_replication_set');
SELECT ok(pglogical.replication_set_add_table('smoke_set', 'smoke_orders', synchronize_data := true,
        row_filter := $$id > 100$$), 'add a table with a row filter');
SELECT throws_ok($$SELECT pglogical.replication_set_add_table('default', 'smoke_log')$$, NULL, NULL,
    'a table without a primary key cannot be in a set that replicates updates');
SELECT ok(pglogical.replication_set_add_table('default_insert_only', 'smoke_log'), 'but it can be in an insert-only set');
SELECT results_eq(
    $$SELECT set_name::text COLLATE "C", set_reloid::text COLLATE "C" FROM pglogical.replication_set_table AS t
      JOIN pglogical.replication_set AS s USING (set_id) ORDER BY 1$$,
    $$VALUES ('default_insert_only' COLLATE "C", 'smoke_log' COLLATE "C"), ('smoke_set', 'smoke_orders')$$,
    'set membership');

SELECT ok(pglogical.replicate_ddl_command('CREATE TABLE public.smoke_ddl (x integer)', ARRAY['ddl_sql']),
    'replicate_ddl_command runs the DDL');
SELECT has_table('public', 'smoke_ddl', 'the DDL ran locally');
SELECT ok(EXISTS (SELECT 1 FROM pglogical.queue WHERE message::text LIKE '%smoke_ddl%'), 'and was queued for subscribers');
SELECT * FROM finish();
ROLLBACK;
