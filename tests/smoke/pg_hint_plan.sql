\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pg_hint_plan reads hints from the comment at the head of a query, also
-- in dynamic SQL run from PL/pgSQL. LOAD makes the test independent of
-- whether the image preloads it (it does nothing if already loaded).
LOAD 'pg_hint_plan';
BEGIN;
SELECT plan(9);

CREATE EXTENSION IF NOT EXISTS pg_hint_plan;
SELECT has_extension('pg_hint_plan');
SELECT has_table('hint_plan', 'hints', 'the hint table exists');
SET LOCAL pg_hint_plan.enable_hint = on;

-- the node types of a plan, from EXPLAIN's JSON form
CREATE FUNCTION smoke_plan_has(query text, node text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
    EXECUTE query INTO plan;
    RETURN plan::text LIKE '%"Node Type": "' || node || '"%';
END $$;

CREATE TABLE smoke_a (id integer PRIMARY KEY, b_id integer NOT NULL, pad text);
CREATE TABLE smoke_b (id integer PRIMARY KEY, name text);
INSERT INTO smoke_a SELECT i, i % 1000, 'x' FROM generate_series(1, 100000) AS i;
INSERT INTO smoke_b SELECT i, 'b' || i FROM generate_series(0, 999) AS i;
ANALYZE smoke_a;
ANALYZE smoke_b;

SELECT ok(smoke_plan_has($$EXPLAIN (FORMAT JSON) SELECT * FROM smoke_a WHERE id = 42$$, 'Index Scan'),
    'without a hint a primary-key lookup is an index scan');
SELECT ok(smoke_plan_has($$/*+ SeqScan(smoke_a) */ EXPLAIN (FORMAT JSON) SELECT * FROM smoke_a WHERE id = 42$$, 'Seq Scan'),
    'SeqScan() forces a sequential scan');
SELECT ok(NOT smoke_plan_has($$/*+ SeqScan(smoke_a) */ EXPLAIN (FORMAT JSON) SELECT * FROM smoke_a WHERE id = 42$$, 'Index Scan'),
    'and no index scan is left');

SELECT ok(smoke_plan_has($$/*+ NestLoop(a b) IndexScan(b) */ EXPLAIN (FORMAT JSON)
        SELECT * FROM smoke_a AS a JOIN smoke_b AS b ON b.id = a.b_id WHERE a.id < 100$$, 'Nested Loop'),
    'NestLoop() picks a nested loop join');
SELECT ok(smoke_plan_has($$/*+ HashJoin(a b) */ EXPLAIN (FORMAT JSON)
        SELECT * FROM smoke_a AS a JOIN smoke_b AS b ON b.id = a.b_id WHERE a.id < 100$$, 'Hash Join'),
    'HashJoin() picks a hash join');
SELECT ok(smoke_plan_has($$/*+ MergeJoin(a b) */ EXPLAIN (FORMAT JSON)
        SELECT * FROM smoke_a AS a JOIN smoke_b AS b ON b.id = a.b_id WHERE a.id < 100$$, 'Merge Join'),
    'MergeJoin() picks a merge join');

SET LOCAL pg_hint_plan.enable_hint = off;
SELECT ok(smoke_plan_has($$/*+ SeqScan(smoke_a) */ EXPLAIN (FORMAT JSON) SELECT * FROM smoke_a WHERE id = 42$$, 'Index Scan'),
    'with pg_hint_plan.enable_hint off the hint is ignored');

SELECT * FROM finish();
ROLLBACK;
