\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(8);

CREATE EXTENSION IF NOT EXISTS pg_permissions;
SELECT has_extension('pg_permissions');

CREATE ROLE smoke_reader NOLOGIN;
CREATE SCHEMA smoke_app;
CREATE TABLE smoke_app.orders (id integer PRIMARY KEY, item text);
GRANT USAGE ON SCHEMA smoke_app TO smoke_reader;
GRANT SELECT ON smoke_app.orders TO smoke_reader;

SELECT results_eq(
    $$SELECT permission::text, granted FROM table_permissions
      WHERE role_name = 'smoke_reader' AND schema_name = 'smoke_app' AND object_name = 'orders'
        AND permission::text IN ('SELECT', 'INSERT') ORDER BY 1$$,
    $$VALUES ('INSERT'::text, false), ('SELECT', true)$$,
    'table_permissions shows what is granted');
SELECT ok((SELECT granted FROM schema_permissions WHERE role_name = 'smoke_reader' AND schema_name = 'smoke_app' AND permission = 'USAGE'),
    'schema_permissions shows USAGE');

-- the desired state: SELECT and INSERT on every table of the schema
INSERT INTO permission_target (id, role_name, permissions, object_type, schema_name, object_name, column_name)
VALUES (1, 'smoke_reader', ARRAY['SELECT', 'INSERT']::perm_type[], 'TABLE', 'smoke_app', NULL, NULL);
SELECT throws_ok(
    $$INSERT INTO permission_target (id, role_name, permissions, object_type, schema_name, object_name, column_name)
      VALUES (2, 'smoke_reader', ARRAY['CONNECT']::perm_type[], 'TABLE', 'smoke_app', 'orders', NULL)$$,
    '23514', NULL, 'a permission that does not apply to the object type is rejected');

SELECT results_eq(
    $$SELECT missing, object_name, permission::text FROM permission_diffs() WHERE role_name = 'smoke_reader'$$,
    $$VALUES (true, 'orders'::text, 'INSERT'::text)$$,
    'permission_diffs reports the missing INSERT');

-- permission_diffs() makes a temporary table that lives until commit: drop
-- it before calling again in the same transaction
DROP TABLE IF EXISTS pg_temp.findings;

-- granting through the view runs GRANT
UPDATE table_permissions SET granted = true
WHERE role_name = 'smoke_reader' AND schema_name = 'smoke_app' AND object_name = 'orders' AND permission = 'INSERT';
SELECT ok(has_table_privilege('smoke_reader', 'smoke_app.orders', 'INSERT'), 'updating the view granted INSERT');
DROP TABLE IF EXISTS pg_temp.findings;
SELECT is_empty($$SELECT 1 FROM permission_diffs() WHERE role_name = 'smoke_reader'$$, 'no difference is left');

DROP TABLE IF EXISTS pg_temp.findings;
GRANT DELETE ON smoke_app.orders TO smoke_reader;
SELECT results_eq(
    $$SELECT missing, permission::text FROM permission_diffs() WHERE role_name = 'smoke_reader'$$,
    $$VALUES (false, 'DELETE'::text)$$,
    'an extra grant is reported as not wanted');

SELECT * FROM finish();
ROLLBACK;
