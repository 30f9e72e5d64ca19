\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- Needs shared_preload_libraries = 'pg_stat_log' (PostgreSQL 18's custom
-- cumulative statistics).  Messages are counted as they are logged and
-- reach the view when the backend flushes its statistics, which
-- pg_stat_force_next_flush() asks for at the end of the next statement;
-- so no transaction block.
SELECT plan(5);

CREATE EXTENSION IF NOT EXISTS pg_stat_log;
SELECT has_extension('pg_stat_log');
SELECT coalesce(sum(count), 0) AS before FROM pg_stat_log
    WHERE database_name = current_database() AND elevel = 'WARNING' AND sqlerrcode = '22012' \gset

SET client_min_messages = error;
DO $$BEGIN
    FOR i IN 1..3 LOOP
        RAISE WARNING USING ERRCODE = 'division_by_zero', MESSAGE = 'smoke: warning ' || i;
    END LOOP;
END$$;
RESET client_min_messages;
SELECT pg_stat_force_next_flush() \gset
SELECT pg_sleep(0.1) \gset

SELECT is((SELECT sum(count) FROM pg_stat_log WHERE database_name = current_database() AND elevel = 'WARNING'
           AND sqlerrcode = '22012') - :before, 3::numeric,
    'the three warnings were counted under their SQLSTATE');
SELECT is((SELECT DISTINCT sqlerrcode_name FROM pg_stat_log WHERE sqlerrcode = '22012'), 'division_by_zero',
    'with the condition''s name');
SELECT ok(EXISTS (SELECT 1 FROM pg_stat_log WHERE sqlerrcode = '22012' AND backend_type = 'client backend'
                  AND user_name = current_user),
    'by backend type and user');
SELECT ok((SELECT num_entries FROM pg_stat_log_info()) >= 1, 'pg_stat_log_info counts the entries');

SELECT * FROM finish();
