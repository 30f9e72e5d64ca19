-- A provider node with a replication set of one table: pglogical's own
-- catalog rows (node, interface, replication set, its tables).
CREATE SCHEMA fx_pglogical;
CREATE TABLE fx_pglogical.items (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO fx_pglogical.items SELECT i, 'item ' || i FROM generate_series(1, 1000) AS i;
SELECT pglogical.create_node(node_name := 'mig_provider', dsn := 'dbname=migration') IS NOT NULL AS node;
SELECT pglogical.create_replication_set('mig_set') IS NOT NULL AS replication_set;
SELECT pglogical.replication_set_add_table('mig_set', 'fx_pglogical.items') AS added;
