\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- plugin_debugger is preloaded (global breakpoints and the listener need
-- its shared memory). A debugging session needs two connections; here
-- the API's setup steps are checked, and no breakpoint is ever hit.
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS pldbgapi;
SELECT has_extension('pldbgapi');
SELECT ok(current_setting('shared_preload_libraries') LIKE '%plugin_debugger%', 'plugin_debugger is preloaded');
SELECT is((SELECT serverprocessid FROM pldbg_get_proxy_info()), pg_backend_pid(), 'pldbg_get_proxy_info names this backend');
SELECT ok(pldbg_create_listener() > 0, 'a debugger listener is created');

CREATE FUNCTION smoke_add(a int, b int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    RETURN a + b;
END
$$;
SELECT has_function('pldbg_oid_debug', ARRAY['oid'], 'pldbg_oid_debug exists');
SELECT lives_ok($$SELECT pldbg_oid_debug('smoke_add(int,int)'::regprocedure)$$, 'a PL/pgSQL function can be marked for debugging');

SELECT * FROM finish();
ROLLBACK;
