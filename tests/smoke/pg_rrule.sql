\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pg_rrule: an rrule type (RFC 5545 recurrence rules, parsed by libical)
-- and their expansion into timestamps.
BEGIN;
SELECT plan(5);

CREATE EXTENSION IF NOT EXISTS pg_rrule;
SELECT has_extension('pg_rrule');
SELECT is(get_freq('FREQ=WEEKLY;INTERVAL=2;WKST=MO;BYDAY=SA'::rrule), 'WEEKLY', 'a rule is parsed: its frequency');
SELECT is(get_interval('FREQ=WEEKLY;INTERVAL=2;WKST=MO;BYDAY=SA'::rrule), 2::int2, 'its interval');
SELECT is(get_occurrences('FREQ=WEEKLY;INTERVAL=1;WKST=MO;UNTIL=20200101T045102Z;BYDAY=SA;BYHOUR=10;BYMINUTE=51;BYSECOND=2'::rrule,
                          '2019-12-07 10:51:02'::timestamp),
    ARRAY['2019-12-07 10:51:02', '2019-12-14 10:51:02', '2019-12-21 10:51:02', '2019-12-28 10:51:02']::timestamp[],
    'a weekly rule expands to its Saturdays until its end');
SELECT is(cardinality(get_occurrences('FREQ=DAILY;COUNT=10'::rrule, '2024-02-25 09:00'::timestamp)), 10,
    'COUNT bounds the expansion');

SELECT * FROM finish();
ROLLBACK;
