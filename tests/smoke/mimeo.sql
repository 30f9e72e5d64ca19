\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- mimeo copies tables from a source database over dblink; here the
-- source is this database, reached over the server's own Unix socket
-- (unix_socket_directories and port; a password-less local connection,
-- as for plproxy).  The dblink side
-- sees only committed data: no BEGIN/ROLLBACK; the schemas are dropped
-- at the end.  Statistics are not asked whether the source changed
-- (p_check_stats): they may not be flushed yet.
SELECT plan(6);

CREATE SCHEMA mimeo;
CREATE EXTENSION IF NOT EXISTS mimeo SCHEMA mimeo CASCADE;
SELECT has_extension('mimeo');
INSERT INTO mimeo.dblink_mapping_mimeo (data_source, username, pwd)
    VALUES (format('dbname=%s host=%s port=%s', current_database(),
                   trim(split_part(current_setting('unix_socket_directories'), ',', 1)), current_setting('port')),
            current_user, NULL) RETURNING data_source_id AS src \gset
CREATE SCHEMA smoke_src;
CREATE SCHEMA smoke_dst;
CREATE TABLE smoke_src.items (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO smoke_src.items SELECT g, 'item ' || g FROM generate_series(1, 100) AS g;

SELECT mimeo.snapshot_maker('smoke_src.items', :src, p_dest_table := 'smoke_dst.items') AS made \gset
SELECT is((SELECT count(*) FROM smoke_dst.items), 100::bigint, 'snapshot_maker copies the table');
SELECT ok(EXISTS (SELECT 1 FROM mimeo.refresh_config_snap WHERE dest_table = 'smoke_dst.items'), 'and configures its refresh');

INSERT INTO smoke_src.items SELECT g, 'item ' || g FROM generate_series(101, 150) AS g;
UPDATE smoke_src.items SET name = 'renamed' WHERE id = 7;
SELECT mimeo.refresh_snap('smoke_dst.items', p_check_stats := false) AS refreshed \gset
SELECT is((SELECT count(*) FROM smoke_dst.items), 150::bigint, 'refresh_snap brings the new rows');
SELECT is((SELECT name FROM smoke_dst.items WHERE id = 7), 'renamed', 'and the changed ones');
SELECT ok(EXISTS (SELECT 1 FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = 'smoke_dst' AND c.relname LIKE 'items_snap%' AND x.indisunique),
    'the source''s primary key is rebuilt on the copy, as a unique index');

DROP SCHEMA smoke_src, smoke_dst CASCADE;
SELECT * FROM finish();
