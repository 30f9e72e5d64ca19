\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(13);

CREATE SCHEMA IF NOT EXISTS partman;
CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;
SELECT has_extension('pg_partman');

-- Integer range partitioning: 10 ids per child, 2 children premade ahead
CREATE TABLE public.smoke_orders (id bigint NOT NULL, item text) PARTITION BY RANGE (id);
SELECT ok(partman.create_parent(
        p_parent_table := 'public.smoke_orders',
        p_control := 'id',
        p_interval := '10',
        p_premake := 2),
    'create_parent on an id-partitioned table');
SELECT results_eq(
    $$SELECT partition_tablename FROM partman.show_partitions('public.smoke_orders')$$,
    $$VALUES ('smoke_orders_p0'::text), ('smoke_orders_p10'), ('smoke_orders_p20')$$,
    'children p0, p10, p20 exist');
SELECT has_table('public', 'smoke_orders_default', 'default partition exists');
SELECT results_eq(
    $$SELECT partition_interval, premake FROM partman.part_config WHERE parent_table = 'public.smoke_orders'$$,
    $$VALUES ('10'::text, 2)$$,
    'part_config records the interval and premake');

INSERT INTO smoke_orders SELECT i, 'item ' || i FROM generate_series(0, 25) AS i;
INSERT INTO smoke_orders VALUES (1000, 'far away');
SELECT results_eq(
    $$SELECT tableoid::regclass::text, count(*) FROM smoke_orders GROUP BY 1 ORDER BY 1$$,
    $$VALUES ('smoke_orders_default'::text, 1::bigint), ('smoke_orders_p0', 10), ('smoke_orders_p10', 10), ('smoke_orders_p20', 6)$$,
    'rows route to their children, out-of-range rows to the default');

-- maintenance premakes ahead of the data: rows up to 25 mean p30 and p40
SELECT lives_ok($$SELECT partman.run_maintenance('public.smoke_orders')$$, 'run_maintenance');
SELECT ok(to_regclass('public.smoke_orders_p30') IS NOT NULL AND to_regclass('public.smoke_orders_p40') IS NOT NULL,
    'run_maintenance made p30 and p40');
SELECT is((SELECT partition_table FROM partman.show_partition_name('public.smoke_orders', '17')),
    'smoke_orders_p10', 'show_partition_name finds the child of id 17');

-- Time range partitioning by month, starting two months back
CREATE TABLE public.smoke_events (at timestamptz NOT NULL, payload text) PARTITION BY RANGE (at);
SELECT ok(partman.create_parent(
        p_parent_table := 'public.smoke_events',
        p_control := 'at',
        p_interval := '1 month',
        p_premake := 3,
        p_start_partition := to_char(date_trunc('month', now()) - interval '2 months', 'YYYY-MM-DD')),
    'create_parent on a time-partitioned table');
SELECT is((SELECT count(*) FROM partman.show_partitions('public.smoke_events')), 6::bigint,
    '2 past + current + 3 premade monthly children');
INSERT INTO smoke_events VALUES (now(), 'now'), (now() - interval '2 months', 'then');
SELECT is((SELECT count(DISTINCT tableoid) FROM smoke_events), 2::bigint, 'rows of two months land in two children');
SELECT is_empty($$SELECT 1 FROM ONLY public.smoke_events_default$$, 'nothing in the default partition');

SELECT * FROM finish();
ROLLBACK;
