\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(7);

CREATE EXTENSION IF NOT EXISTS debversion;
SELECT has_extension('debversion');
SELECT ok('1.0-1'::debversion < '1.0-2'::debversion, 'Debian revisions compare');
SELECT ok('1.0~rc1'::debversion < '1.0'::debversion, 'a tilde sorts before the release');
SELECT ok('1:0.9'::debversion > '2.0'::debversion, 'the epoch wins');
SELECT ok('1.10'::debversion > '1.9'::debversion, 'numeric parts compare as numbers');
SELECT ok('1.0'::debversion = '1.0-0'::debversion OR '1.0'::debversion < '1.0-0'::debversion, 'a missing revision is the empty one');

CREATE TABLE smoke_pkgs (name text, version debversion);
INSERT INTO smoke_pkgs VALUES ('a', '2.0-1'), ('a', '2.0~beta1-1'), ('a', '1:1.0-1'), ('a', '2.0-1+b1');
SELECT results_eq($$SELECT version::text AS v FROM smoke_pkgs ORDER BY version$$,
    ARRAY['2.0~beta1-1', '2.0-1', '2.0-1+b1', '1:1.0-1'], 'ORDER BY sorts as dpkg does');

SELECT * FROM finish();
ROLLBACK;
