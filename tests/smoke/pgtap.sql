\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pgTAP tests itself: its assertions pass on true facts, and check_test()
-- shows that a false one is reported as a failure with diagnostics.
BEGIN;
SELECT plan(21);

SELECT has_extension('pgtap');
SELECT ok(true, 'ok() passes on true');
SELECT is(1 + 1, 2, 'is() compares integers');
SELECT isnt('a'::text, 'b'::text, 'isnt() compares text');
SELECT matches('pgTAP 1.3'::text, '^pgTAP [0-9]+\.[0-9]+$', 'matches() applies a regex');
SELECT cmp_ok(3, '>', 2, 'cmp_ok() applies an operator');

CREATE TABLE smoke_people (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO smoke_people VALUES (1, 'ada'), (2, 'grace'), (3, 'linus');

SELECT has_table('smoke_people');
SELECT has_column('smoke_people', 'name');
SELECT col_type_is('smoke_people', 'name', 'text');
SELECT col_is_pk('smoke_people', 'id');
SELECT results_eq(
    'SELECT id, name FROM smoke_people ORDER BY id',
    $$VALUES (1, 'ada'::text), (2, 'grace'), (3, 'linus')$$,
    'results_eq() compares ordered rows');
SELECT bag_eq(
    'SELECT name FROM smoke_people',
    $$VALUES ('linus'::text), ('ada'), ('grace')$$,
    'bag_eq() compares unordered rows');
SELECT is_empty('SELECT 1 FROM smoke_people WHERE id > 3', 'is_empty() on no rows');
SELECT throws_ok(
    'INSERT INTO smoke_people VALUES (1, ''dup'')',
    '23505', NULL, 'throws_ok() catches a unique violation');
SELECT lives_ok('INSERT INTO smoke_people VALUES (4, ''barbara'')', 'lives_ok()');

-- check_test() runs an assertion that must fail and checks its output:
-- it emits 3 lines (fails, description, diagnostics) and does not count
-- the inner failure.
SELECT * FROM check_test(
    is(2 + 2, 5, 'arithmetic'),
    false,
    'is() on unequal values',
    'arithmetic',
    '        have: 4
        want: 5');
SELECT * FROM check_test(
    ok(false, 'false is false'),
    false,
    'ok(false)',
    'false is false',
    '');

SELECT * FROM finish();
ROLLBACK;
