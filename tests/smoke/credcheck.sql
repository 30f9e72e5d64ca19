\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- credcheck is preloaded (shared_preload_libraries; its password reuse
-- history needs it). Its checks run on CREATE/ALTER ROLE with a
-- plain-text password, inside the transaction, which is rolled back.
BEGIN;
SELECT plan(9);

CREATE EXTENSION IF NOT EXISTS credcheck;
SELECT has_extension('credcheck');
SELECT ok(current_setting('shared_preload_libraries') LIKE '%credcheck%', 'credcheck is preloaded');

SET LOCAL credcheck.password_min_length = 8;
SET LOCAL credcheck.password_min_digit = 1;
SET LOCAL credcheck.password_contain_username = on;
SET LOCAL credcheck.username_min_length = 4;

SELECT throws_like($$CREATE ROLE smoke_user1 LOGIN PASSWORD 'Ab1'$$, '%credcheck.password_min_length%',
    'a short password is rejected');
SELECT throws_like($$CREATE ROLE smoke_user1 LOGIN PASSWORD 'Abcdefghij'$$, '%credcheck.password_min_digit%',
    'a password without a digit is rejected');
SELECT throws_like($$CREATE ROLE smoke_user1 LOGIN PASSWORD 'xsmoke_user1x9'$$, '%password should not contain username%',
    'a password containing the user name is rejected');
SELECT throws_like($$CREATE ROLE abc LOGIN PASSWORD 'Good-Passw0rd'$$, '%credcheck.username_min_length%',
    'a short user name is rejected');
SELECT lives_ok($$CREATE ROLE smoke_user1 LOGIN PASSWORD 'Good-Passw0rd'$$, 'a password meeting every rule is accepted');
SELECT throws_like($$ALTER ROLE smoke_user1 PASSWORD 'short1'$$, '%credcheck.password_min_length%',
    'ALTER ROLE ... PASSWORD is checked too');
SELECT has_view('pg_password_history', 'the password history view exists');

SELECT * FROM finish();
ROLLBACK;
