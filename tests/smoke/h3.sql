\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- Known cells from h3-pg's own regression tests (points are POINT(lng, lat)).
-- h3_lat_lng_to_cell and h3_cell_to_lat_lng: 4.2.3 renamed them h3_latlng_to_cell
-- and h3_cell_to_latlng, keeping these names (deprecated); 4.2.2 has only these.
BEGIN;
SELECT plan(13);

CREATE EXTENSION IF NOT EXISTS h3;
SELECT has_extension('h3');

SELECT is(h3_lat_lng_to_cell(POINT(-144.52399108028, 49.7165031828995), 3), '831c02fffffffff'::h3index,
    'h3_lat_lng_to_cell gives the known resolution-3 cell');
SELECT ok(h3_cell_to_lat_lng('831c02fffffffff'::h3index) ~= POINT(-144.52399108028, 49.7165031828995),
    'h3_cell_to_lat_lng gives its centre back');
SELECT is(h3_get_resolution('831c02fffffffff'::h3index), 3, 'h3_get_resolution');
SELECT ok(h3_is_pentagon('831c00fffffffff'::h3index) AND NOT h3_is_pentagon('831c02fffffffff'::h3index), 'h3_is_pentagon');
SELECT is((SELECT count(*) FROM h3_cell_to_children('831c02fffffffff'::h3index)), 7::bigint, 'a hexagon has 7 children');
SELECT is((SELECT count(*) FROM h3_cell_to_children('831c00fffffffff'::h3index)), 6::bigint, 'a pentagon has 6 children');
SELECT ok((SELECT bool_and(h3_cell_to_parent(c) = '831c02fffffffff'::h3index) FROM h3_cell_to_children('831c02fffffffff'::h3index) AS c),
    'every child has the hexagon as parent');
SELECT is((SELECT count(*) FROM h3_grid_disk('880326b88dfffff'::h3index, 1)), 7::bigint, 'a k=1 disk around a hexagon has 7 cells');
SELECT is(h3_grid_distance('880326b881fffff'::h3index, '880326b885fffff'::h3index), 1::bigint, 'h3_grid_distance between neighbours');
SELECT ok(abs(h3_great_circle_distance(POINT(4.8422, 45.7597), POINT(2.3508, 48.8567), 'km') - 392.21715988417765) < 1e-6,
    'Lyon to Paris is 392.217 km');
SELECT is((SELECT count(*) FROM h3_get_res_0_cells()), 122::bigint, 'there are 122 resolution-0 cells');

-- the h3index type in a btree index
CREATE TABLE smoke_cells (cell h3index PRIMARY KEY);
INSERT INTO smoke_cells SELECT * FROM h3_get_res_0_cells();
SET LOCAL enable_seqscan = off;
SELECT is((SELECT cell FROM smoke_cells WHERE cell = '801dfffffffffff'::h3index), '801dfffffffffff'::h3index,
    'btree lookup of an h3index');

SELECT * FROM finish();
ROLLBACK;
