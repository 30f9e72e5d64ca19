-- fingerprint.sql: the facts of one database that an upgrade must keep.
--
-- `pgimg migration-test` runs it in each non-template database before and
-- after the upgrade, and compares the outputs:
--
--   psql -X -At -F '\t' -v ON_ERROR_STOP=1 -d DB -f fingerprint.sql
--
-- Output: one fact per line, fields separated by tabs, nothing else (no
-- headers, no command tags, no notices).  Each query returns a single text
-- column built with concat_ws(E'\t', ...), so the output does not depend on
-- psql's field separator.  Sections come in a fixed order and lines within a
-- section are sorted with the "C" collation:
--
--   table      schema.name  rows  hash        ordinary tables, partitions,
--                                              materialized views
--   table      schema.name  unpopulated        a materialized view WITH NO DATA
--   sequence   schema.name  last_value  is_called
--   lo         oid  bytes  md5
--   lo-acl     oid  owner  acl
--   extension  name  version  schema
--   acl        kind  identity  acl              kind: table, column, sequence,
--                                              schema, function, type,
--                                              default-privileges, database
--                                              (large objects: lo-acl)
--   index      name  md5-of-result  uses-index  from public.migration_index_queries
--   role       name  attributes...  md5-of-password-hash-or-empty
--   member     role  member  admin_option
--   setting    role  database  setting          ALTER ROLE/DATABASE ... SET
--   jit        available  t or f                whether JIT compilation can
--                                              load (the image's jit layer)
--
-- role, member, setting and the database ACLs are cluster-wide; they are
-- printed only in the database `postgres` (the caller runs this file there
-- once).
--
-- Nothing is created or written, not even a temporary object: every
-- transaction is read-only, tables are read with \gexec, and the index
-- checks pass their result out of a DO block through a session setting.
--
-- What may differ between majors without being a fault, and how it is treated:
--
-- * Predefined roles (pg_*, including pg_database_owner from 14) differ from
--   major to major: roles whose names start with pg_ are not listed, and
--   neither are memberships whose member is one.  A membership of a mig_ role
--   in a predefined role is listed.
-- * PostgreSQL 15 made pg_database_owner the owner of a new database's public
--   schema and took CREATE from PUBLIC.  pg_upgrade and a restored dump keep
--   the old owner and ACL, so `acl schema public` must be equal before and
--   after; it differs between a cluster made by 13 or 14 and one made by 15 or
--   later, which matters only if the two sides were loaded separately.
-- * An ACL is printed only where it differs from the default for the object's
--   owner (acldefault()), with its entries sorted: a NULL ACL and an explicit
--   ACL equal to the default mean the same, and the order of entries depends
--   on the order of the GRANTs.
-- * Objects that belong to an extension (pg_depend deptype 'e') have no acl
--   lines: their privileges come from the extension's script, which may
--   change with its version.  Their tables do have table lines.
-- * Extension versions: pg_upgrade keeps the old cluster's version until
--   ALTER EXTENSION ... UPDATE, while a restored dump creates the new
--   cluster's default version.  The extension lines show it; a table of an
--   extension whose version changed may then have other columns and rows.
--   A table line of an extension's table ends with the extension's name and
--   version: when the version moved, pgimg asks of such a table only that
--   no row was lost (an update script may change or add rows and tables).
-- * TimescaleDB's job statistics (_timescaledb_internal.bgw_job_stat,
--   bgw_job_stat_history and its sequence) are left out: its background
--   workers write them whenever a job (its telemetry among them) runs, on
--   either server.  So is _timescaledb_catalog.metadata: it holds the
--   installation's uuid and install time, which a restored dump makes anew
--   by design (pg_upgrade carries them).
-- * cron.job_run_details and cron.runid_seq are left out: pg_cron writes to
--   them whenever a job runs, which can happen between the two fingerprints
--   (the data set's job runs at 03:00).  cron.job itself is compared.
-- * Row text depends on a few settings (TimeZone, DateStyle, IntervalStyle,
--   extra_float_digits, bytea_output), which are fixed below.  The text of
--   float values is the shortest exact form since 12, so it is the same on
--   every major this runs on.

\set QUIET on
SET client_min_messages = warning;
SET default_transaction_read_only = on;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 1;
SET bytea_output = 'hex';
SET xmloption = content;
SET jit = off;
SET statement_timeout = 0;
-- Objects outside pg_catalog and public are printed schema-qualified.
SET search_path = pg_catalog, public;

SELECT current_database() = 'postgres' AS is_postgres,
       to_regclass('public.migration_index_queries') IS NOT NULL AS has_index_queries
\gset

---------------------------------------------------------------------------
-- Tables: row count and an order-independent hash of every row's text.
-- FROM ONLY, so that a parent's rows are not counted again with its
-- children's.  Partitioned tables have no rows of their own and are left
-- out; their partitions are listed.  The row alias fp_row is an unlikely
-- column name: a column of the same name would hide the whole-row value.
---------------------------------------------------------------------------
SELECT CASE
         WHEN c.relkind = 'm' AND NOT c.relispopulated THEN
           format($q$SELECT concat_ws(E'\t', 'table', %L, 'unpopulated')$q$,
                  format('%I.%I', n.nspname, c.relname))
         ELSE
           format($q$SELECT concat_ws(E'\t', 'table', %L, count(*),
                          coalesce(sum(('x' || left(md5(fp_row::text), 16))::bit(64)::bigint::numeric), 0), %L)
                     FROM ONLY %I.%I AS fp_row$q$,
                  format('%I.%I', n.nspname, c.relname), x.ext, n.nspname, c.relname)
       END
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (SELECT e.extname || ' ' || e.extversion AS ext
                   FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                   WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                     AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e') x ON true
WHERE c.relkind IN ('r', 'm')
  AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg\_temp\_%'
  AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
  AND format('%I.%I', n.nspname, c.relname) NOT IN ('cron.job_run_details',
      '_timescaledb_internal.bgw_job_stat', '_timescaledb_internal.bgw_job_stat_history',
      '_timescaledb_catalog.metadata')
ORDER BY format('%I.%I', n.nspname, c.relname) COLLATE "C"
\gexec

---------------------------------------------------------------------------
-- Sequences, including those of identity and serial columns.
---------------------------------------------------------------------------
SELECT format($q$SELECT concat_ws(E'\t', 'sequence', %L, last_value, is_called) FROM %I.%I$q$,
              format('%I.%I', n.nspname, c.relname), n.nspname, c.relname)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S'
  AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg\_temp\_%'
  AND format('%I.%I', n.nspname, c.relname) NOT IN ('cron.runid_seq',
      '_timescaledb_internal.bgw_job_stat_history_id_seq')
ORDER BY format('%I.%I', n.nspname, c.relname) COLLATE "C"
\gexec

---------------------------------------------------------------------------
-- Large objects: size and md5 of the content, owner and ACL.
---------------------------------------------------------------------------
SELECT concat_ws(E'\t', 'lo', m.oid, length(d.data), md5(d.data))
FROM pg_largeobject_metadata m, LATERAL (SELECT lo_get(m.oid) AS data) d
ORDER BY m.oid;

SELECT concat_ws(E'\t', 'lo-acl', m.oid, pg_get_userbyid(m.lomowner),
                 array_to_string(ARRAY(SELECT a::text
                                       FROM unnest(coalesce(m.lomacl, acldefault('L', m.lomowner))) a
                                       ORDER BY a::text COLLATE "C"), ','))
FROM pg_largeobject_metadata m
ORDER BY m.oid;

---------------------------------------------------------------------------
-- Extensions.
---------------------------------------------------------------------------
SELECT concat_ws(E'\t', 'extension', e.extname, e.extversion, n.nspname)
FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace
ORDER BY e.extname COLLATE "C";

---------------------------------------------------------------------------
-- Privileges that differ from the owner's default, entries sorted.
---------------------------------------------------------------------------
WITH objects (kind, identity, acl, dflt) AS (
    -- Tables, views, materialized views, foreign tables, sequences.
    SELECT CASE WHEN c.relkind = 'S' THEN 'sequence' ELSE 'table' END,
           format('%I.%I', n.nspname, c.relname),
           coalesce(c.relacl, acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char", c.relowner)),
           acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char", c.relowner)
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      AND n.nspname NOT LIKE 'pg\_temp\_%'
      AND NOT EXISTS (SELECT FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    UNION ALL
    -- Columns: no privileges by default.
    SELECT 'column',
           format('%I.%I.%I', n.nspname, c.relname, a.attname),
           coalesce(a.attacl, '{}'),
           '{}'
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      AND NOT EXISTS (SELECT FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    UNION ALL
    SELECT 'schema', quote_ident(n.nspname),
           coalesce(n.nspacl, acldefault('n', n.nspowner)), acldefault('n', n.nspowner)
    FROM pg_namespace n
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      AND n.nspname NOT LIKE 'pg\_temp\_%'
      AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
      AND NOT EXISTS (SELECT FROM pg_depend d
                      WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
    UNION ALL
    -- Functions, procedures, aggregates.
    SELECT 'function', p.oid::regprocedure::text,
           coalesce(p.proacl, acldefault('f', p.proowner)), acldefault('f', p.proowner)
    FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND NOT EXISTS (SELECT FROM pg_depend d
                      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    UNION ALL
    -- Types and domains, but not array types (they follow their element
    -- type) nor the row types of tables.
    SELECT 'type', format_type(t.oid, NULL),
           coalesce(t.typacl, acldefault('T', t.typowner)), acldefault('T', t.typowner)
    FROM pg_type t
    JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      AND NOT (t.typcategory = 'A' AND t.typelem <> 0)
      AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
      AND NOT EXISTS (SELECT FROM pg_depend d
                      WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
    UNION ALL
    -- ALTER DEFAULT PRIVILEGES: role, schema (* for all), kind of object.
    SELECT 'default-privileges',
           concat_ws(':', pg_get_userbyid(da.defaclrole),
                     coalesce((SELECT quote_ident(n.nspname) FROM pg_namespace n WHERE n.oid = da.defaclnamespace), '*'),
                     da.defaclobjtype),
           da.defaclacl, '{}'
    FROM pg_default_acl da
    UNION ALL
    SELECT 'database', quote_ident(d.datname),
           coalesce(d.datacl, acldefault('d', d.datdba)), acldefault('d', d.datdba)
    FROM pg_database d
    WHERE current_database() = 'postgres'
), sorted AS (
    SELECT kind, identity,
           array_to_string(ARRAY(SELECT a::text FROM unnest(acl) a ORDER BY a::text COLLATE "C"), ',') AS acl,
           array_to_string(ARRAY(SELECT a::text FROM unnest(dflt) a ORDER BY a::text COLLATE "C"), ',') AS dflt
    FROM objects
)
SELECT concat_ws(E'\t', 'acl', kind, identity, acl)
FROM sorted
WHERE acl <> dflt
ORDER BY kind COLLATE "C", identity COLLATE "C";

---------------------------------------------------------------------------
-- Index queries: each query of public.migration_index_queries is run with
-- enable_seqscan off; the line gives the md5 of its rows (in the query's
-- order) and whether the plan uses an index.  EXPLAIN cannot be read from
-- plain SQL, so a DO block runs both and leaves its lines in the session
-- setting pgimg.fingerprint_index; a failing query gives an ERROR line
-- instead of ending the run.
---------------------------------------------------------------------------
\if :has_index_queries
DO $index$
DECLARE
    q     record;
    plan  text;
    line  text;
    hash  text;
    lines text[] := '{}';
BEGIN
    PERFORM set_config('enable_seqscan', 'off', true);
    FOR q IN SELECT name, query FROM public.migration_index_queries ORDER BY name COLLATE "C" LOOP
        BEGIN
            plan := '';
            FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q.query LOOP
                plan := plan || line || E'\n';
            END LOOP;
            EXECUTE format($f$SELECT md5(coalesce(string_agg(r::text, E'\n'), '')) FROM (%s) AS r$f$, q.query)
                INTO hash;
            lines := lines || concat_ws(E'\t', 'index', q.name, hash,
                                        plan ~ '(Index Scan|Index Only Scan|Bitmap Index Scan)');
        EXCEPTION WHEN OTHERS THEN
            lines := lines || concat_ws(E'\t', 'index', q.name, 'ERROR', SQLSTATE, SQLERRM);
        END;
    END LOOP;
    PERFORM set_config('pgimg.fingerprint_index', array_to_string(lines, E'\n'), false);
END
$index$;
SELECT l FROM unnest(string_to_array(current_setting('pgimg.fingerprint_index'), E'\n')) AS l
ORDER BY l COLLATE "C";
\endif

---------------------------------------------------------------------------
-- Cluster-wide: roles, memberships, role and database settings.  The
-- password hash itself is never printed, only its md5.
---------------------------------------------------------------------------
\if :is_postgres
SELECT concat_ws(E'\t', 'role', r.rolname,
                 CASE WHEN r.rolsuper THEN 'SUPERUSER' ELSE 'NOSUPERUSER' END,
                 CASE WHEN r.rolinherit THEN 'INHERIT' ELSE 'NOINHERIT' END,
                 CASE WHEN r.rolcreaterole THEN 'CREATEROLE' ELSE 'NOCREATEROLE' END,
                 CASE WHEN r.rolcreatedb THEN 'CREATEDB' ELSE 'NOCREATEDB' END,
                 CASE WHEN r.rolcanlogin THEN 'LOGIN' ELSE 'NOLOGIN' END,
                 CASE WHEN r.rolreplication THEN 'REPLICATION' ELSE 'NOREPLICATION' END,
                 CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' ELSE 'NOBYPASSRLS' END,
                 'CONNECTION LIMIT ' || r.rolconnlimit,
                 'VALID UNTIL ' || coalesce(r.rolvaliduntil::text, 'always'),
                 coalesce(md5(r.rolpassword), ''))
FROM pg_authid r
WHERE r.rolname !~ '^pg_'
ORDER BY r.rolname COLLATE "C";

-- From 16 on, the same membership may be granted by several grantors; the
-- admin option counts if any grant has it.
SELECT concat_ws(E'\t', 'member', r.rolname, m.rolname, bool_or(am.admin_option))
FROM pg_auth_members am
JOIN pg_authid r ON r.oid = am.roleid
JOIN pg_authid m ON m.oid = am.member
WHERE m.rolname !~ '^pg_'
GROUP BY r.rolname, m.rolname
ORDER BY r.rolname COLLATE "C", m.rolname COLLATE "C";

SELECT concat_ws(E'\t', 'setting',
                 coalesce((SELECT quote_ident(r.rolname) FROM pg_authid r WHERE r.oid = s.setrole), '*'),
                 coalesce((SELECT quote_ident(d.datname) FROM pg_database d WHERE d.oid = s.setdatabase), '*'),
                 c.setting)
FROM pg_db_role_setting s, unnest(s.setconfig) AS c(setting)
ORDER BY 1;

-- JIT is a layer of the image, not an extension: with jit on, whether the
-- server can load its provider (llvmjit.so).
SET jit = on;
SELECT concat_ws(E'\t', 'jit', 'available', pg_jit_available());
SET jit = off;
\endif
