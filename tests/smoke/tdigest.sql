\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS tdigest;
SELECT has_extension('tdigest');

CREATE TABLE smoke_latency (ms double precision NOT NULL);
INSERT INTO smoke_latency SELECT i FROM generate_series(1, 10000) AS i;

SELECT ok((SELECT tdigest_percentile(ms, 100, 0.5) FROM smoke_latency) BETWEEN 4900 AND 5100, 'median of 1..10000 is about 5000');
SELECT ok((SELECT tdigest_percentile(ms, 100, 0.99) FROM smoke_latency) BETWEEN 9850 AND 9950, 'p99 of 1..10000 is about 9900');
SELECT ok((SELECT tdigest_percentile_of(ms, 100, 2500) FROM smoke_latency) BETWEEN 0.24 AND 0.26, '2500 is at about the 25th percentile');

-- digests stored and merged later
CREATE TABLE smoke_digests (part integer PRIMARY KEY, d tdigest NOT NULL);
INSERT INTO smoke_digests
SELECT p, tdigest(ms, 100) FROM (SELECT ms, (ms::int % 4) AS p FROM smoke_latency) AS s GROUP BY p;
SELECT is((SELECT tdigest_count(tdigest(d)) FROM smoke_digests)::bigint, 10000::bigint, 'merged digest counts every value');
SELECT ok((SELECT tdigest_percentile(d, 0.5) FROM smoke_digests) BETWEEN 4900 AND 5100, 'median of merged digests');

SELECT * FROM finish();
ROLLBACK;
