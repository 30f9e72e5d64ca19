\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- MobilityDB needs PostGIS (CREATE EXTENSION ... CASCADE) and its docs ask
-- for shared_preload_libraries = 'postgis-3' and
-- max_locks_per_transaction = 128.
-- MobilityDB caches its operators' OIDs per connection, and a connection that
-- ran CREATE EXTENSION keeps an empty cache (index and selectivity code
-- then fail with "Unknown operator Oid"): create it, commit, reconnect.
CREATE EXTENSION IF NOT EXISTS mobilitydb CASCADE;
\connect
BEGIN;
SELECT plan(10);

SELECT has_extension('mobilitydb');
SELECT has_extension('postgis');
SET LOCAL timezone = 'UTC';

SELECT is(length(tgeompoint '[Point(0 0)@2001-01-01, Point(3 4)@2001-01-02, Point(3 0)@2001-01-03]'), 9::float8,
    'length of a trip: 5 + 4');
SELECT is(ST_AsText(valueAtTimestamp(tgeompoint '[Point(0 0)@2001-01-01, Point(10 0)@2001-01-03]', '2001-01-02')),
    'POINT(5 0)', 'linear interpolation half way');
SELECT is(valueAtTimestamp(tfloat '[1@2001-01-01, 4@2001-01-04)', '2001-01-02'), 2::float8, 'valueAtTimestamp on a tfloat');
SELECT is(duration(tfloat '[1@2001-01-01, 2@2001-01-03, 2@2001-01-05)'), interval '4 days', 'duration');
SELECT is(ST_AsText(trajectory(tgeompoint '[Point(0 0)@2001-01-01, Point(1 1)@2001-01-02]')), 'LINESTRING(0 0,1 1)', 'trajectory');
SELECT ok(eIntersects(tgeompoint '[Point(0 1)@2001-01-01, Point(3 1)@2001-01-04)', geometry 'Polygon((1 0,1 2,2 2,2 0,1 0))'),
    'the trip ever intersects the square');

-- trips table with a GiST index on the temporal points
CREATE TABLE smoke_trips (id integer PRIMARY KEY, trip tgeompoint NOT NULL);
INSERT INTO smoke_trips
SELECT i, tgeompoint(format('[Point(%s 0)@2001-01-01, Point(%s 10)@2001-01-02]', i, i))
FROM generate_series(1, 500) AS i;
CREATE INDEX smoke_trips_gist ON smoke_trips USING gist (trip);
ANALYZE smoke_trips;
SET LOCAL enable_seqscan = off;
SELECT results_eq(
    $$SELECT id FROM smoke_trips WHERE trip && stbox 'STBOX XT(((99.5, 4), (101.5, 6)), [2001-01-01, 2001-01-02])' ORDER BY id$$,
    $$VALUES (100), (101)$$,
    'bounding-box search through the GiST index');
SELECT is((SELECT ST_AsText(valueAtTimestamp(trip, '2001-01-01 12:00')) FROM smoke_trips WHERE id = 42), 'POINT(42 5)',
    'where trip 42 was at noon');

SELECT * FROM finish();
ROLLBACK;
