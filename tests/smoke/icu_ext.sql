\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- icu_ext calls ICU, the library the server links for its ICU collations.
BEGIN;
SELECT plan(7);

CREATE EXTENSION IF NOT EXISTS icu_ext;
SELECT has_extension('icu_ext');
SELECT ok(icu_compare('côte', 'coté', 'fr') <> 0 AND icu_compare('Abc', 'abc', 'en-u-ks-level2') = 0,
    'icu_compare: accents count, case does not at strength 2');
SELECT is(icu_number_spellout(42, 'en'), 'forty-two', 'icu_number_spellout in English');
SELECT is(icu_number_spellout(42, 'fr'), 'quarante-deux', 'and in French');
SELECT is((SELECT count(*) FROM icu_word_boundaries('Hello, wide world!', 'en') WHERE tag > 0), 3::bigint,
    'icu_word_boundaries finds the three words');
SELECT is(icu_transform('Привет', 'Cyrillic-Latin'), 'Privet', 'icu_transform transliterates');
SELECT results_eq(
    $$SELECT w FROM unnest(ARRAY['zebra', 'Äpfel', 'apple', 'Zürich']) AS w ORDER BY icu_sort_key(w, 'de')$$,
    ARRAY['Äpfel', 'apple', 'zebra', 'Zürich'], 'icu_sort_key orders words as German does: Ä with A, by the letters after it');

SELECT * FROM finish();
ROLLBACK;
