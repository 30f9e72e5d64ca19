\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS toastinfo;
SELECT has_extension('toastinfo');
SELECT is(pg_toastinfo(42)::text, 'ordinary', 'a fixed-length value');
SELECT is(pg_toastinfo(NULL::text)::text, 'null', 'a null');

CREATE TABLE smoke_toast (id int, v text);
ALTER TABLE smoke_toast ALTER COLUMN v SET STORAGE EXTERNAL;
CREATE TABLE smoke_inline (id int, v text);
INSERT INTO smoke_toast VALUES (1, 'short'),
    (2, (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 400) AS g));
INSERT INTO smoke_inline VALUES (1, repeat('abc', 1000));
SELECT is((SELECT pg_toastinfo(v)::text FROM smoke_toast WHERE id = 1), 'short inline varlena', 'a short value is stored inline');
SELECT alike((SELECT pg_toastinfo(v)::text FROM smoke_toast WHERE id = 2), 'toasted varlena, uncompressed%',
    'a long value with EXTERNAL storage is moved to the TOAST table');
SELECT alike((SELECT pg_toastinfo(v)::text FROM smoke_inline), 'long inline varlena, compressed%',
    'a long compressible value is compressed inline');

SELECT * FROM finish();
ROLLBACK;
