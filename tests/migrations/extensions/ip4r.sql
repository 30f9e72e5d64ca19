-- IPv4 ranges with a GiST index, looked up by address.
CREATE SCHEMA fx_ip4r;
CREATE TABLE fx_ip4r.blocks (id integer PRIMARY KEY, block ip4r NOT NULL);
INSERT INTO fx_ip4r.blocks
SELECT i, ip4r(('10.' || i / 256 || '.' || i % 256 || '.0')::ip4, ('10.' || i / 256 || '.' || i % 256 || '.255')::ip4)
FROM generate_series(0, 4999) AS i;
CREATE INDEX blocks_block_idx ON fx_ip4r.blocks USING gist (block);
INSERT INTO public.migration_index_queries VALUES
    ('ip4r-gist', $q$SELECT id, block FROM fx_ip4r.blocks WHERE block >>= '10.7.42.9'::ip4r ORDER BY id$q$);
