\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(8);

CREATE EXTENSION IF NOT EXISTS pgpcre;
SELECT has_extension('pgpcre');

SELECT ok('foo' ~ pcre 'fo+', 'text ~ pcre matches');
SELECT ok('bar' !~ pcre 'fo+', 'text !~ pcre does not match');
SELECT ok('FOO' ~ pcre '(?i)fo+', 'inline case-insensitive option');
SELECT ok('2024-03-01' ~ pcre '^\d{4}-\d{2}-\d{2}$', 'Perl character classes');
SELECT is(pcre_match('fo+', 'xfoobar'), 'foo', 'pcre_match returns the matched text');
SELECT is(pcre_captured_substrings('(\w+)@(\w+)\.org', 'mail: alice@example.org'), ARRAY['alice', 'example'],
    'pcre_captured_substrings returns the groups');
SELECT ok(pcre_match('fo+', 'bar') IS NULL, 'no match is NULL');

SELECT * FROM finish();
ROLLBACK;
