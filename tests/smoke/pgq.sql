\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- PgQ's batches are cut by ticks, which see only committed events: each
-- step is its own transaction, as with a producer, pgqd and a consumer.
-- The queue goes with the smoke database.
SELECT plan(9);

CREATE EXTENSION IF NOT EXISTS pgq;
SELECT has_extension('pgq');
SELECT is(pgq.create_queue('smoke_q'), 1, 'create_queue');
-- tick on every call, as the ticker daemon would after its lag
SELECT lives_ok($$UPDATE pgq.queue SET queue_ticker_max_lag = '0', queue_ticker_idle_period = '0' WHERE queue_name = 'smoke_q'$$,
    'the queue ticks on every ticker call');
SELECT is(pgq.register_consumer('smoke_q', 'smoke_c'), 1, 'register_consumer');
SELECT ok(pgq.insert_event('smoke_q', 'order', 'id=1') > 0, 'insert_event');
SELECT ok(pgq.insert_event('smoke_q', 'order', 'id=2') > 0, 'insert_event again');
SELECT ok(pgq.ticker() >= 1, 'the ticker cuts a batch');
SELECT pgq.next_batch('smoke_q', 'smoke_c') AS batch \gset
SELECT results_eq(format('SELECT ev_type, ev_data FROM pgq.get_batch_events(%s) ORDER BY ev_id', :batch),
    $$VALUES ('order'::text, 'id=1'::text), ('order', 'id=2')$$, 'the consumer gets both events, in order');
SELECT is(pgq.finish_batch(:batch), 1, 'finish_batch');

SELECT * FROM finish();
