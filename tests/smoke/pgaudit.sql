\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pgaudit must be in shared_preload_libraries (CREATE EXTENSION refuses
-- otherwise). Its output goes to the server log; here we check that the
-- module is loaded and validating its settings, that its event triggers
-- exist, and that audited statements run.
BEGIN;
SELECT plan(10);

CREATE EXTENSION IF NOT EXISTS pgaudit;
SELECT has_extension('pgaudit');
SELECT ok(current_setting('shared_preload_libraries') LIKE '%pgaudit%', 'pgaudit is preloaded');
SELECT ok(EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtfoid::regproc::text LIKE '%pgaudit_ddl_command_end%'),
    'the DDL event trigger exists');
SELECT ok(EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtfoid::regproc::text LIKE '%pgaudit_sql_drop%'),
    'the sql_drop event trigger exists');

SELECT lives_ok($$SET LOCAL pgaudit.log = 'read, write, ddl, -misc'$$, 'pgaudit.log takes a class list');
SELECT is(current_setting('pgaudit.log'), 'read, write, ddl, -misc', 'and keeps it');
SELECT throws_ok($$SET LOCAL pgaudit.log = 'no_such_class'$$, '22023', NULL, 'an unknown class is rejected (the module validates)');
SELECT throws_ok($$SET LOCAL pgaudit.log_level = 'bogus'$$, '22023', NULL, 'an unknown log level is rejected');

-- SESSION and OBJECT audit logging of real statements
SET LOCAL pgaudit.log = 'all';
SET LOCAL pgaudit.log_relation = on;
SET LOCAL pgaudit.log_parameter = on;
CREATE ROLE smoke_auditor NOLOGIN;
SET LOCAL pgaudit.role = 'smoke_auditor';
CREATE TABLE smoke_secrets (id integer PRIMARY KEY, secret text);
GRANT SELECT, INSERT ON smoke_secrets TO smoke_auditor;
SELECT lives_ok($$INSERT INTO smoke_secrets VALUES (1, 'x'); SELECT * FROM smoke_secrets$$, 'audited DML runs');
SELECT is((SELECT count(*) FROM smoke_secrets), 1::bigint, 'and has its effect');

SELECT * FROM finish();
ROLLBACK;
