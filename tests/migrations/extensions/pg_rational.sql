-- Fractions, kept exactly, ordered by their value.
CREATE SCHEMA fx_pg_rational;
CREATE TABLE fx_pg_rational.ranks (id integer PRIMARY KEY, pos rational NOT NULL);
INSERT INTO fx_pg_rational.ranks SELECT i, (i || '/' || (i % 97 + 1))::rational FROM generate_series(1, 2000) AS i;
CREATE INDEX ranks_pos_idx ON fx_pg_rational.ranks (pos);
INSERT INTO public.migration_index_queries VALUES
    ('pg_rational-btree', $q$SELECT id, pos FROM fx_pg_rational.ranks WHERE pos = '1/2'::rational ORDER BY id$q$);
