\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- The provider side of Londiste: a table added on a root node gets
-- a trigger that turns each change into a PgQ event.
BEGIN;
SELECT plan(6);

SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS londiste CASCADE;
SELECT has_extension('londiste');
SELECT is((SELECT ret_code FROM pgq_node.register_location('smoke_set', 'smoke_root', 'dbname=smoke', false)), 200,
    'register_location');
SELECT is((SELECT ret_code FROM pgq_node.create_node('smoke_set', 'root', 'smoke_root', 'smoke_worker', null, null, null)), 200,
    'a root node');
CREATE TABLE smoke_orders (id int PRIMARY KEY, item text);
SELECT is((SELECT ret_code FROM londiste.local_add_table('smoke_set', 'public.smoke_orders')), 200, 'local_add_table');
SELECT is((SELECT ret_code FROM londiste.local_add_table('smoke_set', 'public.smoke_orders')), 200, 'adding it again is a no-op');
INSERT INTO smoke_orders VALUES (1, 'tea');
UPDATE smoke_orders SET item = 'coffee' WHERE id = 1;
SELECT results_eq($$SELECT ev_type, ev_data FROM pgq.event_template WHERE ev_extra1 = 'public.smoke_orders' ORDER BY ev_id$$,
    $$VALUES ('I:id'::text, 'id=1&item=tea'::text), ('U:id', 'id=1&item=coffee')$$, 'the changes are queued as events');

SELECT * FROM finish();
ROLLBACK;
