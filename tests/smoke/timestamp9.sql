\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(7);

CREATE EXTENSION IF NOT EXISTS timestamp9;
SELECT has_extension('timestamp9');
SET LOCAL TimeZone = 'UTC';
SELECT is('2019-09-19 08:30:05.123456789 +0000'::timestamp9::bigint, 1568881805123456789::bigint,
    'nanoseconds since the epoch');
SELECT is(1568881805123456789::bigint::timestamp9::text, '2019-09-19 08:30:05.123456789 +0000', 'and back, to the nanosecond');
SELECT ok('2019-09-19 08:30:05.123456789 +0000'::timestamp9 < '2019-09-19 08:30:05.123456790 +0000'::timestamp9,
    'values one nanosecond apart are ordered');
SELECT is('2019-09-19 08:30:05.123456789 +0200'::timestamp9::timestamptz, '2019-09-19 06:30:05.123456+00'::timestamptz,
    'to timestamptz, truncated to microseconds');

CREATE TABLE smoke_ts (ts timestamp9 PRIMARY KEY);
INSERT INTO smoke_ts SELECT (1568881805123456789 + g)::bigint::timestamp9 FROM generate_series(1, 1000) AS g;
SELECT is((SELECT count(*) FROM smoke_ts WHERE ts BETWEEN '2019-09-19 08:30:05.123456790 +0000' AND '2019-09-19 08:30:05.123456799 +0000'),
    10::bigint, 'a range query at nanosecond precision');
SELECT is((SELECT max(ts) FROM smoke_ts)::bigint, 1568881805123457789::bigint, 'max() over the btree-indexed column');

SELECT * FROM finish();
ROLLBACK;
