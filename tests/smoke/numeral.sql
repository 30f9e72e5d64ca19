\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(7);

CREATE EXTENSION IF NOT EXISTS numeral;
SELECT has_extension('numeral');
SELECT is(232::bigint::numeral::text, 'two hundred thirty-two', 'an integer in English words');
SELECT is('eleven hundred'::numeral::bigint, 1100::bigint, 'English words to a number');
SELECT is(232::bigint::zahl::text, 'zweihundertzweiunddreißig', 'in German');
SELECT is(2024::bigint::roman::text, 'MMXXIV', 'in Roman numerals');
SELECT is(('twenty-one'::numeral + 'twenty-one'::numeral)::bigint, 42::bigint, 'arithmetic');
SELECT ok('zehn'::zahl < 'elf'::zahl, 'comparison by value');

SELECT * FROM finish();
ROLLBACK;
