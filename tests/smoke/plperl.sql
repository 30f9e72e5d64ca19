\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS plperl;
SELECT has_extension('plperl');

CREATE FUNCTION smoke_perl_words(text) RETURNS integer LANGUAGE plperl AS $$
    my @w = split /\s+/, $_[0];
    return scalar @w;
$$;
SELECT is(smoke_perl_words('the quick brown fox'), 4, 'a Perl function with a regex split');

CREATE FUNCTION smoke_perl_reverse(text[]) RETURNS text[] LANGUAGE plperl AS $$
    return [ reverse @{$_[0]} ];
$$;
SELECT is(smoke_perl_reverse(ARRAY['a', 'b', 'c']), ARRAY['c', 'b', 'a'], 'arrays in and out');

CREATE TABLE smoke_kv (k text PRIMARY KEY, v integer NOT NULL);
INSERT INTO smoke_kv VALUES ('a', 1), ('b', 2), ('c', 3);
CREATE FUNCTION smoke_perl_sum() RETURNS integer LANGUAGE plperl AS $$
    my $rv = spi_exec_query('SELECT v FROM smoke_kv');
    my $s = 0;
    $s += $_->{v} for @{$rv->{rows}};
    return $s;
$$;
SELECT is(smoke_perl_sum(), 6, 'SPI query from Perl');

CREATE FUNCTION smoke_perl_pairs() RETURNS SETOF smoke_kv LANGUAGE plperl AS $$
    return_next({ k => $_, v => ord($_) - 96 }) for qw(x y);
    return undef;
$$;
SELECT results_eq($$SELECT * FROM smoke_perl_pairs()$$, $$VALUES ('x'::text, 24), ('y', 25)$$, 'set-returning Perl function');

CREATE FUNCTION smoke_perl_die() RETURNS void LANGUAGE plperl AS $$ die "boom\n"; $$;
SELECT throws_like($$SELECT smoke_perl_die()$$, '%boom%', 'die becomes an error');

SELECT * FROM finish();
ROLLBACK;
