\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(18);

CREATE EXTENSION IF NOT EXISTS postgis;
SELECT has_extension('postgis');
SELECT ok(postgis_full_version() LIKE '%GEOS=%' AND postgis_full_version() LIKE '%PROJ=%',
    'PostGIS is linked with GEOS and PROJ');

SELECT is(ST_Distance(ST_MakePoint(0, 0), ST_MakePoint(3, 4)), 5::float8, 'planar distance (0 0)-(3 4) is 5');
SELECT ok(ST_Contains('POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))'::geometry, 'POINT(5 5)'::geometry),
    'square contains its centre');
SELECT ok(NOT ST_Contains('POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))'::geometry, 'POINT(15 5)'::geometry),
    'square does not contain an outside point');
SELECT is(ST_Area('POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))'::geometry), 100::float8, 'area of a 10x10 square');
SELECT is(ST_AsText(ST_Intersection('LINESTRING(0 0, 10 10)'::geometry, 'LINESTRING(0 10, 10 0)'::geometry)),
    'POINT(5 5)', 'crossing diagonals intersect at (5 5)');
SELECT is(round(ST_Area(ST_Buffer('POINT(0 0)'::geometry, 1, 'quad_segs=1'))::numeric, 6),
    2.000000, 'buffer with one segment per quadrant is a diamond of area 2');

-- ST_Transform needs PROJ and its database
SELECT is(round(ST_X(ST_Transform(ST_SetSRID(ST_MakePoint(180, 0), 4326), 3857))::numeric, 2),
    20037508.34, 'lon 180 in Web Mercator is x = 20037508.34');
SELECT is(round(ST_Y(ST_Transform(ST_SetSRID(ST_MakePoint(0, 45), 4326), 3857))::numeric, 0),
    5621521::numeric, 'lat 45 in Web Mercator is y = 5621521');
SELECT is(round(ST_X(ST_Transform(ST_SetSRID(ST_MakePoint(9, 0), 4326), 32632))::numeric, 3),
    500000.000, 'central meridian of UTM 32N is easting 500000');

-- geography: one degree of longitude on the equator on the WGS 84 spheroid
SELECT is(round(ST_Distance('SRID=4326;POINT(0 0)'::geography, 'SRID=4326;POINT(1 0)'::geography)::numeric, 2),
    111319.49, 'geodesic length of one degree on the equator');

-- GiST index, forced
CREATE TABLE smoke_places (id integer PRIMARY KEY, geom geometry(Point, 3857) NOT NULL);
INSERT INTO smoke_places SELECT i, ST_SetSRID(ST_MakePoint(i * 100, i * 100), 3857) FROM generate_series(1, 1000) AS i;
CREATE INDEX smoke_places_geom ON smoke_places USING gist (geom);
ANALYZE smoke_places;
SET LOCAL enable_seqscan = off;
SELECT results_eq(
    $$SELECT id FROM smoke_places WHERE ST_DWithin(geom, ST_SetSRID(ST_MakePoint(50000, 50000), 3857), 150) ORDER BY id$$,
    $$VALUES (499), (500), (501)$$,
    'ST_DWithin through the GiST index');
SELECT results_eq(
    $$SELECT id FROM smoke_places ORDER BY geom <-> ST_SetSRID(ST_MakePoint(12345, 12345), 3857) LIMIT 2$$,
    $$VALUES (123), (124)$$,
    'KNN ordering through the GiST index');

-- postgis_topology and postgis_raster, where the image has them
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'postgis_topology') THEN
        CREATE EXTENSION IF NOT EXISTS postgis_topology;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'postgis_raster') THEN
        CREATE EXTENSION IF NOT EXISTS postgis_raster;
    END IF;
END $$;
SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgis_topology') THEN collect_tap(
    lives_ok($$SELECT topology.CreateTopology('smoke_topo', 0)$$, 'topology: CreateTopology'),
    lives_ok($$SELECT topology.TopoGeo_AddLineString('smoke_topo', 'LINESTRING(0 0, 10 0, 10 10)'::geometry)$$,
        'topology: TopoGeo_AddLineString'),
    results_eq($$SELECT (SELECT count(*) FROM smoke_topo.node), (SELECT count(*) FROM smoke_topo.edge)$$,
        $$VALUES (2::bigint, 1::bigint)$$, 'topology: one edge between two nodes'))
    ELSE skip('postgis_topology is not installed', 3) END;
SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgis_raster') THEN
    results_eq($$SELECT ST_Value(ST_SetValue(ST_AddBand(ST_MakeEmptyRaster(2, 2, 0, 2, 1, -1, 0, 0, 0), '8BUI'::text, 0), 1, 2, 2, 42), 1, 2, 2)$$,
        $$VALUES (42::float8)$$, 'raster: a pixel value set and read back')
    ELSE skip('postgis_raster is not installed', 1) END;

SELECT * FROM finish();
ROLLBACK;
