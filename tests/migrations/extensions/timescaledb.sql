-- A hypertable of ten daily chunks, with an index on its time column.
CREATE SCHEMA fx_timescaledb;
CREATE TABLE fx_timescaledb.conditions (
    at       timestamptz NOT NULL,
    device   integer NOT NULL,
    reading  double precision NOT NULL
);
SELECT count(*) AS hypertables FROM create_hypertable('fx_timescaledb.conditions', 'at',
                                                      chunk_time_interval => interval '1 day');
INSERT INTO fx_timescaledb.conditions
SELECT timestamptz '2024-01-01 00:00:00+00' + i * interval '3 minutes', i % 20, (i % 997) / 10.0
FROM generate_series(0, 4799) AS i;
INSERT INTO public.migration_index_queries VALUES
    ('timescaledb-chunk', $q$SELECT at, device FROM fx_timescaledb.conditions WHERE at BETWEEN timestamptz '2024-01-05 00:00:00+00' AND timestamptz '2024-01-05 00:10:00+00' ORDER BY at$q$);
