\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pg_pwhash: crypt()-style password hashes with argon2 (libargon2),
-- scrypt (libscrypt) and yescrypt (libcrypt), checked the crypt() way:
-- hashing the password again with the stored hash as salt gives the hash.
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS pg_pwhash;
SELECT has_extension('pg_pwhash');
SELECT pwhash_crypt('s3cret', pwhash_gen_salt('argon2id')) AS argon \gset
SELECT matches(:'argon'::text, '^\$argon2id\$v=19\$', 'an argon2id hash in PHC format');
SELECT is(pwhash_crypt('s3cret', :'argon'), :'argon'::text, 'the right password gives the stored hash');
SELECT isnt(pwhash_crypt('wrong', :'argon'), :'argon'::text, 'a wrong one does not');
SELECT pwhash_crypt('s3cret', pwhash_gen_salt('scrypt')) AS scr \gset
SELECT is(pwhash_crypt('s3cret', :'scr'), :'scr'::text, 'scrypt, the same way');
SELECT isnt(pwhash_crypt('s3cret', pwhash_gen_salt('argon2id')), :'argon'::text, 'a new salt gives a new hash');

SELECT * FROM finish();
ROLLBACK;
