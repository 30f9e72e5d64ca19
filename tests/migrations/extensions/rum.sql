-- Documents with a RUM index on their tsvector.
CREATE SCHEMA fx_rum;
CREATE TABLE fx_rum.docs (id integer PRIMARY KEY, body text NOT NULL, tsv tsvector);
INSERT INTO fx_rum.docs SELECT i, 'document number ' || i || ' about topic t' || i % 50, NULL
FROM generate_series(1, 5000) AS i;
UPDATE fx_rum.docs SET tsv = to_tsvector('simple', body);
CREATE INDEX docs_tsv_rum_idx ON fx_rum.docs USING rum (tsv rum_tsvector_ops);
INSERT INTO public.migration_index_queries VALUES
    ('rum', $q$SELECT id FROM fx_rum.docs WHERE tsv @@ to_tsquery('simple', 't7 & 4207') ORDER BY id$q$);
