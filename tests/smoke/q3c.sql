\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(7);

CREATE EXTENSION IF NOT EXISTS q3c;
SELECT has_extension('q3c');

SELECT is(round(q3c_dist(0, 0, 1, 0)::numeric, 10), 1.0000000000, 'one degree along the equator');
SELECT is(round(q3c_dist(10, 89, 190, 89)::numeric, 10), 2.0000000000, 'across the pole');
SELECT is(q3c_ang2ipix(10, 20), q3c_ang2ipix(10, 20), 'q3c_ang2ipix is deterministic');

-- cone search and cross-match through the q3c_ang2ipix functional index
CREATE TABLE smoke_cat (id integer PRIMARY KEY, ra double precision NOT NULL, dec double precision NOT NULL);
INSERT INTO smoke_cat SELECT i, (i * 0.37) % 360, ((i * 0.11) % 170) - 85 FROM generate_series(1, 20000) AS i;
CREATE INDEX smoke_cat_q3c ON smoke_cat (q3c_ang2ipix(ra, dec));
CLUSTER smoke_cat USING smoke_cat_q3c;
ANALYZE smoke_cat;
SET LOCAL enable_seqscan = off;
-- a cone of 2 degrees around source 1234
SELECT is(
    (SELECT count(*) FROM smoke_cat AS c, smoke_cat AS o WHERE o.id = 1234 AND q3c_radial_query(c.ra, c.dec, o.ra, o.dec, 2)),
    (SELECT count(*) FROM smoke_cat AS c, smoke_cat AS o WHERE o.id = 1234 AND q3c_dist(c.ra, c.dec, o.ra, o.dec) < 2),
    'q3c_radial_query agrees with q3c_dist');
SELECT ok((SELECT count(*) FROM smoke_cat AS c, smoke_cat AS o WHERE o.id = 1234 AND q3c_radial_query(c.ra, c.dec, o.ra, o.dec, 2)) > 1,
    'the cone holds more than its centre');

CREATE TABLE smoke_probe (pid integer PRIMARY KEY, ra double precision, dec double precision);
INSERT INTO smoke_probe SELECT id, ra + 0.0001, dec FROM smoke_cat WHERE id IN (10, 500, 7777);
SELECT results_eq(
    $$SELECT p.pid, c.id FROM smoke_probe AS p JOIN smoke_cat AS c ON q3c_join(p.ra, p.dec, c.ra, c.dec, 0.001) ORDER BY 1$$,
    $$VALUES (10, 10), (500, 500), (7777, 7777)$$,
    'q3c_join cross-matches each probe to its source');

SELECT * FROM finish();
ROLLBACK;
