\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS pljs;
SELECT has_extension('pljs');
CREATE FUNCTION smoke_js_add(a int, b int) RETURNS int LANGUAGE pljs AS $$ return a + b; $$;
SELECT is(smoke_js_add(40, 2), 42, 'a JavaScript function');
CREATE FUNCTION smoke_js_keys(j jsonb) RETURNS text[] LANGUAGE pljs AS $$ return Object.keys(j).sort(); $$;
SELECT is(smoke_js_keys('{"b": 1, "a": 2}'), ARRAY['a', 'b'], 'jsonb arrives as an object, an array goes back');
CREATE TABLE smoke_js (id int, name text);
INSERT INTO smoke_js VALUES (1, 'ada'), (2, 'grace');
CREATE FUNCTION smoke_js_names() RETURNS text LANGUAGE pljs AS $$
    return pljs.execute('SELECT name FROM smoke_js ORDER BY id').map(r => r.name).join(',');
$$;
SELECT is(smoke_js_names(), 'ada,grace', 'pljs.execute runs SQL');
CREATE FUNCTION smoke_js_throw() RETURNS int LANGUAGE pljs AS $$ throw new Error('smoke failure'); $$;
SELECT throws_ok($$SELECT smoke_js_throw()$$, NULL, NULL, 'a JavaScript exception is an SQL error');
SELECT lives_ok($$DO $js$ pljs.execute('INSERT INTO smoke_js VALUES (3, $1)', ['linus']); $js$ LANGUAGE pljs$$, 'DO blocks, with parameters');

SELECT * FROM finish();
ROLLBACK;
