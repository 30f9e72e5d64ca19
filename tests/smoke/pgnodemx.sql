\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pgnodemx is preloaded (it refuses to load otherwise). It reads the
-- host's and the container's metrics from /proc and the cgroup files.
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS pgnodemx;
SELECT has_extension('pgnodemx');
SELECT ok(current_setting('shared_preload_libraries') LIKE '%pgnodemx%', 'pgnodemx is preloaded');
SELECT ok((SELECT val FROM proc_meminfo() WHERE key = 'MemTotal') > 0, 'proc_meminfo: MemTotal');
SELECT ok((SELECT total_bytes FROM fsinfo(current_setting('data_directory'))) > 0, 'fsinfo: the data directory''s file system');
SELECT ok((SELECT load1 FROM proc_loadavg()) >= 0, 'proc_loadavg');
SELECT ok(cgroup_mode() IN ('legacy', 'unified', 'hybrid', 'disabled'), 'cgroup_mode');

SELECT * FROM finish();
ROLLBACK;
