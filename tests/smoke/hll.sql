\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS hll;
SELECT has_extension('hll');

SELECT is(hll_cardinality(hll_empty()), 0::float8, 'an empty hll counts 0');
SELECT is((SELECT hll_cardinality(hll_add_agg(hll_hash_integer(i))) FROM generate_series(1, 10) AS i), 10::float8,
    'small sets are counted exactly');

-- daily sets of visitors, unioned over days
CREATE TABLE smoke_daily (day integer PRIMARY KEY, visitors hll NOT NULL);
INSERT INTO smoke_daily
SELECT d, hll_add_agg(hll_hash_integer(u))
FROM generate_series(1, 7) AS d, generate_series(d * 1000, d * 1000 + 4999) AS u
GROUP BY d;
SELECT ok((SELECT hll_cardinality(visitors) FROM smoke_daily WHERE day = 1) BETWEEN 4600 AND 5400,
    'one day has about 5000 distinct visitors');
SELECT ok((SELECT hll_cardinality(hll_union_agg(visitors)) FROM smoke_daily) BETWEEN 10000 AND 12000,
    'the week has about 11000 distinct visitors (overlapping days)');
SELECT ok((SELECT hll_cardinality(hll_union(a.visitors, b.visitors)) FROM smoke_daily AS a, smoke_daily AS b WHERE a.day = 1 AND b.day = 2)
    BETWEEN 5500 AND 6500, 'hll_union of two days');

SELECT * FROM finish();
ROLLBACK;
