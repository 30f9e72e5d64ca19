\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- A backend may lower its own priority (raise its nice value), not raise it.
SELECT plan(5);

CREATE EXTENSION IF NOT EXISTS prioritize;
SELECT has_extension('prioritize');
SELECT get_backend_priority(pg_backend_pid()) AS nice \gset
SELECT ok(:nice BETWEEN -20 AND 19, 'get_backend_priority reads this backend''s nice value');
SET client_min_messages = warning;
SELECT ok(set_backend_priority(pg_backend_pid(), least(:nice + 2, 19)), 'set_backend_priority lowers it');
RESET client_min_messages;
SELECT is(get_backend_priority(pg_backend_pid()), least(:nice + 2, 19), 'the new value is in effect');
SET client_min_messages = error;
SELECT is(set_backend_priority(pg_backend_pid(), least(:nice + 2, 19) - 1), false,
    'raising it again is refused (the server lacks CAP_SYS_NICE)');
RESET client_min_messages;

SELECT * FROM finish();
