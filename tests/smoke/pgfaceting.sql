\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- Facet counts from the inverted index that add_faceting_to_table
-- builds; changes go to a delta table until merge_deltas.
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS pgfaceting CASCADE;
SELECT has_extension('pgfaceting');
CREATE TABLE smoke_docs (id int PRIMARY KEY, category text, size int);
INSERT INTO smoke_docs SELECT g, (ARRAY['news', 'blog', 'wiki'])[1 + g % 3], g % 100 FROM generate_series(1, 3000) AS g;
SELECT lives_ok($$SELECT faceting.add_faceting_to_table('smoke_docs', key => 'id',
    facets => array[faceting.plain_facet('category'), faceting.bucket_facet('size', buckets => array[0, 50, 100])])$$,
    'add_faceting_to_table');
SELECT results_eq($$SELECT facet_value, cardinality::bigint FROM faceting.top_values('smoke_docs'::regclass, n => 10)
                     WHERE facet_name = 'category' ORDER BY facet_value$$,
    $$VALUES ('blog'::text, 1000::bigint), ('news', 1000), ('wiki', 1000)$$, 'top_values counts each category');
SELECT is((SELECT sum(cardinality)::bigint FROM faceting.count_results('smoke_docs'::regclass,
              filters => array[row('category', 'wiki')]::faceting.facet_filter[]) WHERE facet_name = 'size'),
    1000::bigint, 'count_results: the size buckets of the wiki documents');
INSERT INTO smoke_docs VALUES (3001, 'wiki', 1);
SELECT lives_ok($$SELECT faceting.merge_deltas('smoke_docs'::regclass)$$, 'merge_deltas');
SELECT is((SELECT cardinality::bigint FROM faceting.top_values('smoke_docs'::regclass, n => 10)
           WHERE facet_name = 'category' AND facet_value = 'wiki'), 1001::bigint, 'the new row is counted');

SELECT * FROM finish();
ROLLBACK;
