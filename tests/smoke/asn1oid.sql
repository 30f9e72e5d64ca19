\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS asn1oid;
SELECT has_extension('asn1oid');
SELECT is('1.3.6.1.4.1.311'::asn1oid::text, '1.3.6.1.4.1.311', 'an OID in and out');
SELECT is('.1.2.3'::asn1oid::text, '1.2.3', 'a leading dot is dropped');
SELECT throws_ok($$SELECT 'foo'::asn1oid$$, '22P02', NULL, 'bad input is refused');
SELECT ok('1.2.10'::asn1oid > '1.2.9'::asn1oid, 'arcs compare as numbers, not text');
CREATE TABLE smoke_oids (oid asn1oid PRIMARY KEY, name text);
INSERT INTO smoke_oids VALUES ('2.5.4.3', 'commonName'), ('2.5.4.10', 'organizationName'), ('1.2.840.113549', 'rsadsi'), ('2.5.4.6', 'countryName');
SELECT results_eq($$SELECT name FROM smoke_oids ORDER BY oid$$,
    ARRAY['rsadsi', 'commonName', 'countryName', 'organizationName'], 'ORDER BY sorts in OID order (btree)');

SELECT * FROM finish();
ROLLBACK;
