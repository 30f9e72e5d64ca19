-- JSON documents with jsquery's GIN operator class, queried in its language.
CREATE SCHEMA fx_jsquery;
CREATE TABLE fx_jsquery.events (id integer PRIMARY KEY, doc jsonb NOT NULL);
INSERT INTO fx_jsquery.events
SELECT i, jsonb_build_object('kind', 'k' || i % 40, 'user', i % 700, 'tags', jsonb_build_array('t' || i % 5, 'u' || i % 11))
FROM generate_series(1, 10000) AS i;
CREATE INDEX events_doc_idx ON fx_jsquery.events USING gin (doc jsonb_path_value_ops);
INSERT INTO public.migration_index_queries VALUES
    ('jsquery-gin', $q$SELECT id FROM fx_jsquery.events WHERE doc @@ 'kind = "k7" AND user = 407'::jsquery ORDER BY id$q$);
