-- Semantic versions, with a btree index on the type.
CREATE SCHEMA fx_semver;
CREATE TABLE fx_semver.releases (id integer PRIMARY KEY, v semver NOT NULL);
INSERT INTO fx_semver.releases
SELECT i, (i / 100 || '.' || i / 10 % 10 || '.' || i % 10 || CASE WHEN i % 7 = 0 THEN '-beta.' || i % 3 ELSE '' END)::semver
FROM generate_series(1, 3000) AS i;
CREATE INDEX releases_v_idx ON fx_semver.releases (v);
INSERT INTO public.migration_index_queries VALUES
    ('semver-btree', $q$SELECT id, v FROM fx_semver.releases WHERE v = '12.3.4'::semver ORDER BY id$q$);
