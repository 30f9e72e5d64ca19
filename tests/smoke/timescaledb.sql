\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- Needs shared_preload_libraries = 'timescaledb'. Apache-licensed build:
-- only features that are not under the Timescale License.
BEGIN;
SELECT plan(12);

CREATE EXTENSION IF NOT EXISTS timescaledb;
SELECT has_extension('timescaledb');
SELECT is(current_setting('timescaledb.license'), 'apache', 'the build is Apache-only');

SET LOCAL timezone = 'UTC';
CREATE TABLE smoke_conditions (
    time timestamptz NOT NULL,
    device integer NOT NULL,
    temperature double precision NOT NULL
);
SELECT lives_ok(
    $$SELECT create_hypertable('smoke_conditions', by_range('time', INTERVAL '1 day'))$$,
    'create_hypertable with by_range');
SELECT is(
    (SELECT num_dimensions::int FROM timescaledb_information.hypertables WHERE hypertable_name = 'smoke_conditions'),
    1, 'the table is a hypertable with one dimension');

-- three days, hourly, two devices: device 1 reads 10 + day, device 2 reads 20 + day
INSERT INTO smoke_conditions
SELECT t, d, 10 * d + extract(day FROM t)
FROM generate_series('2024-03-01 00:00+00'::timestamptz, '2024-03-03 23:00+00', interval '1 hour') AS t,
     generate_series(1, 2) AS d;

SELECT is((SELECT count(*) FROM show_chunks('smoke_conditions')), 3::bigint, 'one chunk per day');
SELECT is((SELECT count(*) FROM smoke_conditions), 144::bigint, 'all rows are readable through the hypertable');
SELECT results_eq(
    $$SELECT time_bucket('1 day', time), device, avg(temperature), count(*)
      FROM smoke_conditions GROUP BY 1, 2 ORDER BY 1, 2$$,
    $$VALUES ('2024-03-01 00:00+00'::timestamptz, 1, 11::float8, 24::bigint),
             ('2024-03-01 00:00+00', 2, 21, 24),
             ('2024-03-02 00:00+00', 1, 12, 24),
             ('2024-03-02 00:00+00', 2, 22, 24),
             ('2024-03-03 00:00+00', 1, 13, 24),
             ('2024-03-03 00:00+00', 2, 23, 24)$$,
    'time_bucket daily averages per device');
SELECT is(time_bucket('15 minutes', '2024-03-01 10:37:12+00'::timestamptz), '2024-03-01 10:30:00+00'::timestamptz,
    'time_bucket rounds down to 15 minutes');
SELECT results_eq(
    $$SELECT device, first(temperature, time), last(temperature, time) FROM smoke_conditions GROUP BY device ORDER BY device$$,
    $$VALUES (1, 11::float8, 13::float8), (2, 21, 23)$$,
    'first() and last() by time');
SELECT ok((SELECT count(*) FROM smoke_conditions WHERE time >= '2024-03-03' AND time < '2024-03-04') = 48,
    'a one-day range reads one chunk worth of rows');

SELECT is((SELECT count(*) FROM drop_chunks('smoke_conditions', older_than => '2024-03-02 00:00+00'::timestamptz)), 1::bigint,
    'drop_chunks drops the oldest chunk');
SELECT is((SELECT min(time) FROM smoke_conditions), '2024-03-02 00:00+00'::timestamptz, 'its rows are gone');

SELECT * FROM finish();
ROLLBACK;
