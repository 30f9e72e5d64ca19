\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(7);

CREATE EXTENSION IF NOT EXISTS hypopg;
SELECT has_extension('hypopg');

-- Does the plain EXPLAIN of a query use an index with this name?
CREATE FUNCTION smoke_uses_index(query text, idx text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
    RETURN plan::text LIKE '%"Index Name": "' || idx || '"%';
END $$;

CREATE TABLE smoke_orders (id integer, customer integer, note text);
INSERT INTO smoke_orders SELECT i, i % 1000, 'order ' || i FROM generate_series(1, 100000) AS i;
ANALYZE smoke_orders;

SELECT is((SELECT count(*) FROM hypopg_create_index('CREATE INDEX ON smoke_orders (customer)')), 1::bigint,
    'hypopg_create_index makes a hypothetical index');
SELECT is((SELECT count(*) FROM hypopg() WHERE indrelid = 'smoke_orders'::regclass), 1::bigint, 'it is listed');
SELECT ok(smoke_uses_index('SELECT * FROM smoke_orders WHERE customer = 42',
        (SELECT indexname FROM hypopg() WHERE indrelid = 'smoke_orders'::regclass)),
    'the planner picks the hypothetical index');
SELECT ok(hypopg_relation_size((SELECT indexrelid FROM hypopg() WHERE indrelid = 'smoke_orders'::regclass)) > 0,
    'it has an estimated size');
SELECT is_empty($$SELECT 1 FROM pg_class WHERE relname LIKE '%smoke_orders_customer%'$$, 'no real index was built');
SELECT lives_ok($$SELECT hypopg_reset()$$, 'hypopg_reset');

SELECT * FROM finish();
ROLLBACK;
