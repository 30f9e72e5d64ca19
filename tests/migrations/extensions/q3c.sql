-- A star catalogue with q3c's spatial index, searched by cone.
CREATE SCHEMA fx_q3c;
CREATE TABLE fx_q3c.stars (id integer PRIMARY KEY, ra double precision NOT NULL, dec double precision NOT NULL);
INSERT INTO fx_q3c.stars SELECT i, (i * 7919 % 36000) / 100.0, ((i * 104729 % 17000) - 8500) / 100.0
FROM generate_series(1, 20000) AS i;
CREATE INDEX stars_q3c_idx ON fx_q3c.stars (q3c_ang2ipix(ra, dec));
INSERT INTO public.migration_index_queries VALUES
    ('q3c', $q$SELECT id, ra, dec FROM fx_q3c.stars WHERE q3c_radial_query(ra, dec, 100.0, 10.0, 2.0) ORDER BY id$q$);
