\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(7);

CREATE EXTENSION IF NOT EXISTS prefix;
SELECT has_extension('prefix');

SELECT ok('0123'::prefix_range @> '012345', 'prefix 0123 contains 012345');
SELECT ok(NOT ('0123'::prefix_range @> '0124'), 'prefix 0123 does not contain 0124');
SELECT is('123[4-6]'::prefix_range::text, '123[4-6]', 'a prefix with a range of next characters round-trips');
SELECT ok('123[4-6]'::prefix_range @> '1235678', '123[4-6] contains 1235678');

-- longest-prefix match through the GiST index (a phone routing table)
CREATE TABLE smoke_routes (prefix prefix_range PRIMARY KEY, carrier text NOT NULL);
INSERT INTO smoke_routes VALUES ('33', 'france'), ('331', 'paris'), ('3314', 'paris centre'), ('44', 'uk'), ('1', 'nanp');
INSERT INTO smoke_routes SELECT (1000 + i)::text, 'filler' FROM generate_series(1, 500) AS i;
CREATE INDEX smoke_routes_gist ON smoke_routes USING gist (prefix);
ANALYZE smoke_routes;
SET LOCAL enable_seqscan = off;
SELECT results_eq(
    $$SELECT carrier FROM smoke_routes WHERE prefix @> '33142345678' ORDER BY length(prefix) DESC$$,
    $$VALUES ('paris centre'::text), ('paris'), ('france')$$,
    'all matching prefixes, longest first');
SELECT is(
    (SELECT carrier FROM smoke_routes WHERE prefix @> '4420123' ORDER BY length(prefix) DESC LIMIT 1),
    'uk', 'longest prefix match for a UK number');

SELECT * FROM finish();
ROLLBACK;
