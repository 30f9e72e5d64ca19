\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(13);

CREATE EXTENSION IF NOT EXISTS orafce;
-- the Oracle-compatible functions live in schema oracle; their date results are
-- cast to date: in 3.14 (the version for 13) add_months returns a timestamp
SELECT has_extension('orafce');

SELECT is(oracle.add_months('2024-01-31'::date, 1)::date, '2024-02-29'::date, 'add_months clamps to the end of February');
SELECT is(oracle.last_day('2024-02-10'::date)::date, '2024-02-29'::date, 'last_day of a leap February');
SELECT is(oracle.next_day('2024-01-01'::date, 'FRIDAY')::date, '2024-01-05'::date, 'next_day finds the next Friday');
SELECT is(oracle.months_between('2024-03-31'::date, '2024-01-31'::date), 2::numeric, 'months_between whole months');
-- trunc(date, text), nvl2, decode and instr are in schema oracle from 4.0 on; in
-- 3.14 in the extension's schema or pg_catalog
SET LOCAL search_path TO public, oracle;
SELECT is(trunc('2024-05-17'::date, 'Q'), '2024-04-01'::date, 'trunc to the quarter');
SELECT is(oracle.nvl(NULL::integer, 5), 5, 'nvl');
SELECT is(nvl2('x'::text, 'set'::text, 'unset'::text), 'set', 'nvl2');
SELECT is(decode(2, 1, 'one', 2, 'two', 'many'), 'two', 'decode picks the matching branch');
SELECT is(instr('hello world', 'o', 1, 2), 8, 'instr finds the 2nd occurrence');
RESET search_path;
SELECT is(oracle.substr('PostgreSQL', -3), 'SQL', 'oracle.substr with a negative start');

-- dbms_output buffers lines for the connection
SELECT lives_ok($$SELECT dbms_output.enable(); SELECT dbms_output.put_line('hello'); SELECT dbms_output.put_line('world')$$, 'dbms_output.put_line');
SELECT results_eq($$SELECT lines FROM dbms_output.get_lines(10)$$, $$VALUES (ARRAY['hello', 'world']::text[])$$,
    'dbms_output.get_lines returns the buffered lines');

SELECT * FROM finish();
ROLLBACK;
