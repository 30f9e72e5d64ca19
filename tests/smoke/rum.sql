\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(7);

CREATE EXTENSION IF NOT EXISTS rum;
SELECT has_extension('rum');

CREATE FUNCTION smoke_uses_index(query text, idx text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
    RETURN plan::text LIKE '%"Index Name": "' || idx || '"%';
END $$;

CREATE TABLE smoke_docs (id integer PRIMARY KEY, body text NOT NULL, published timestamp NOT NULL, tsv tsvector);
INSERT INTO smoke_docs VALUES
    (1, 'The situation is most beautiful', '2024-01-01'),
    (2, 'It is a beautiful', '2024-01-02'),
    (3, 'It looks like a beautiful place', '2024-01-03'),
    (4, 'Nothing to see here', '2024-01-04'),
    (5, 'A place of beautiful places and more beautiful views', '2024-01-05');
INSERT INTO smoke_docs SELECT 100 + i, 'filler text number ' || i, '2023-01-01'::timestamp + i * interval '1 hour', NULL
FROM generate_series(1, 2000) AS i;
UPDATE smoke_docs SET tsv = to_tsvector('english', body);

CREATE INDEX smoke_docs_rum ON smoke_docs USING rum (tsv rum_tsvector_ops);
ANALYZE smoke_docs;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;

SELECT ok(smoke_uses_index($$SELECT id FROM smoke_docs WHERE tsv @@ to_tsquery('english', 'beautiful') ORDER BY tsv <=> to_tsquery('english', 'beautiful') LIMIT 3$$,
    'smoke_docs_rum'), 'a ranked full-text query is an index scan on the RUM index');
SELECT results_eq(
    $$SELECT id FROM smoke_docs WHERE tsv @@ to_tsquery('english', 'beautiful & place') ORDER BY tsv <=> to_tsquery('english', 'beautiful & place'), id$$,
    $$VALUES (5), (3)$$,
    'ranked by distance: more matches rank first');
SELECT is(
    (SELECT round((tsv <=> to_tsquery('english', 'beautiful'))::numeric, 4) FROM smoke_docs WHERE id = 2),
    round((1 / ts_rank(to_tsvector('english', 'It is a beautiful'), to_tsquery('english', 'beautiful')))::numeric, 4),
    'the <=> distance is the inverse of ts_rank');
SELECT is((SELECT count(*) FROM smoke_docs WHERE tsv @@ to_tsquery('english', 'beauti:*')), 4::bigint, 'prefix search through the index');

-- RUM with an attached timestamp: order matches by time distance
CREATE INDEX smoke_docs_rum_time ON smoke_docs USING rum (tsv rum_tsvector_addon_ops, published) WITH (attach = 'published', to = 'tsv');
SELECT ok(smoke_uses_index($$SELECT id FROM smoke_docs WHERE tsv @@ to_tsquery('english', 'beautiful') ORDER BY published <=> '2024-01-04' LIMIT 2$$,
    'smoke_docs_rum_time'), 'ordering by an attached column uses the addon index');
SELECT results_eq(
    $$SELECT id FROM smoke_docs WHERE tsv @@ to_tsquery('english', 'beautiful') ORDER BY published <=> '2024-01-04'::timestamp, id LIMIT 2$$,
    $$VALUES (3), (5)$$,
    'matches nearest in time to 2024-01-04');

SELECT * FROM finish();
ROLLBACK;
