\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- The repmgr extension holds the cluster's metadata that the repmgr
-- command and repmgrd read and write; here a primary is registered by
-- hand as "repmgr primary register" would.
BEGIN;
SELECT plan(5);

CREATE EXTENSION IF NOT EXISTS repmgr;
SELECT has_extension('repmgr');
SELECT has_table('repmgr', 'nodes', 'the node table');
SELECT has_view('repmgr', 'show_nodes', 'the show_nodes view');
INSERT INTO repmgr.nodes (node_id, upstream_node_id, active, node_name, type, location, priority, conninfo, repluser, config_file)
    VALUES (1, NULL, true, 'smoke1', 'primary', 'default', 100, 'host=localhost dbname=smoke user=repmgr', 'repmgr', '/etc/repmgr.conf'),
           (2, 1, true, 'smoke2', 'standby', 'default', 100, 'host=standby dbname=smoke user=repmgr', 'repmgr', '/etc/repmgr.conf');
SELECT results_eq($$SELECT node_name::text, type::text, upstream_node_name::text FROM repmgr.show_nodes ORDER BY node_id$$,
    $$VALUES ('smoke1'::text, 'primary'::text, NULL::text), ('smoke2', 'standby', 'smoke1')$$,
    'show_nodes resolves the standby''s upstream');
SELECT throws_ok($$INSERT INTO repmgr.nodes (node_id, active, node_name, type, priority, conninfo, repluser, config_file)
    VALUES (3, true, 'smoke3', 'nonsense', 100, 'x', 'repmgr', 'x')$$, NULL, NULL, 'an unknown node type is refused');

SELECT * FROM finish();
ROLLBACK;
