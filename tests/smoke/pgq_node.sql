\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- A cascade's root node on a new queue; the workers (londiste, pgqd)
-- that would drive it are not part of the layer.
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS pgq_node CASCADE;
SELECT has_extension('pgq_node');
SELECT has_extension('pgq');
SELECT is((SELECT ret_code FROM pgq_node.register_location('smoke_q', 'smoke_root', 'dbname=smoke', false)), 200,
    'register_location');
SELECT is((SELECT ret_code FROM pgq_node.create_node('smoke_q', 'root', 'smoke_root', 'smoke_worker', null, null, null)), 200,
    'create_node: a root node');
SELECT results_eq($$SELECT node_type, node_name, provider_location, worker_name FROM pgq_node.get_node_info('smoke_q')$$,
    $$VALUES ('root'::text, 'smoke_root'::text, 'dbname=smoke'::text, 'smoke_worker'::text)$$, 'get_node_info');
SELECT ok(EXISTS (SELECT 1 FROM pgq.get_queue_info() WHERE queue_name = 'smoke_q'), 'the root node made its queue');

SELECT * FROM finish();
ROLLBACK;
