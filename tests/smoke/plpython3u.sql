\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS plpython3u;
SELECT has_extension('plpython3u');

CREATE FUNCTION smoke_py_version_major() RETURNS integer LANGUAGE plpython3u AS $$
import sys
return sys.version_info[0]
$$;
SELECT is(smoke_py_version_major(), 3, 'the interpreter is Python 3');

CREATE FUNCTION smoke_py_json(text) RETURNS text LANGUAGE plpython3u AS $$
import json
d = json.loads(args[0])
return ",".join(sorted(d.keys()))
$$;
SELECT is(smoke_py_json('{"b": 1, "a": 2, "c": 3}'), 'a,b,c', 'standard library (json) is available');

CREATE TABLE smoke_kv (k text PRIMARY KEY, v integer NOT NULL);
INSERT INTO smoke_kv VALUES ('a', 1), ('b', 2), ('c', 3);
CREATE FUNCTION smoke_py_sum() RETURNS integer LANGUAGE plpython3u AS $$
plan = plpy.prepare("SELECT v FROM smoke_kv WHERE v >= $1", ["integer"])
return sum(r["v"] for r in plpy.execute(plan, [2]))
$$;
SELECT is(smoke_py_sum(), 5, 'prepared SPI query from Python');

CREATE FUNCTION smoke_py_squares(n integer) RETURNS SETOF integer LANGUAGE plpython3u AS $$
return [i * i for i in range(1, n + 1)]
$$;
SELECT results_eq($$SELECT * FROM smoke_py_squares(4)$$, $$VALUES (1), (4), (9), (16)$$, 'set-returning Python function');

CREATE FUNCTION smoke_py_raise() RETURNS void LANGUAGE plpython3u AS $$
raise ValueError("boom")
$$;
SELECT throws_like($$SELECT smoke_py_raise()$$, '%boom%', 'a Python exception becomes an error');

SELECT * FROM finish();
ROLLBACK;
