\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- GDAL/OGR reads a CSV file that the server writes first; the same
-- wrapper reads shapefiles, GeoPackage, WFS and more.
BEGIN;
SELECT plan(7);

CREATE EXTENSION IF NOT EXISTS ogr_fdw;
SELECT has_extension('ogr_fdw');
SELECT ok(EXISTS (SELECT 1 FROM unnest(ogr_fdw_drivers()) AS d WHERE d = 'CSV'), 'GDAL has its CSV driver');
SELECT ok(EXISTS (SELECT 1 FROM unnest(ogr_fdw_drivers()) AS d WHERE d = 'GPKG'), 'and GeoPackage');
CREATE TEMP TABLE smoke_src (name text, pop int);
INSERT INTO smoke_src VALUES ('Oslo', 709000), ('Bergen', 291000), ('Tromsø', 78000);
COPY smoke_src TO '/tmp/smoke_ogr_fdw.csv' WITH (FORMAT csv, HEADER);
CREATE SERVER smoke_csv FOREIGN DATA WRAPPER ogr_fdw OPTIONS (datasource '/tmp/smoke_ogr_fdw.csv', format 'CSV');
CREATE FOREIGN TABLE smoke_cities (fid bigint, name varchar, pop varchar) SERVER smoke_csv OPTIONS (layer 'smoke_ogr_fdw');
SELECT results_eq($$SELECT name::text, pop::int FROM smoke_cities ORDER BY pop::int DESC$$,
    $$VALUES ('Oslo'::text, 709000), ('Bergen', 291000), ('Tromsø', 78000)$$, 'the rows of the CSV file, UTF-8 intact');
SELECT is((SELECT count(*) FROM smoke_cities WHERE name = 'Bergen'), 1::bigint, 'a filter on a column');
CREATE SCHEMA smoke_imp;
SELECT lives_ok($$IMPORT FOREIGN SCHEMA ogr_all FROM SERVER smoke_csv INTO smoke_imp$$, 'IMPORT FOREIGN SCHEMA');
SELECT ok(EXISTS (SELECT 1 FROM information_schema.foreign_tables WHERE foreign_table_schema = 'smoke_imp'), 'the layer became a foreign table');

SELECT * FROM finish();
ROLLBACK;
