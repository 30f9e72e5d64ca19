\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- With the native driver (a publication), DDL in a configured schema is
-- caught by event triggers: new tables join the publication and the
-- statement is queued for subscribers. pglogical, the other driver, is
-- preloaded as its recipe asks.
BEGIN;
SELECT plan(6);

SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgl_ddl_deploy;
SELECT has_extension('pgl_ddl_deploy');
CREATE PUBLICATION smoke_pub;
INSERT INTO pgl_ddl_deploy.set_configs (set_name, include_schema_regex, driver)
    VALUES ('smoke_pub', '^smoke_s$', 'native'::pgl_ddl_deploy.driver);
SELECT ok(pgl_ddl_deploy.deploy('smoke_pub'), 'deploy the configuration');
SELECT ok(EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname LIKE 'auto_rep_ddl_create_%smoke_pub'), 'its event triggers are in place');
CREATE SCHEMA smoke_s;
CREATE TABLE smoke_s.orders (id int PRIMARY KEY, item text);
SELECT ok(EXISTS (SELECT 1 FROM pg_publication_tables WHERE pubname = 'smoke_pub' AND schemaname = 'smoke_s' AND tablename = 'orders'),
    'a new table in the schema joins the publication');
SELECT ok(EXISTS (SELECT 1 FROM pgl_ddl_deploy.events WHERE set_name = 'smoke_pub' AND ddl_sql_raw LIKE '%smoke_s.orders%'),
    'the DDL is logged');
SELECT ok(EXISTS (SELECT 1 FROM pgl_ddl_deploy.queue WHERE message LIKE '%smoke_s.orders%'), 'and queued for subscribers');

SELECT * FROM finish();
ROLLBACK;
