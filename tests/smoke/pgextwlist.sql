\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pgextwlist is preloaded (shared_preload_libraries): a role that is
-- not a superuser may create the extensions extwlist.extensions lists,
-- and only those.  pg_buffercache is not trusted, so without the list
-- such a role cannot create it.
BEGIN;
SELECT plan(6);

SELECT is(current_setting('extwlist.extensions'), '', 'the library is loaded; its list is empty');
CREATE ROLE smoke_dev LOGIN;
GRANT CREATE ON DATABASE smoke TO smoke_dev;
GRANT CREATE ON SCHEMA public TO smoke_dev;

SET LOCAL ROLE smoke_dev;
SELECT throws_ok('CREATE EXTENSION pg_buffercache', '42501', NULL,
    'not listed: a plain role cannot create an untrusted extension');
RESET ROLE;

SET LOCAL extwlist.extensions = 'pg_buffercache';
SET LOCAL ROLE smoke_dev;
SELECT lives_ok('CREATE EXTENSION pg_buffercache', 'listed: the plain role creates it');
SELECT throws_ok('CREATE EXTENSION pg_prewarm', '42501', NULL, 'and still not one that is not listed');
RESET ROLE;
SELECT has_extension('pg_buffercache');
SELECT ok((SELECT count(*) FROM pg_buffercache) > 0, 'and it works');

SELECT * FROM finish();
ROLLBACK;
