\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(5);

CREATE EXTENSION IF NOT EXISTS table_log;
SELECT has_extension('table_log');
CREATE TABLE smoke_acct (id int PRIMARY KEY, balance int);
SELECT lives_ok($$SELECT table_log_init(5, 'smoke_acct')$$, 'table_log_init: a log table and its trigger');
SELECT has_table('smoke_acct_log', 'the log table');
INSERT INTO smoke_acct VALUES (1, 100), (2, 50);
UPDATE smoke_acct SET balance = 70 WHERE id = 1;
DELETE FROM smoke_acct WHERE id = 2;
SELECT results_eq(
    $$SELECT id, balance, trigger_mode::text, trigger_tuple::text FROM smoke_acct_log ORDER BY trigger_id$$,
    $$VALUES (1, 100, 'INSERT', 'new'), (2, 50, 'INSERT', 'new'), (1, 100, 'UPDATE', 'old'),
              (1, 70, 'UPDATE', 'new'), (2, 50, 'DELETE', 'old')$$,
    'every change is logged with the old and new rows');
SELECT is((SELECT array_agg(DISTINCT trigger_user::text) FROM smoke_acct_log), ARRAY[current_user::text],
    'with the user who made it');

SELECT * FROM finish();
ROLLBACK;
