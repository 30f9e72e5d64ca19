\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- wal2json is an output plugin (no CREATE EXTENSION). Needs
-- wal_level = logical and a free replication slot. A slot cannot be made
-- in a transaction that has written, and changes must be committed to be
-- decoded: no BEGIN/ROLLBACK; the slot and table are dropped at the end
-- (a slot left behind would keep the database from being dropped).
-- Minor releases that have output_plugin_libraries only decode with the
-- plugins it lists: the server must list wal2json there.
SELECT plan(10);

SELECT is(current_setting('wal_level'), 'logical', 'wal_level is logical');
SELECT ok(coalesce(current_setting('output_plugin_libraries', true) ~ '(^|[ ,])wal2json($|[ ,])', true),
    'wal2json is an allowed output plugin (output_plugin_libraries, where the server has it)');

CREATE TABLE smoke_w2j (id integer PRIMARY KEY, name text NOT NULL, score numeric);

SELECT is((SELECT slot_name::text FROM pg_create_logical_replication_slot('smoke_wal2json', 'wal2json')), 'smoke_wal2json',
    'a logical slot with the wal2json plugin');

SELECT is((SELECT plugin::text FROM pg_replication_slots WHERE slot_name = 'smoke_wal2json'), 'wal2json', 'the slot uses wal2json');

INSERT INTO smoke_w2j VALUES (1, 'ada', 9.5), (2, 'grace', 8);
UPDATE smoke_w2j SET score = 10 WHERE id = 2;
DELETE FROM smoke_w2j WHERE id = 1;

CREATE TEMP TABLE smoke_changes AS
SELECT row_number() OVER () AS n, data::jsonb AS change
FROM pg_logical_slot_get_changes('smoke_wal2json', NULL, NULL, 'format-version', '2', 'include-transaction', 'false');

SELECT results_eq(
    $$SELECT change->>'action', change->>'table' FROM smoke_changes ORDER BY n$$,
    $$VALUES ('I'::text, 'smoke_w2j'::text), ('I', 'smoke_w2j'), ('U', 'smoke_w2j'), ('D', 'smoke_w2j')$$,
    'format 2: insert, insert, update, delete in commit order');
SELECT is(
    (SELECT change->'columns' FROM smoke_changes WHERE n = 1),
    '[{"name": "id", "type": "integer", "value": 1}, {"name": "name", "type": "text", "value": "ada"}, {"name": "score", "type": "numeric", "value": 9.5}]'::jsonb,
    'the first insert carries names, types and values');
SELECT is((SELECT change->'identity' FROM smoke_changes WHERE n = 4),
    '[{"name": "id", "type": "integer", "value": 1}]'::jsonb, 'the delete carries the primary key');

INSERT INTO smoke_w2j VALUES (3, 'linus', NULL);
SELECT is(
    (SELECT string_agg(data::jsonb->'change'->0->>'kind', ',') FROM pg_logical_slot_get_changes('smoke_wal2json', NULL, NULL, 'format-version', '1')
     WHERE jsonb_array_length(data::jsonb->'change') > 0),
    'insert', 'format 1 wraps a transaction in a change array');
SELECT is_empty($$SELECT 1 FROM pg_logical_slot_get_changes('smoke_wal2json', NULL, NULL)$$, 'changes are consumed once');

SELECT is((SELECT count(*) FROM pg_drop_replication_slot('smoke_wal2json')), 1::bigint, 'the slot is dropped');
DROP TABLE smoke_w2j;
SELECT * FROM finish();
