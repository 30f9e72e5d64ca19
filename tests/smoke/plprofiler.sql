\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- plprofiler is preloaded: the shared-memory statistics (plprofiler's
-- monitor and global modes) need it; local profiling does not. Whether
-- a transaction is profiled is decided at its first PL/pgSQL call (and
-- pgTAP is PL/pgSQL): each step is its own transaction, no BEGIN/ROLLBACK.
SELECT plan(8);

CREATE EXTENSION IF NOT EXISTS plprofiler;
SELECT has_extension('plprofiler');

CREATE FUNCTION smoke_fib(n int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    IF n < 2 THEN
        RETURN n;
    END IF;
    RETURN smoke_fib(n - 1) + smoke_fib(n - 2);
END
$$;

SELECT lives_ok($$SELECT pl_profiler_reset_local()$$, 'reset the local data');
SELECT lives_ok($$SELECT pl_profiler_set_enabled_local(true)$$, 'profile this session');
SELECT is(smoke_fib(10), 55, 'the profiled function runs');
SELECT is((SELECT max(exec_count) FROM pl_profiler_linestats_local() WHERE func_oid = 'smoke_fib'::regproc),
    177::bigint, 'its lines ran once per call (177 calls for fib(10))');
SELECT ok(EXISTS (SELECT 1 FROM pl_profiler_callgraph_local()
                  WHERE stack = ARRAY['smoke_fib'::regproc::oid, 'smoke_fib'::regproc::oid] AND call_count > 0),
    'the call graph has the recursive calls');
SELECT ok(EXISTS (SELECT 1 FROM pl_profiler_funcs_source(ARRAY['smoke_fib'::regproc::oid]) WHERE source LIKE '%smoke_fib(n - 1)%'),
    'the source lines go with the statistics');
SELECT lives_ok($$SELECT pl_profiler_set_enabled_local(false)$$, 'stop profiling');

SELECT * FROM finish();
