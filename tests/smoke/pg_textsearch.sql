\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- Needs shared_preload_libraries = 'pg_textsearch'.  A bm25 index ranks
-- documents by BM25 for the <@> operator (lower scores rank first).
BEGIN;
SELECT plan(5);

CREATE EXTENSION IF NOT EXISTS pg_textsearch;
SELECT has_extension('pg_textsearch');
CREATE TABLE smoke_docs (id integer PRIMARY KEY, content text);
INSERT INTO smoke_docs VALUES
    (1, 'PostgreSQL is a powerful database system'),
    (2, 'BM25 is an effective ranking function'),
    (3, 'Full text search with custom scoring'),
    (4, 'a database of databases: the database system of record');
INSERT INTO smoke_docs SELECT g, 'filler text number ' || g FROM generate_series(5, 500) AS g;
SELECT lives_ok($$CREATE INDEX smoke_docs_bm25 ON smoke_docs USING bm25 (content) WITH (text_config = 'english')$$,
    'a bm25 index');
ANALYZE smoke_docs;

SELECT is((SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM smoke_docs ORDER BY content <@> 'database system' LIMIT 2) t),
    ARRAY[1, 4], 'the two documents about database systems rank first');
CREATE FUNCTION smoke_plan(q text) RETURNS text LANGUAGE plpgsql AS
    $f$DECLARE j json; BEGIN EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO j; RETURN j::text; END$f$;
SET LOCAL enable_seqscan = off;
SELECT ok(smoke_plan($$SELECT id FROM smoke_docs ORDER BY content <@> 'database system' LIMIT 2$$)
          LIKE '%"Index Name": "smoke_docs_bm25"%', 'the ranked query scans the bm25 index');
SELECT ok((SELECT content <@> to_bm25query('ranking', 'smoke_docs_bm25') FROM smoke_docs WHERE id = 2)
          < (SELECT content <@> to_bm25query('ranking', 'smoke_docs_bm25') FROM smoke_docs WHERE id = 3),
    'to_bm25query scores a matching document below (before) one that does not match');

SELECT * FROM finish();
ROLLBACK;
