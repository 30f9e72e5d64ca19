\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(7);

CREATE EXTENSION IF NOT EXISTS pgrouting CASCADE;
SELECT has_extension('pgrouting');
SELECT has_extension('postgis');

-- a small road graph:
--   1 -(2)- 2 -(1)- 3
--   |       |       |
--  (4)     (5)     (1)
--   |       |       |
--   4 -(1)- 5 -(7)- 6      edge 8: 3 -> 6 one way (cost 1)
CREATE TABLE smoke_edges (id bigint PRIMARY KEY, source bigint, target bigint, cost float8, reverse_cost float8);
INSERT INTO smoke_edges VALUES
    (1, 1, 2, 2, 2), (2, 2, 3, 1, 1), (3, 1, 4, 4, 4), (4, 2, 5, 5, 5),
    (5, 4, 5, 1, 1), (6, 5, 6, 7, 7), (8, 3, 6, 1, -1);

SELECT results_eq(
    $$SELECT node, agg_cost FROM pgr_dijkstra('SELECT id, source, target, cost, reverse_cost FROM smoke_edges', 1, 6) ORDER BY seq$$,
    $$VALUES (1::bigint, 0::float8), (2, 2), (3, 3), (6, 4)$$,
    'pgr_dijkstra 1 -> 6 goes 1-2-3-6 at cost 4');
SELECT is(
    (SELECT max(agg_cost) FROM pgr_dijkstra('SELECT id, source, target, cost, reverse_cost FROM smoke_edges', 6, 1)),
    12::float8, 'the one-way edge forces 6 -> 1 the long way, 6-5-4-1 (cost 12)');
SELECT is(
    (SELECT max(agg_cost) FROM pgr_dijkstra('SELECT id, source, target, cost, reverse_cost FROM smoke_edges', 6, 1, directed => false)),
    4::float8, 'undirected, 6 -> 1 costs 4');
SELECT results_eq(
    $$SELECT end_vid, agg_cost FROM pgr_dijkstraCost('SELECT id, source, target, cost, reverse_cost FROM smoke_edges', 1, ARRAY[4, 5, 6]) ORDER BY end_vid$$,
    $$VALUES (4::bigint, 4::float8), (5, 5), (6, 4)$$,
    'pgr_dijkstraCost one to many');
SELECT is(
    (SELECT count(*) FROM pgr_connectedComponents('SELECT id, source, target, cost, reverse_cost FROM smoke_edges')),
    6::bigint, 'every vertex is in a component');

SELECT * FROM finish();
ROLLBACK;
