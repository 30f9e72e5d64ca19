\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pg_stat_statements is preloaded. A snapshot copies the statistics of
-- pg_stat_statements (and of the other extensions it knows) into
-- PoWA's history tables; the background worker that takes them on a
-- schedule is not used here (it needs powa preloaded and a database powa).
BEGIN;
SELECT plan(6);

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS powa CASCADE;
RESET client_min_messages;
SELECT has_extension('powa');
SELECT has_extension('pg_stat_statements');
CREATE TABLE smoke_powa (id int);
INSERT INTO smoke_powa SELECT generate_series(1, 100);
SELECT is((SELECT count(*) FROM smoke_powa WHERE id > 50), 50::bigint, 'a query for pg_stat_statements');
SELECT is(powa_take_snapshot(), 0, 'a snapshot is taken without errors');
SELECT ok((SELECT count(*) FROM powa_statements WHERE query LIKE '%smoke_powa%') >= 1,
    'the statements are recorded');
SELECT ok((SELECT count(*) FROM powa_snapshot_metas) >= 1, 'the snapshot is recorded');

SELECT * FROM finish();
ROLLBACK;
