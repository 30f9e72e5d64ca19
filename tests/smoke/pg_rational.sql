\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(9);

CREATE EXTENSION IF NOT EXISTS pg_rational;
SELECT has_extension('pg_rational');

SELECT ok(1::rational / 3 * 3 = 1, 'one third times three is exactly one');
SELECT is(('1/3'::rational + '2/7')::text, '13/21', '1/3 + 2/7 = 13/21');
SELECT is(rational_simplify('36/12')::text, '3/1', 'rational_simplify');
SELECT ok('2/4'::rational = '1/2'::rational, 'equal values compare equal unsimplified');
SELECT is(('-1/2'::rational)::float8, -0.5::float8, 'conversion to float');
SELECT is((0.263157894737::float8::rational)::text, '5/19', 'conversion from float finds the fraction');

-- ordering by fractions, and inserting between two neighbours
CREATE TABLE smoke_todos (prio rational PRIMARY KEY, what text NOT NULL);
INSERT INTO smoke_todos VALUES (1, 'install'), (2, 'read'), (3, 'try'), (4, 'profit');
UPDATE smoke_todos SET prio = rational_intermediate(1, 2) WHERE prio = 3;
SELECT results_eq(
    $$SELECT what FROM smoke_todos ORDER BY prio$$,
    $$VALUES ('install'::text), ('try'), ('read'), ('profit')$$,
    'rational_intermediate moves a row between two others');
SELECT is((SELECT prio::text FROM smoke_todos WHERE what = 'try'), '3/2', 'the intermediate of 1 and 2 is 3/2');

SELECT * FROM finish();
ROLLBACK;
