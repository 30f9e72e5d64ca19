\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pg_ivm is preloaded (shared_preload_libraries), as its README asks.
-- An IMMV is a table that triggers on its base tables keep up to date:
-- no REFRESH between a change and the query that sees it.
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS pg_ivm;
SELECT has_extension('pg_ivm');

CREATE TABLE smoke_orders (id integer PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL);
INSERT INTO smoke_orders VALUES (1, 'ann', 10), (2, 'bob', 5), (3, 'ann', 7);
SELECT is(pgivm.create_immv('smoke_totals',
    'SELECT customer, sum(amount) AS total, count(*) AS n FROM smoke_orders GROUP BY customer'),
    2::bigint, 'create_immv fills the view with one row per customer');

INSERT INTO smoke_orders VALUES (4, 'cid', 1), (5, 'bob', 20);
SELECT results_eq($$SELECT customer, total, n FROM smoke_totals ORDER BY customer$$,
    $$VALUES ('ann', 17::numeric, 2::bigint), ('bob', 25, 2), ('cid', 1, 1)$$,
    'an INSERT into the base table shows at once');
UPDATE smoke_orders SET amount = amount + 100 WHERE id = 1;
DELETE FROM smoke_orders WHERE customer = 'cid';
SELECT results_eq($$SELECT customer, total, n FROM smoke_totals ORDER BY customer$$,
    $$VALUES ('ann', 117::numeric, 2::bigint), ('bob', 25, 2)$$,
    'UPDATE and DELETE too, the emptied group is gone');
SELECT results_eq($$SELECT customer, total, n FROM smoke_totals ORDER BY customer$$,
    $$SELECT customer, sum(amount), count(*) FROM smoke_orders GROUP BY customer ORDER BY customer$$,
    'the view equals its query');
SELECT ok(EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'smoke_orders'::regclass AND tgname LIKE 'IVM_trigger_%'),
    'maintained by triggers on the base table');

SELECT * FROM finish();
ROLLBACK;
