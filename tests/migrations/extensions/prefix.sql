-- Telephone prefixes, matched by the longest prefix through a GiST index.
CREATE SCHEMA fx_prefix;
CREATE TABLE fx_prefix.routes (id integer PRIMARY KEY, prefix prefix_range NOT NULL, carrier text NOT NULL);
INSERT INTO fx_prefix.routes
SELECT i, ('33' || i)::prefix_range, 'carrier ' || i % 13
FROM generate_series(1, 5000) AS i;
CREATE INDEX routes_prefix_idx ON fx_prefix.routes USING gist (prefix);
INSERT INTO public.migration_index_queries VALUES
    ('prefix-gist', $q$SELECT id, prefix FROM fx_prefix.routes WHERE prefix @> '3342424242' ORDER BY id$q$);
