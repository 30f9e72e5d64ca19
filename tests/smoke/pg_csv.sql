\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pg_csv: csv_agg, an aggregate that makes CSV of rows (RFC 4180).
BEGIN;
SELECT plan(4);

CREATE EXTENSION IF NOT EXISTS pg_csv;
SELECT has_extension('pg_csv');
CREATE TABLE smoke_csv (id integer, name text, note text);
INSERT INTO smoke_csv VALUES (1, 'plain', 'x'), (2, 'with, comma', 'say "hi"'), (3, 'line
break', NULL);
SELECT is((SELECT csv_agg(t ORDER BY id) FROM smoke_csv t),
    E'id,name,note\n1,plain,x\n2,"with, comma","say ""hi"""\n3,"line\nbreak",',
    'csv_agg: a header, then rows, quoting what must be quoted');
SELECT is((SELECT csv_agg(t, csv_options(delimiter := '|') ORDER BY id) FROM smoke_csv t WHERE id < 3),
    E'id|name|note\n1|plain|x\n2|with, comma|"say ""hi"""',
    'another delimiter: the comma needs no quotes then');
SELECT is((SELECT count(*) FROM (SELECT csv_agg(t) AS c FROM smoke_csv t GROUP BY id % 2) g), 2::bigint,
    'an aggregate: one CSV per group');

SELECT * FROM finish();
ROLLBACK;
