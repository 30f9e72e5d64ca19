\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- plpgsql_check hooks PL/pgSQL: it must be loaded before any PL/pgSQL (pgTAP) runs here.
LOAD 'plpgsql_check';
BEGIN;
SELECT plan(5);

CREATE EXTENSION IF NOT EXISTS plpgsql_check;
SELECT has_extension('plpgsql_check');

CREATE TABLE smoke_accounts (id integer PRIMARY KEY, balance numeric NOT NULL);

CREATE FUNCTION smoke_good(p_id integer) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE b numeric;
BEGIN
    SELECT balance INTO b FROM smoke_accounts WHERE id = p_id;
    RETURN b;
END $$;

-- refers to a column that does not exist: CREATE FUNCTION accepts it,
-- only a run or plpgsql_check finds it
CREATE FUNCTION smoke_bad(p_id integer) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE b numeric;
BEGIN
    SELECT amount INTO b FROM smoke_accounts WHERE id = p_id;
    RETURN b;
END $$;

SELECT is_empty($$SELECT * FROM plpgsql_check_function_tb('smoke_good(integer)')$$, 'a correct function has no findings');
SELECT results_eq(
    $$SELECT sqlstate, level FROM plpgsql_check_function_tb('smoke_bad(integer)')$$,
    $$VALUES ('42703'::text, 'error'::text)$$,
    'the missing column is reported as error 42703');
SELECT ok((SELECT message FROM plpgsql_check_function_tb('smoke_bad(integer)')) LIKE '%amount%', 'the message names the column');

CREATE FUNCTION smoke_unused() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE never_used integer;
BEGIN
    RETURN 1;
END $$;
SELECT ok(EXISTS (SELECT 1 FROM plpgsql_check_function_tb('smoke_unused()', extra_warnings => true) WHERE message LIKE '%never_used%'),
    'an unused variable is reported');

SELECT * FROM finish();
ROLLBACK;
