\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS pgmp;
SELECT has_extension('pgmp');
SELECT is((2::mpz ^ 100)::text, '1267650600228229401496703205376', '2^100 as an arbitrary precision integer');
SELECT is(fac(25)::text, '15511210043330985984000000', 'factorial beyond bigint');
SELECT is(('1/3'::mpq + '1/6'::mpq)::text, '1/2', 'rationals are exact and reduced');
SELECT is(gcd(462::mpz, 1071::mpz)::text, '21', 'gcd');
CREATE TABLE smoke_mp (v mpz);
INSERT INTO smoke_mp SELECT fac(g) FROM generate_series(1, 30) AS g;
SELECT is((SELECT sum(v) FROM smoke_mp)::text, (SELECT sum(factorial(g))::text FROM generate_series(1, 30) AS g),
    'sum() over an mpz column agrees with numeric');

SELECT * FROM finish();
ROLLBACK;
