\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(12);

CREATE EXTENSION IF NOT EXISTS vector;
SELECT has_extension('vector');

-- Does the plan of a query use the named index? Read from EXPLAIN's JSON
-- form, whose keys are the same on every major.
CREATE FUNCTION smoke_uses_index(query text, idx text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
    RETURN plan::text LIKE '%"Index Name": "' || idx || '"%';
END $$;

CREATE TABLE smoke_items (id integer PRIMARY KEY, embedding vector(3) NOT NULL);
INSERT INTO smoke_items VALUES
    (1, '[1,1,1]'), (2, '[2,2,2]'), (3, '[5,5,5]'),
    (4, '[1,0,0]'), (5, '[0,1,0]'), (6, '[10,10,10]');

SELECT is('[1,2,3]'::vector <-> '[4,6,3]'::vector, 5::float8, 'L2 distance of [1,2,3] and [4,6,3] is 5');
SELECT is('[1,2,3]'::vector <#> '[4,5,6]'::vector, -32::float8, 'negative inner product is -32');
SELECT is(round(('[1,0]'::vector <=> '[0,1]'::vector)::numeric, 6), 1.000000, 'cosine distance of orthogonal vectors is 1');
SELECT is(vector_dims('[1,2,3]'::vector), 3, 'vector_dims');
SELECT throws_ok($$SELECT '[1,2]'::vector(3)$$, '22000', NULL, 'dimension mismatch is rejected');

-- HNSW index, forced
CREATE INDEX smoke_items_hnsw ON smoke_items USING hnsw (embedding vector_l2_ops);
SET LOCAL enable_seqscan = off;
SELECT ok(smoke_uses_index($$SELECT id FROM smoke_items ORDER BY embedding <-> '[1.9,2,2.1]' LIMIT 3$$, 'smoke_items_hnsw'),
    'nearest-neighbour query uses the HNSW index');
SELECT results_eq(
    $$SELECT id FROM smoke_items ORDER BY embedding <-> '[1.9,2,2.1]' LIMIT 3$$,
    $$VALUES (2), (1), (5)$$,
    'HNSW: 3 nearest neighbours of [1.9,2,2.1] in order');
SELECT is(
    (SELECT round((embedding <-> '[1.9,2,2.1]')::numeric, 4) FROM smoke_items ORDER BY embedding <-> '[1.9,2,2.1]' LIMIT 1),
    round(sqrt(0.02)::numeric, 4),
    'HNSW: distance to the nearest neighbour');
DROP INDEX smoke_items_hnsw;

-- IVFFlat index, forced, probing every list so that the result is exact
CREATE INDEX smoke_items_ivfflat ON smoke_items USING ivfflat (embedding vector_l2_ops) WITH (lists = 2);
SET LOCAL ivfflat.probes = 2;
SELECT ok(smoke_uses_index($$SELECT id FROM smoke_items ORDER BY embedding <-> '[0.9,0.2,0]' LIMIT 3$$, 'smoke_items_ivfflat'),
    'nearest-neighbour query uses the IVFFlat index');
SELECT results_eq(
    $$SELECT id FROM smoke_items ORDER BY embedding <-> '[0.9,0.2,0]' LIMIT 3$$,
    $$VALUES (4), (5), (1)$$,
    'IVFFlat: 3 nearest neighbours of [0.9,0.2,0] in order');

-- cosine HNSW
CREATE INDEX smoke_items_hnsw_cos ON smoke_items USING hnsw (embedding vector_cosine_ops);
SELECT results_eq(
    $$SELECT id FROM smoke_items WHERE id IN (3, 4, 5) ORDER BY embedding <=> '[0.1,1,0]' LIMIT 2$$,
    $$VALUES (5), (3)$$,
    'HNSW cosine: nearest by angle');

SELECT * FROM finish();
ROLLBACK;
