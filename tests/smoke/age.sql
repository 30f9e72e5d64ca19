\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- Apache AGE is loaded by the session (LOAD 'age'), as its documentation
-- says.  A graph is made with openCypher and queried back.  agtype
-- strings are compared without their JSON quotes, which ::text keeps or
-- drops by version.
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS age;
SELECT has_extension('age');
LOAD 'age';
SET LOCAL search_path = ag_catalog, "$user", public;
SELECT lives_ok($$SELECT create_graph('smoke_graph')$$, 'create_graph');
SELECT ok(EXISTS (SELECT 1 FROM ag_graph WHERE name = 'smoke_graph'), 'the graph is in ag_graph');

SELECT is((SELECT count(*) FROM cypher('smoke_graph', $$
        CREATE (:Person {name: 'Ann'})-[:KNOWS {since: 2019}]->(:Person {name: 'Bob'})-[:KNOWS {since: 2021}]->(:Person {name: 'Cid'})
        RETURN 1 $$) AS (one agtype)), 1::bigint, 'a CREATE of three people and two edges');

SELECT results_eq($$SELECT btrim(name::text, '"') FROM cypher('smoke_graph', $c$
        MATCH (a:Person {name: 'Ann'})-[:KNOWS*1..2]->(p:Person) RETURN p.name ORDER BY p.name $c$) AS (name agtype)$$,
    ARRAY['Bob', 'Cid'], 'a variable-length MATCH walks the edges');
SELECT is((SELECT since::text FROM cypher('smoke_graph', $$
        MATCH (:Person {name: 'Bob'})-[k:KNOWS]->(:Person {name: 'Cid'}) RETURN k.since $$) AS (since agtype)),
    '2021', 'an edge property');

SELECT * FROM finish();
ROLLBACK;
