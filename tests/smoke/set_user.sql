\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- set_user is preloaded (shared_preload_libraries) so that its ALTER
-- SYSTEM and COPY PROGRAM blocks are in force. set_user() refuses to run
-- in a transaction block: no BEGIN/ROLLBACK; the roles are dropped at the end.
SELECT plan(11);

CREATE EXTENSION IF NOT EXISTS set_user;
SELECT has_extension('set_user');

DROP ROLE IF EXISTS smoke_app, smoke_admin;
CREATE ROLE smoke_app NOLOGIN;
CREATE ROLE smoke_admin NOLOGIN SUPERUSER;

SELECT is(set_user('smoke_app'), 'OK', 'set_user to an unprivileged role');
SELECT is(current_user::text, 'smoke_app', 'current_user changed');
SELECT is(reset_user(), 'OK', 'reset_user');
SELECT is(current_user::text, 'postgres', 'current_user is back');

-- with a token, reset needs the same token
SELECT is(set_user('smoke_app', 'secret-token'), 'OK', 'set_user with a token');
SELECT throws_ok($$SELECT reset_user('wrong-token')$$, NULL, NULL, 'reset with a wrong token fails');
SELECT is(reset_user('secret-token'), 'OK', 'reset with the right token');

-- escalation to a superuser through set_user_u blocks COPY PROGRAM
SELECT is(set_user_u('smoke_admin'), 'OK', 'set_user_u to a superuser role');
SELECT throws_like($$COPY (SELECT 1) TO PROGRAM 'cat > /dev/null'$$, '%COPY PROGRAM%', 'COPY PROGRAM is blocked after set_user_u');
SELECT is(reset_user(), 'OK', 'reset_user from the superuser role');

DROP ROLE smoke_app, smoke_admin;
SELECT * FROM finish();
