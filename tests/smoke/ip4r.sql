\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(10);

CREATE EXTENSION IF NOT EXISTS ip4r;
SELECT has_extension('ip4r');

SELECT ok('10.0.0.0/8'::ip4r >>= '10.1.2.3'::ip4, 'ip4r 10/8 contains 10.1.2.3');
SELECT ok(NOT ('10.0.0.0/8'::ip4r >>= '11.0.0.1'::ip4), 'ip4r 10/8 does not contain 11.0.0.1');
SELECT is('192.168.1.10-192.168.1.20'::ip4r::text, '192.168.1.10-192.168.1.20', 'arbitrary ip4 range round-trips');
SELECT is('192.168.0.0-192.168.255.255'::ip4r::text, '192.168.0.0/16', 'a CIDR-aligned range prints as CIDR');
SELECT is(('10.0.0.255'::ip4 + 1)::text, '10.0.1.0', 'ip4 arithmetic carries');
SELECT ok('2001:db8::/32'::iprange >>= '2001:db8::1'::ipaddress, 'iprange handles IPv6');
SELECT is(family('2001:db8::1'::ipaddress), 6, 'family of an IPv6 address');

-- GiST index over ranges: which network holds an address?
CREATE TABLE smoke_nets (id integer PRIMARY KEY, net ip4r NOT NULL);
INSERT INTO smoke_nets SELECT i, ('10.' || i || '.0.0/16')::ip4r FROM generate_series(0, 255) AS i;
INSERT INTO smoke_nets VALUES (1000, '10.7.7.0/24');
CREATE INDEX smoke_nets_net ON smoke_nets USING gist (net);
ANALYZE smoke_nets;
SET LOCAL enable_seqscan = off;
SELECT results_eq(
    $$SELECT id FROM smoke_nets WHERE net >>= '10.7.7.7'::ip4 ORDER BY id$$,
    $$VALUES (7), (1000)$$,
    'GiST lookup finds the /16 and the /24 holding 10.7.7.7');
SELECT is_empty($$SELECT id FROM smoke_nets WHERE net >>= '11.0.0.1'::ip4$$, 'GiST lookup of an address in no network');

SELECT * FROM finish();
ROLLBACK;
