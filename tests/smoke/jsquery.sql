\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(9);

CREATE EXTENSION IF NOT EXISTS jsquery;
SELECT has_extension('jsquery');

SELECT ok('{"a": [1, 2, 3]}'::jsonb @@ 'a.# > 2'::jsquery, 'some array element is > 2 (#)');
SELECT ok(NOT ('{"a": [1, 2, 3]}'::jsonb @@ 'a.#: > 2'::jsquery), 'not every array element is > 2 (#:)');
SELECT ok('{"x": {"y": "z"}}'::jsonb @@ 'x.y = "z"'::jsquery, 'nested path equality');
SELECT ok('{"tags": ["pg", "json"]}'::jsonb @@ 'tags @> ["json"]'::jsquery, 'array containment');
SELECT ok('{"n": 5}'::jsonb @@ 'n > 1 AND n < 10 AND NOT n = 7'::jsquery, 'boolean combination');
SELECT throws_ok($$SELECT 'a.#: >'::jsquery$$, NULL, NULL, 'a malformed query is rejected');

CREATE TABLE smoke_docs (id integer PRIMARY KEY, doc jsonb NOT NULL);
INSERT INTO smoke_docs
SELECT i, jsonb_build_object('id', i, 'color', (ARRAY['red', 'green', 'blue'])[1 + i % 3], 'sizes', jsonb_build_array(i % 5, i % 7))
FROM generate_series(1, 3000) AS i;
CREATE INDEX smoke_docs_path_value ON smoke_docs USING gin (doc jsonb_path_value_ops);
CREATE INDEX smoke_docs_value_path ON smoke_docs USING gin (doc jsonb_value_path_ops);
ANALYZE smoke_docs;
SET LOCAL enable_seqscan = off;
SELECT is(
    (SELECT count(*) FROM smoke_docs WHERE doc @@ 'color = "red" AND sizes.# = 6'::jsquery),
    (SELECT count(*) FROM smoke_docs WHERE doc->>'color' = 'red' AND doc->'sizes' @> '[6]'),
    'GIN-indexed jsquery agrees with plain jsonb operators');
SELECT results_eq(
    $$SELECT id FROM smoke_docs WHERE doc @@ 'id = 42'::jsquery$$,
    $$VALUES (42)$$,
    'GIN-indexed lookup by value');

SELECT * FROM finish();
ROLLBACK;
