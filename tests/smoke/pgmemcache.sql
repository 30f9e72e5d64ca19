\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- No memcached server here: the functions exist, a server can be added,
-- and talking to it fails cleanly (127.0.0.1 port 1 is closed).
BEGIN;
SELECT plan(7);

CREATE EXTENSION IF NOT EXISTS pgmemcache;
SELECT has_extension('pgmemcache');
SELECT has_function('memcache_set', ARRAY['text', 'text'], 'memcache_set(text, text) exists');
SELECT has_function('memcache_get', ARRAY['text'], 'memcache_get(text) exists');
SELECT has_function('memcache_incr', ARRAY['text'], 'memcache_incr(text) exists');

SET LOCAL client_min_messages = error;
SELECT ok(memcache_server_add('127.0.0.1:1'), 'memcache_server_add');
SELECT ok(NOT memcache_set('smoke-key', 'value'), 'memcache_set fails without a server');
SELECT ok((SELECT string_agg(memcache_stats, '') FROM memcache_stats()) LIKE '%127.0.0.1%', 'memcache_stats lists the server');

SELECT * FROM finish();
ROLLBACK;
