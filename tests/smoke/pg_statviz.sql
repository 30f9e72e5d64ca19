\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pg_statviz takes snapshots of the statistics views into tables of
-- schema pgstatviz, for its client to plot.
BEGIN;
SELECT plan(7);

CREATE EXTENSION IF NOT EXISTS pg_statviz;
SELECT has_extension('pg_statviz');
SELECT pgstatviz.snapshot() AS ts \gset
SELECT is((SELECT count(*) FROM pgstatviz.snapshots WHERE snapshot_tstamp = :'ts'), 1::bigint,
    'snapshot() records a snapshot');
SELECT ok((SELECT conn_total FROM pgstatviz.conn WHERE snapshot_tstamp = :'ts') >= 1,
    'of the connections (this one at least)');
SELECT ok((SELECT xact_commit IS NOT NULL AND block_size > 0 FROM pgstatviz.db WHERE snapshot_tstamp = :'ts'),
    'of this database''s statistics (a fresh database may not have counted a commit yet)');
SELECT ok((SELECT conf ? 'shared_buffers' FROM pgstatviz.conf WHERE snapshot_tstamp = :'ts'),
    'of the configuration');
SELECT ok(EXISTS (SELECT 1 FROM pgstatviz.buf WHERE snapshot_tstamp = :'ts'), 'of buffers and checkpoints');
SELECT lives_ok($$SELECT pgstatviz.delete_snapshots()$$, 'delete_snapshots');

SELECT * FROM finish();
ROLLBACK;
