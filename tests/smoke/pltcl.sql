\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(5);

CREATE EXTENSION IF NOT EXISTS pltcl;
SELECT has_extension('pltcl');

CREATE FUNCTION smoke_tcl_max(integer, integer) RETURNS integer LANGUAGE pltcl AS $$
    if {$1 > $2} {return $1}
    return $2
$$;
SELECT is(smoke_tcl_max(3, 7), 7, 'a Tcl function');

CREATE FUNCTION smoke_tcl_upper(text) RETURNS text LANGUAGE pltcl AS $$
    return [string toupper [string reverse $1]]
$$;
SELECT is(smoke_tcl_upper('abc'), 'CBA', 'Tcl string commands');

CREATE TABLE smoke_kv (k text PRIMARY KEY, v integer NOT NULL);
INSERT INTO smoke_kv VALUES ('a', 1), ('b', 2), ('c', 3);
CREATE FUNCTION smoke_tcl_count() RETURNS integer LANGUAGE pltcl AS $$
    set n 0
    spi_exec -array row "SELECT v FROM smoke_kv" {
        incr n $row(v)
    }
    return $n
$$;
SELECT is(smoke_tcl_count(), 6, 'spi_exec loop over a query');

CREATE FUNCTION smoke_tcl_error() RETURNS void LANGUAGE pltcl AS $$ error "boom" $$;
SELECT throws_like($$SELECT smoke_tcl_error()$$, '%boom%', 'a Tcl error becomes an error');

SELECT * FROM finish();
ROLLBACK;
