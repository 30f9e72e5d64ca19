\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(9);

CREATE EXTENSION IF NOT EXISTS pointcloud;
SELECT has_extension('pointcloud');

-- a schema of four dimensions: X, Y, Z (scaled int32) and Intensity (uint16)
INSERT INTO pointcloud_formats (pcid, srid, schema) VALUES (1, 4326,
'<?xml version="1.0" encoding="UTF-8"?>
<pc:PointCloudSchema xmlns:pc="http://pointcloud.org/schemas/PC/1.1"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <pc:dimension>
    <pc:position>1</pc:position><pc:size>4</pc:size>
    <pc:name>X</pc:name><pc:interpretation>int32_t</pc:interpretation><pc:scale>0.01</pc:scale>
  </pc:dimension>
  <pc:dimension>
    <pc:position>2</pc:position><pc:size>4</pc:size>
    <pc:name>Y</pc:name><pc:interpretation>int32_t</pc:interpretation><pc:scale>0.01</pc:scale>
  </pc:dimension>
  <pc:dimension>
    <pc:position>3</pc:position><pc:size>4</pc:size>
    <pc:name>Z</pc:name><pc:interpretation>int32_t</pc:interpretation><pc:scale>0.01</pc:scale>
  </pc:dimension>
  <pc:dimension>
    <pc:position>4</pc:position><pc:size>2</pc:size>
    <pc:name>Intensity</pc:name><pc:interpretation>uint16_t</pc:interpretation><pc:scale>1</pc:scale>
  </pc:dimension>
  <pc:metadata><Metadata name="compression">dimensional</Metadata></pc:metadata>
</pc:PointCloudSchema>');

SELECT ok(PC_SchemaIsValid((SELECT schema FROM pointcloud_formats WHERE pcid = 1)), 'the XML schema is valid');
SELECT is(PC_SchemaGetNDims(1), 4, 'the schema has 4 dimensions');

SELECT is(PC_AsText(PC_MakePoint(1, ARRAY[-127, 45, 124.0, 4.0])), '{"pcid":1,"pt":[-127,45,124,4]}', 'PC_MakePoint and PC_AsText');
SELECT is(PC_Get(PC_MakePoint(1, ARRAY[-127, 45, 124.0, 4.0]), 'Z'), 124::numeric, 'PC_Get a dimension');

-- points gathered into a patch
CREATE TABLE smoke_points (id integer PRIMARY KEY, pt pcpoint(1) NOT NULL);
INSERT INTO smoke_points SELECT i, PC_MakePoint(1, ARRAY[i, i * 2, i * 0.5, i % 10]) FROM generate_series(1, 100) AS i;
CREATE TABLE smoke_patches (id integer PRIMARY KEY, pa pcpatch(1) NOT NULL);
INSERT INTO smoke_patches SELECT 1, PC_Patch(pt) FROM smoke_points;

SELECT is((SELECT PC_NumPoints(pa) FROM smoke_patches), 100, 'the patch holds 100 points');
SELECT is((SELECT PC_PatchMax(pa, 'Y') FROM smoke_patches), 200::numeric, 'PC_PatchMax of Y');
SELECT is((SELECT PC_NumPoints(PC_FilterGreaterThan(pa, 'X', 90)) FROM smoke_patches), 10, 'PC_FilterGreaterThan keeps 10 points');
SELECT is((SELECT count(*) FROM (SELECT PC_Explode(pa) FROM smoke_patches) AS e), 100::bigint, 'PC_Explode gives the points back');

SELECT * FROM finish();
ROLLBACK;
