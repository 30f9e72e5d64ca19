\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(9);

CREATE EXTENSION IF NOT EXISTS semver;
SELECT has_extension('semver');

SELECT ok('1.2.3'::semver < '1.10.0'::semver, '1.2.3 < 1.10.0 (numeric, not lexical)');
SELECT ok('1.0.0-alpha'::semver < '1.0.0'::semver, 'a pre-release sorts before its release');
SELECT ok('1.0.0-alpha.1'::semver < '1.0.0-beta'::semver, 'alpha.1 < beta');
SELECT ok('1.0.0+build.5'::semver = '1.0.0+build.7'::semver, 'build metadata is ignored in comparison');
SELECT is(get_semver_major('3.4.5'), 3, 'get_semver_major');
SELECT ok(is_semver('1.2.3-rc.1') AND NOT is_semver('1.2'), 'is_semver');
SELECT throws_ok($$SELECT 'not.a.version'::semver$$, NULL, NULL, 'an invalid version is rejected');

CREATE TABLE smoke_releases (v semver PRIMARY KEY);
INSERT INTO smoke_releases VALUES ('0.9.0'), ('1.10.0'), ('1.2.0'), ('1.2.0-rc.1'), ('2.0.0-alpha'), ('1.9.9');
SELECT results_eq(
    $$SELECT r.v::text FROM smoke_releases AS r ORDER BY r.v$$,
    $$VALUES ('0.9.0'::text), ('1.2.0-rc.1'), ('1.2.0'), ('1.9.9'), ('1.10.0'), ('2.0.0-alpha')$$,
    'semver ordering in a btree-indexed column');

SELECT * FROM finish();
ROLLBACK;
