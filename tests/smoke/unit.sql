\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(10);

CREATE EXTENSION IF NOT EXISTS unit;
SELECT has_extension('unit');

SET LOCAL unit.byte_output_iec = off;
SET LOCAL unit.output_base_units = off;
SELECT is(('800 m'::unit + '500 m')::text, '1.3 km', '800 m + 500 m = 1.3 km');
SELECT is(('9.81 N'::unit / 'kg')::text, '9.81 m/s^2', 'newton per kilogram is an acceleration');
SELECT is('2 MB/min'::unit @ 'GB/d', '2.88 GB/d', 'conversion to another scale with @');
SELECT is('1 hl'::unit @ '0.5 l', '200 * 0.5 l', 'hectolitre in half-litre bottles');
SELECT is(value('1 km'::unit), 1000::float8, 'value() is in base units');
SELECT is(dimension('2 km'::unit)::text, '1 m', 'dimension() of a length');
SELECT ok('1 mi'::unit > '1 km', 'a mile is longer than a kilometre');
SELECT throws_ok($$SELECT '1 m'::unit + '1 s'::unit$$, NULL, NULL, 'adding a length to a time is an error');

CREATE TABLE smoke_runs (id integer PRIMARY KEY, distance unit NOT NULL);
INSERT INTO smoke_runs VALUES (1, '5 km'), (2, '10000 m'), (3, '3 mi');
SELECT is((SELECT sum(distance) FROM smoke_runs) @ 'km', '19.828032 km', 'sum() aggregate over mixed inputs');

SELECT * FROM finish();
ROLLBACK;
