\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(9);

CREATE EXTENSION IF NOT EXISTS pg_similarity;
SELECT has_extension('pg_similarity');

SELECT is(round(lev('kitten', 'sitting')::numeric, 6), round(1 - 3 / 7.0, 6), 'normalized Levenshtein: 3 edits in 7');
SELECT is(round(jaro('MARTHA', 'MARHTA')::numeric, 4), 0.9444, 'Jaro of MARTHA/MARHTA');
SELECT is(round(jarowinkler('MARTHA', 'MARHTA')::numeric, 4), 0.9611, 'Jaro-Winkler of MARTHA/MARHTA');
SELECT is(jaccard('a b c', 'a b d'), 0.5::float8, 'Jaccard of two word sets sharing 2 of 4');
SELECT is(qgram('abc', 'abc'), 1::float8, 'q-grams of equal strings');

-- threshold operators and a GIN index on tokens
SET LOCAL pg_similarity.lev_threshold = 0.8;
SELECT ok('similar' ~== 'similer', 'lev operator: one edit in 7 passes threshold 0.8');
SELECT ok(NOT ('kitten' ~== 'sitting'), 'lev operator: three edits in 7 does not');

CREATE TABLE smoke_names (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO smoke_names VALUES (1, 'john smith'), (2, 'jon smith'), (3, 'mary jones'), (4, 'smith john');
CREATE INDEX smoke_names_gin ON smoke_names USING gin (name gin_similarity_ops);
SET LOCAL pg_similarity.jaccard_threshold = 0.9;
SELECT results_eq(
    $$SELECT id FROM smoke_names WHERE name ~?? 'john smith' ORDER BY id$$,
    $$VALUES (1), (4)$$,
    'Jaccard operator matches the same words in any order');

SELECT * FROM finish();
ROLLBACK;
