\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(8);

CREATE EXTENSION IF NOT EXISTS pg_sphere;
SELECT has_extension('pg_sphere');

SELECT is(round((spoint '(0d, 0d)' <-> spoint '(90d, 0d)')::numeric, 10), round((pi() / 2)::numeric, 10),
    'a quarter of the equator is pi/2');
SELECT is(round(degrees(spoint '(10d, 20d)' <-> spoint '(10d, 30d)')::numeric, 10), 10.0000000000,
    'ten degrees along a meridian');
SELECT ok(scircle '<(0d, 90d), 10d>' @> spoint '(123d, 85d)', 'a polar cap contains a point near the pole');
SELECT ok(NOT (scircle '<(0d, 90d), 10d>' @> spoint '(123d, 75d)'), 'and not one outside it');
SELECT is(round(area(scircle '<(0d, 90d), 90d>')::numeric, 10), round((2 * pi())::numeric, 10),
    'a hemisphere has area 2 pi');

-- GiST index: a cone search on a small catalogue
CREATE TABLE smoke_stars (id integer PRIMARY KEY, pos spoint NOT NULL);
INSERT INTO smoke_stars SELECT i, spoint(radians(i % 360), radians((i % 170) - 85)) FROM generate_series(1, 5000) AS i;
CREATE INDEX smoke_stars_pos ON smoke_stars USING gist (pos);
ANALYZE smoke_stars;
SET LOCAL enable_seqscan = off;
SELECT is(
    (SELECT count(*) FROM smoke_stars WHERE pos <@ scircle '<(100d, 15d), 2d>'),
    (SELECT count(*) FROM smoke_stars WHERE degrees(pos <-> spoint '(100d, 15d)') <= 2),
    'GiST cone search agrees with the distance');
SELECT ok((SELECT count(*) FROM smoke_stars WHERE pos <@ scircle '<(100d, 15d), 2d>') > 0, 'the cone is not empty');

SELECT * FROM finish();
ROLLBACK;
