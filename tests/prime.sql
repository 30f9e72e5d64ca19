-- prime.sql: create every extension the server offers, before data.sql runs.
--
-- Run by `pgimg migration-test` in the database `migration` of the old cluster:
--
--   psql -X -v ON_ERROR_STOP=1 -d migration -v skip=NAME,NAME,... -f prime.sql
--
-- `skip` is a comma-separated list of extensions not to create (it may be
-- empty).  The caller puts there the extensions the new major does not offer
-- (contrib's adminpack and old_snapshot are gone from 17, for example):
-- pg_upgrade refuses an extension whose library the new cluster lacks, and a
-- restored dump fails at its CREATE EXTENSION.
--
-- Every extension of pg_available_extensions that is not installed yet and not
-- skipped is created WITH CASCADE in its own subtransaction.  One that cannot be
-- created (its library must be preloaded, it may only live in another database,
-- it clashes with an extension created before it) is reported in a NOTICE that
-- names it and gives the reason, and the loop goes on: this file never fails
-- because of an extension.  Extensions are taken in name order, so two runs on
-- the same image create the same set; CASCADE creates what each one requires.

\if :{?skip}
\else
\set skip ''
\endif

-- A DO block cannot see psql variables, so the list travels in a setting.
SET pgimg.skip = :'skip';

-- PostGIS's topology and tiger geocoder each append their schema to the
-- database's search_path (ALTER DATABASE ... SET search_path), starting from
-- the value the session began with.  Created in one session, the second
-- would overwrite the first one's change, while a restored dump creates them
-- in a session that already sees the saved setting, and ends with another
-- search_path.  So topology comes first, in a session of its own.
DO $topology$
BEGIN
    IF EXISTS (SELECT FROM pg_available_extensions
               WHERE name = 'postgis_topology' AND installed_version IS NULL)
       AND NOT 'postgis_topology' = ANY (string_to_array(replace(current_setting('pgimg.skip'), ' ', ''), ','))
    THEN
        BEGIN
            CREATE EXTENSION postgis_topology CASCADE;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'prime: extension postgis_topology not created: %', SQLERRM;
        END;
    END IF;
END
$topology$;
\connect
SET pgimg.skip = :'skip';

-- pg_partman goes into its own schema `partman`, as its documentation does it,
-- so that data.sql and the fingerprint find it at partman.create_parent and
-- partman.part_config whatever the image.  (CASCADE in the loop below would
-- put it in public.)
DO $partman$
BEGIN
    IF EXISTS (SELECT FROM pg_available_extensions
               WHERE name = 'pg_partman' AND installed_version IS NULL)
       AND NOT 'pg_partman' = ANY (string_to_array(replace(current_setting('pgimg.skip'), ' ', ''), ','))
    THEN
        BEGIN
            CREATE SCHEMA IF NOT EXISTS partman;
            CREATE EXTENSION pg_partman SCHEMA partman CASCADE;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'prime: extension pg_partman not created: %', SQLERRM;
        END;
    END IF;
END
$partman$;

-- pg_cron goes into pg_catalog, where pg_cron 1.5 and later must live.  Before
-- 1.5 it could go anywhere and CASCADE below would put it in public; a dump of
-- such a cluster does not restore into 1.5 or later ("extension pg_cron must
-- be installed in schema pg_catalog"), while pg_upgrade and ALTER EXTENSION
-- move it.  docs/migration-test.md says so; the integration test shows it.
DO $cron$
BEGIN
    IF EXISTS (SELECT FROM pg_available_extensions
               WHERE name = 'pg_cron' AND installed_version IS NULL)
       AND NOT 'pg_cron' = ANY (string_to_array(replace(current_setting('pgimg.skip'), ' ', ''), ','))
    THEN
        BEGIN
            CREATE EXTENSION pg_cron SCHEMA pg_catalog CASCADE;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'prime: extension pg_cron not created: %', SQLERRM;
        END;
    END IF;
END
$cron$;

-- pgnodemx goes into its own schema: its fips_mode() would otherwise sit in
-- public beside pgcrypto's, which pgcrypto 1.4 (PostgreSQL 18) also defines,
-- and neither a restored dump nor ALTER EXTENSION pgcrypto UPDATE could
-- create it there.
DO $pgnodemx$
BEGIN
    IF EXISTS (SELECT FROM pg_available_extensions
               WHERE name = 'pgnodemx' AND installed_version IS NULL)
       AND NOT 'pgnodemx' = ANY (string_to_array(replace(current_setting('pgimg.skip'), ' ', ''), ','))
    THEN
        BEGIN
            CREATE SCHEMA IF NOT EXISTS pgnodemx;
            CREATE EXTENSION pgnodemx SCHEMA pgnodemx;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'prime: extension pgnodemx not created: %', SQLERRM;
        END;
    END IF;
END
$pgnodemx$;

-- plpgsql_check is created by a statement of its own, not from the PL/pgSQL
-- loop below: loading it while a PL/pgSQL block runs kills the backend
-- (signal 11) on a server that preloads other PL/pgSQL plugins, as the full
-- set does (plugin_debugger, plprofiler): `DO $$ BEGIN CREATE EXTENSION
-- plpgsql_check; END $$` crashed 15.18 with images/full.json.
SELECT EXISTS (SELECT FROM pg_available_extensions
               WHERE name = 'plpgsql_check' AND installed_version IS NULL)
       AND NOT 'plpgsql_check' = ANY (string_to_array(replace(current_setting('pgimg.skip'), ' ', ''), ','))
       AS prime_plpgsql_check \gset
\if :prime_plpgsql_check
-- Where its library cannot load (a Debian build for a later minor), the
-- error is reported and the load goes on, as in the loop below.
\set prime_stop :ON_ERROR_STOP
\set ON_ERROR_STOP off
CREATE EXTENSION plpgsql_check;
\set ON_ERROR_STOP :prime_stop
\endif

DO $prime$
DECLARE
    -- No extension is left out here on its own account.  Every one tried
    -- so far gives the same fingerprints after pg_upgrade (15 to 15) and
    -- after pg_dumpall restored by psql: the 108 extensions that contrib and
    -- Debian 12's packages let 15 create (PostGIS and its companions,
    -- pglogical, pgaudit, set_user, periods, orafce, pg_partman 4, ...) with
    -- their libraries preloaded, and the default sets of pgimg's images for
    -- 15 and 18.
    skip text[] := string_to_array(replace(current_setting('pgimg.skip'), ' ', ''), ',');
    ext name;
BEGIN
    FOR ext IN
        SELECT a.name FROM pg_available_extensions a
        WHERE a.installed_version IS NULL AND a.name <> ALL (skip)
        ORDER BY a.name
    LOOP
        -- CASCADE may have created it since the loop's query ran.
        CONTINUE WHEN EXISTS (SELECT FROM pg_extension WHERE extname = ext);
        BEGIN
            EXECUTE format('CREATE EXTENSION %I CASCADE', ext);
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'prime: extension % not created: %', ext, SQLERRM;
        END;
    END LOOP;
END
$prime$;

RESET pgimg.skip;
