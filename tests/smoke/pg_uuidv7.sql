\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(9);

CREATE EXTENSION IF NOT EXISTS pg_uuidv7;
SELECT has_extension('pg_uuidv7');
SET LOCAL timezone = 'UTC';

SELECT is(substr(uuid_generate_v7()::text, 15, 1), '7', 'the version nibble is 7');
SELECT ok(substr(uuid_generate_v7()::text, 20, 1) IN ('8', '9', 'a', 'b'), 'the variant bits are 10');
SELECT ok(abs(extract(epoch FROM uuid_v7_to_timestamptz(uuid_generate_v7()) - clock_timestamp())) < 5,
    'the embedded timestamp is now');
SELECT is(uuid_v7_to_timestamptz('018570bb-4a7d-7c7e-8df4-6d47afd8c8fc'), '2023-01-02 04:26:40.637+00'::timestamptz,
    'uuid_v7_to_timestamptz of a known UUID');
SELECT is(uuid_timestamptz_to_v7('2023-01-02 04:26:40.637+00', true), '018570bb-4a7d-7000-8000-000000000000'::uuid,
    'uuid_timestamptz_to_v7 with zeroed random bits');
SELECT ok(uuid_timestamptz_to_v7('2023-01-02 04:26:40.637+00') > '018570bb-4a7d-7000-8000-000000000000'::uuid,
    'with random bits it sorts after the zeroed one');

-- v7 UUIDs sort by creation time
CREATE TABLE smoke_events (id uuid PRIMARY KEY DEFAULT uuid_generate_v7(), n integer NOT NULL);
INSERT INTO smoke_events (id, n)
SELECT uuid_timestamptz_to_v7('2024-01-01 00:00+00'::timestamptz + i * interval '1 second'), i FROM generate_series(1, 100) AS i;
SELECT is((SELECT array_agg(n ORDER BY id) FROM smoke_events), (SELECT array_agg(i) FROM generate_series(1, 100) AS i),
    'ordering by id is ordering by time');
SELECT is((SELECT count(*) FROM smoke_events
           WHERE id >= uuid_timestamptz_to_v7('2024-01-01 00:00:10+00', true)
             AND id < uuid_timestamptz_to_v7('2024-01-01 00:00:20+00', true)), 10::bigint,
    'a time range as a UUID range');

SELECT * FROM finish();
ROLLBACK;
