-- Roaring bitmaps of users per group, with their cardinality stored too.
CREATE SCHEMA fx_roaringbitmap;
CREATE TABLE fx_roaringbitmap.groups (id integer PRIMARY KEY, members roaringbitmap NOT NULL, n bigint);
INSERT INTO fx_roaringbitmap.groups
SELECT g, rb_build_agg(g * 10000 + u * 3), NULL FROM generate_series(1, 50) AS g, generate_series(1, 400) AS u GROUP BY g;
UPDATE fx_roaringbitmap.groups SET n = rb_cardinality(members);
