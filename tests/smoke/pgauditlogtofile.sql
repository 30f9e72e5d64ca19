\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- Needs shared_preload_libraries = 'pgaudit,pgauditlogtofile'.  pgaudit's
-- session audit records go to pgaudit.log_directory (log/ in the data
-- directory), one file per pgaudit.log_filename pattern, not to the
-- server log; they are read back with pg_read_file.
BEGIN;
SELECT plan(5);

CREATE EXTENSION IF NOT EXISTS pgaudit;
CREATE EXTENSION IF NOT EXISTS pgauditlogtofile;
SELECT has_extension('pgauditlogtofile');
SELECT is(current_setting('pgaudit.log_directory'), 'log', 'audit files go to log/ in the data directory');

SET LOCAL pgaudit.log = 'read, write';
CREATE TABLE smoke_audited (id integer, secret text);
INSERT INTO smoke_audited VALUES (1, 'smoke-audit-marker-7f3a');
SELECT count(*) FROM smoke_audited WHERE secret LIKE 'smoke-audit-marker-%' \gset

CREATE TEMP TABLE smoke_audit_lines AS
    SELECT f, line FROM pg_ls_dir('log') AS f, regexp_split_to_table(pg_read_file('log/' || f), E'\n') AS line
    WHERE f LIKE 'audit-%';
SELECT ok((SELECT count(DISTINCT f) FROM smoke_audit_lines) >= 1, 'an audit file was written');
SELECT ok(EXISTS (SELECT 1 FROM smoke_audit_lines WHERE line LIKE '%WRITE%INSERT%smoke-audit-marker-7f3a%'),
    'it has the INSERT, classed WRITE, with its statement');
SELECT ok(EXISTS (SELECT 1 FROM smoke_audit_lines WHERE line LIKE '%READ%SELECT%smoke_audited%'),
    'and the SELECT, classed READ');

SELECT * FROM finish();
ROLLBACK;
