\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(12);

CREATE EXTENSION IF NOT EXISTS roaringbitmap;
SELECT has_extension('roaringbitmap');

SELECT is(rb_to_array(rb_build(ARRAY[5, 1, 3, 3])), ARRAY[1, 3, 5], 'rb_build sorts and de-duplicates');
SELECT is(rb_cardinality(rb_build(ARRAY[1, 2, 3, 4, 5]))::bigint, 5::bigint, 'rb_cardinality');
SELECT is(rb_to_array(roaringbitmap('{1,2,3}') | roaringbitmap('{3,4,5}')), ARRAY[1, 2, 3, 4, 5], 'OR');
SELECT is(rb_to_array(roaringbitmap('{1,2,3}') & roaringbitmap('{3,4,5}')), ARRAY[3], 'AND');
SELECT is(rb_to_array(roaringbitmap('{1,2,3}') # roaringbitmap('{3,4,5}')), ARRAY[1, 2, 4, 5], 'XOR');
SELECT is(rb_to_array(roaringbitmap('{1,2,3}') - roaringbitmap('{3,4,5}')), ARRAY[1, 2], 'ANDNOT');
SELECT ok(roaringbitmap('{1,2,3,4,5}') @> 3 AND NOT roaringbitmap('{1,2,3}') @> roaringbitmap('{3,4,5}'), 'contains');
SELECT is(rb_and_cardinality('{1,2,3}', '{3,4}')::bigint, 1::bigint, 'rb_and_cardinality');
-- the portable Roaring serialization (the type's send function)
SELECT is(roaringbitmap_send(roaringbitmap('{1,100,10}')), '\x3a30000001000000000002001000000001000a006400'::bytea,
    'the standard Roaring serialization');

-- users per segment, combined with aggregates
CREATE TABLE smoke_segments (segment text PRIMARY KEY, users roaringbitmap NOT NULL);
INSERT INTO smoke_segments
SELECT 'even', rb_build_agg(i) FROM generate_series(0, 99999, 2) AS i
UNION ALL
SELECT 'fives', rb_build_agg(i) FROM generate_series(0, 99999, 5) AS i;
SELECT is((SELECT rb_cardinality(rb_and_agg(users))::bigint FROM smoke_segments), 10000::bigint, 'users in both segments (multiples of 10)');
SELECT is((SELECT rb_cardinality(rb_or_agg(users))::bigint FROM smoke_segments), 60000::bigint, 'users in either segment');

SELECT * FROM finish();
ROLLBACK;
