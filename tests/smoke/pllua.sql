\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS pllua;
SELECT has_extension('pllua');

CREATE FUNCTION smoke_lua_fib(n integer) RETURNS bigint LANGUAGE pllua AS $$
    local a, b = 0, 1
    for i = 1, n do a, b = b, a + b end
    return a
$$;
SELECT is(smoke_lua_fib(50), 12586269025::bigint, 'fib(50) in Lua');

CREATE FUNCTION smoke_lua_gsub(s text) RETURNS text LANGUAGE pllua AS $$
    return (string.gsub(s, "%s+", "_"))
$$;
SELECT is(smoke_lua_gsub('a b   c'), 'a_b_c', 'Lua string patterns');

CREATE TABLE smoke_kv (k text PRIMARY KEY, v integer NOT NULL);
INSERT INTO smoke_kv VALUES ('a', 1), ('b', 2), ('c', 3);
CREATE FUNCTION smoke_lua_sum() RETURNS integer LANGUAGE pllua AS $$
    local s = 0
    for r in spi.rows("SELECT v FROM smoke_kv") do s = s + r.v end
    return s
$$;
SELECT is(smoke_lua_sum(), 6, 'SPI rows from Lua');

CREATE FUNCTION smoke_lua_series(n integer) RETURNS SETOF integer LANGUAGE pllua AS $$
    for i = 1, n do coroutine.yield(i * 10) end
$$;
SELECT results_eq($$SELECT * FROM smoke_lua_series(3)$$, $$VALUES (10), (20), (30)$$, 'set-returning Lua function');

CREATE FUNCTION smoke_lua_error() RETURNS void LANGUAGE pllua AS $$ error("boom") $$;
SELECT throws_like($$SELECT smoke_lua_error()$$, '%boom%', 'a Lua error becomes an error');

SELECT * FROM finish();
ROLLBACK;
